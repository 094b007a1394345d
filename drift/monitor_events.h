// What goes into and comes out of model monitoring: predictions and matured
// labels in; per-evaluation gauges and retrain requests out. Signals and
// verdicts are enums; their names are what reports and metrics print.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace featmon::drift {

// What a track watches: the inputs (data), the score (prediction), the
// click rate of matured labels (label). kPerformance names retrain reasons
// from calibration and the loss detectors.
enum class Signal : uint8_t { kData, kPrediction, kLabel, kPerformance };
const char* SignalName(Signal s);  // "data", "prediction", "label", "performance"

// A track's verdict at one evaluation.
enum class Verdict : uint8_t { kNoVerdict, kOk, kWarn, kDrift };
const char* VerdictName(Verdict v);  // "no_verdict", "ok", "warn", "drift"
bool ParseVerdict(const std::string& name, Verdict* out);

struct Prediction {
  std::string model, model_version;
  double score = 0;
  int64_t ts_ms = 0;
  uint64_t sample_hash = 0;  // PredictionIdentityHash; picks the reference sample
  std::vector<std::pair<std::string, double>> features;
  std::vector<std::pair<std::string, std::string>> cat_features;
};

// The hash that picks a prediction into a reference sample: xxHash64 (seed
// 0) of request_id, user_id, item_id and ts_ms in decimal, joined by 0x1f.
// Fixed by that definition, not by a standard library's std::hash, so every
// build and every replay samples the same predictions.
uint64_t PredictionIdentityHash(std::string_view request_id, std::string_view user_id, std::string_view item_id,
                                int64_t ts_ms);
// Each numeric feature samples its own predictions: the identity hash mixed
// with xxHash64 of the feature's name.
uint64_t FeatureSampleHash(uint64_t identity_hash, std::string_view feature);

struct MaturedLabel {
  std::string model, model_version;
  double score = 0;
  bool clicked = false;
  int64_t prediction_ts_ms = 0;
  int64_t click_ts_ms = -1;  // the click that labelled it; -1 for a negative
  uint64_t tag = 0;          // PendingLabel::tag
  std::string payload{};     // PendingLabel::payload
};

struct RetrainReason {
  Signal signal = Signal::kData;
  std::string feature;    // feature name, "score", "ctr", "calibration" or the detector
  std::string statistic;  // psi, ks, ..., calibration_ratio, adwin
  double value = 0;
  double threshold = 0;
};

struct RetrainRequest {
  std::string model, model_version;
  std::vector<RetrainReason> reasons;
  int64_t reference_start_ms = 0, reference_end_ms = 0;
  int64_t current_start_ms = 0, current_end_ms = 0;
  int64_t event_time_ms = 0;  // the evaluation boundary that fired
  // The data this version has served since its first window began, up to the
  // evaluation: what it was not trained on. A retraining job passes it to
  // featmon-export as --from-ms and --to-ms.
  int64_t fresh_data_start_ms = 0, fresh_data_end_ms = 0;
};
nlohmann::json ToJson(const RetrainRequest& r);

// The statistics one evaluation computes for a signal; NaN where not
// applicable (numeric: psi..hellinger; categorical: chi2..unseen_share) or
// not computed (adjusted_p_value without a p-value rule).
enum StatisticField : int {
  kPsiField, kKsStatisticField, kKsPValueField, kJensenShannonField, kWassersteinField, kHellingerField,
  kChi2StatisticField, kChi2PValueField, kLInfinityField, kUnseenShareField, kAdjustedPValueField, kStatisticFieldCount
};
const char* StatisticFieldName(int field);  // "psi", "ks_statistic", ...
using StatisticValues = std::array<double, kStatisticFieldCount>;
inline StatisticValues NoStatistics() {
  StatisticValues v;
  v.fill(NAN);
  return v;
}

// One signal's statistics and alert state at one evaluation, for metrics.
struct DriftGauge {
  std::string model, model_version;
  Signal signal = Signal::kData;
  std::string feature;
  StatisticValues values;
  bool alerting = false;  // drifting for consecutive_evaluations in a row
};
struct PerformanceGauge {
  std::string model, model_version;
  double logloss = NAN, normalized_entropy = NAN, calibration = NAN, auc = NAN;
};

// What changed at the evaluations a watermark advance ran.
struct EvaluationOutput {
  std::vector<RetrainRequest> retrain_requests;
  std::vector<DriftGauge> drift;
  std::vector<PerformanceGauge> performance;
  std::vector<std::pair<std::string, std::string>> removed_versions;  // (model, version)
  std::set<std::string> changed_models;  // whose state must be persisted
  // Models whose every version expired (unseen for version_ttl): gone, with
  // their stored state and their series, their slot free for another model.
  std::set<std::string> removed_models;
};

}  // namespace featmon::drift
