#include "drift/monitor_events.h"

namespace featmon::drift {

const char* SignalName(Signal s) {
  switch (s) {
    case Signal::kData: return "data";
    case Signal::kPrediction: return "prediction";
    case Signal::kLabel: return "label";
    case Signal::kPerformance: return "performance";
  }
  return "?";
}

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kNoVerdict: return "no_verdict";
    case Verdict::kOk: return "ok";
    case Verdict::kWarn: return "warn";
    case Verdict::kDrift: return "drift";
  }
  return "?";
}

bool ParseVerdict(const std::string& name, Verdict* out) {
  for (Verdict v : {Verdict::kNoVerdict, Verdict::kOk, Verdict::kWarn, Verdict::kDrift}) {
    if (name == VerdictName(v)) {
      *out = v;
      return true;
    }
  }
  return false;
}

const char* StatisticFieldName(int field) {
  static const char* kNames[kStatisticFieldCount] = {
      "psi", "ks_statistic", "ks_p_value", "jensen_shannon", "wasserstein", "hellinger",
      "chi2_statistic", "chi2_p_value", "l_infinity", "unseen_share", "adjusted_p_value"};
  return field >= 0 && field < kStatisticFieldCount ? kNames[field] : "?";
}

nlohmann::json ToJson(const RetrainRequest& r) {
  nlohmann::json reasons = nlohmann::json::array();
  for (const auto& x : r.reasons)
    reasons.push_back({{"signal", SignalName(x.signal)}, {"feature", x.feature}, {"statistic", x.statistic},
                       {"value", x.value}, {"threshold", x.threshold}});
  return nlohmann::json{{"model", r.model},
                        {"model_version", r.model_version},
                        {"reasons", reasons},
                        {"reference_window", {{"start_ms", r.reference_start_ms}, {"end_ms", r.reference_end_ms}}},
                        {"current_window", {{"start_ms", r.current_start_ms}, {"end_ms", r.current_end_ms}}},
                        {"event_time_ms", r.event_time_ms}};
}

}  // namespace featmon::drift
