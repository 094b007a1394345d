#include "drift/monitor_options.h"

namespace featmon::drift {

const char* ReferenceKindName(ReferenceKind k) {
  switch (k) {
    case ReferenceKind::kFirstWindow: return "first_window";
    case ReferenceKind::kPreviousWindow: return "previous_window";
    case ReferenceKind::kSameHourLastWeek: return "same_hour_last_week";
    case ReferenceKind::kProfile: return "profile";
    case ReferenceKind::kSeasonal: return "seasonal";
  }
  return "?";
}

std::optional<ReferenceKind> ParseReferenceKind(const std::string& name) {
  for (auto k : {ReferenceKind::kFirstWindow, ReferenceKind::kPreviousWindow, ReferenceKind::kSameHourLastWeek,
                 ReferenceKind::kProfile, ReferenceKind::kSeasonal})
    if (name == ReferenceKindName(k)) return k;
  return std::nullopt;
}

const char* StatisticName(Statistic s) {
  switch (s) {
    case Statistic::kPsi: return "psi";
    case Statistic::kKs: return "ks_p_value";
    case Statistic::kJensenShannon: return "jensen_shannon";
    case Statistic::kWasserstein: return "wasserstein";
    case Statistic::kHellinger: return "hellinger";
    case Statistic::kChiSquared: return "chi2_p_value";
    case Statistic::kLInfinity: return "l_infinity";
  }
  return "?";
}

std::optional<Statistic> ParseStatistic(const std::string& name) {
  for (auto s : {Statistic::kPsi, Statistic::kKs, Statistic::kJensenShannon, Statistic::kWasserstein,
                 Statistic::kHellinger, Statistic::kChiSquared, Statistic::kLInfinity})
    if (name == StatisticName(s)) return s;
  if (name == "ks") return Statistic::kKs;
  if (name == "chi2") return Statistic::kChiSquared;
  return std::nullopt;
}

bool IsPValueTest(Statistic s) { return s == Statistic::kKs || s == Statistic::kChiSquared; }

}  // namespace featmon::drift
