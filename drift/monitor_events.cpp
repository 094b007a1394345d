#include "drift/monitor_events.h"

#include <xxhash.h>

namespace featmon::drift {

uint64_t PredictionIdentityHash(std::string_view request_id, std::string_view user_id, std::string_view item_id,
                                int64_t ts_ms) {
  std::string identity;
  identity.reserve(request_id.size() + user_id.size() + item_id.size() + 24);
  identity.append(request_id).push_back('\x1f');
  identity.append(user_id).push_back('\x1f');
  identity.append(item_id).push_back('\x1f');
  identity.append(std::to_string(ts_ms));
  return XXH64(identity.data(), identity.size(), 0);
}

uint64_t FeatureSampleHash(uint64_t identity_hash, std::string_view feature) {
  return identity_hash ^ XXH64(feature.data(), feature.size(), 0);
}

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
                        {"event_time_ms", r.event_time_ms},
                        {"fresh_data", {{"start_ms", r.fresh_data_start_ms}, {"end_ms", r.fresh_data_end_ms}}}};
}

}  // namespace featmon::drift
