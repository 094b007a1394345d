// The monitoring state machine of every model: what each model_version sees
// (its features), says (its score) and, once labels mature, how right it
// was. Driven only by the event time it is given (the watermark), so a
// replay evaluates the same windows with the same results as living through
// them.
//
// Time is cut into tiles of one evaluation period (5 minutes by default).
// Each tile holds, per tracked signal, a histogram over frozen bins. The
// current window is the last `window` of tiles before an evaluation boundary;
// the reference is, by kind:
//   first_window         the first `window` after the version was first seen.
//                        Its numeric bins are frozen from the quantiles of a
//                        bottom-k hash sample of its values (order-independent,
//                        so replays freeze the same bins); categorical bins
//                        are its top K values plus "other".
//   previous_window      the window just before the current one
//   same_hour_last_week  the window one week before the current one
//                        (both with the bins frozen from the first window)
//   profile              a fixed profile (bins and counts) from training data
// Labels mature `attribution_window` after the prediction, so performance
// and label drift are evaluated on the window that ended that long before
// the boundary.
//
// A signal alerts after `consecutive_evaluations` drifting evaluations in a
// row; a loss detector alerts at once (it has its own statistical guard). An
// alert asks for retraining unless the model is in its cooldown.
//
// Thread-safety: none; one owner drives it.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "drift/detectors.h"

namespace featmon::drift {

enum class ReferenceKind { kFirstWindow, kPreviousWindow, kSameHourLastWeek, kProfile };
const char* ReferenceKindName(ReferenceKind k);
std::optional<ReferenceKind> ParseReferenceKind(const std::string& name);

// Statistic that decides a feature's verdict.
enum class Statistic { kPsi, kKs, kJensenShannon, kWasserstein, kHellinger, kChiSquared, kLInfinity };
const char* StatisticName(Statistic s);
std::optional<Statistic> ParseStatistic(const std::string& name);
// p-value tests: drift when the Benjamini-Hochberg adjusted p-value <= threshold.
bool IsPValueTest(Statistic s);

struct FeatureRule {
  Statistic statistic = Statistic::kPsi;
  double warn = 0.1;   // warn at or above (p-value tests: at or below)
  double alert = 0.2;  // drift at or above (p-value tests: at or below)
};

struct MonitorOptions {
  int64_t window_ms = 3'600'000;               // current and reference window. Default: 1h
  int64_t evaluation_period_ms = 300'000;      // tile width and evaluation cadence. Default: 5m
  ReferenceKind reference = ReferenceKind::kFirstWindow;  // Default: first_window
  nlohmann::json profile;                      // kind profile: {"features": {name: {"edges"|"categories", "counts"}}}
  int numeric_bins = 10;                       // equal-mass bins from reference quantiles. Default: 10
  int top_k = 20;                              // categorical bins besides "other". Default: 20
  size_t reference_sample = 4096;              // values per numeric feature sampled to freeze bins. Default: 4096
  size_t max_reference_categories = 10'000;    // distinct values remembered to call a value "never seen". Default: 10,000
  int64_t min_samples = 1000;                  // no verdict below this many in either window. Default: 1000
  int consecutive_evaluations = 3;             // drifting evaluations in a row before an alert. Default: 3
  FeatureRule numeric_rule{Statistic::kPsi, 0.1, 0.2};               // Default: PSI warn 0.1, alert 0.2
  FeatureRule categorical_rule{Statistic::kJensenShannon, 0.05, 0.1}; // Default: JS warn 0.05, alert 0.1
  FeatureRule score_rule{Statistic::kPsi, 0.1, 0.2};                 // prediction drift. Default: PSI 0.1 / 0.2
  FeatureRule label_rule{Statistic::kJensenShannon, 0.05, 0.1};      // label (CTR) drift. Default: JS 0.05 / 0.1
  std::map<std::string, FeatureRule> feature_rules;  // per-feature override. Default: none
  std::set<std::string> skip_features;         // not monitored. Default: none
  size_t max_features = 500;                   // features tracked per version; the rest are counted as dropped. Default: 500
  int64_t attribution_window_ms = 1'800'000;   // a click within this after a prediction labels it. Default: 30m
  double calibration_low = 0.8;                // retrain when calibration falls below. Default: 0.8
  double calibration_high = 1.25;              // ... or rises above. Default: 1.25
  // Signals that ask for retraining. Default: data, prediction, calibration, adwin
  bool retrain_on_data_drift = true;
  bool retrain_on_prediction_drift = true;
  bool retrain_on_label_drift = false;
  bool retrain_on_calibration = true;
  std::set<std::string> retrain_detectors = {"adwin"};  // of adwin, ddm, page_hinkley
  int64_t cooldown_ms = 6 * 3'600'000;         // quiet time after a retrain request. Default: 6h
  int64_t version_ttl_ms = 24 * 3'600'000;     // a version unseen this long is dropped. Default: 24h
  size_t max_versions = 4;                     // versions kept per model; the least recently seen goes. Default: 4
  AdwinOptions adwin;
  DdmOptions ddm;
  PageHinkleyOptions page_hinkley;
};

struct Prediction {
  std::string model, model_version;
  double score = 0;
  int64_t ts_ms = 0;
  uint64_t sample_hash = 0;  // hash of the prediction's identity; picks the reference sample
  std::vector<std::pair<std::string, double>> features;
  std::vector<std::pair<std::string, std::string>> cat_features;
};

struct MaturedLabel {
  std::string model, model_version;
  double score = 0;
  bool clicked = false;
  int64_t prediction_ts_ms = 0;
};

struct RetrainReason {
  std::string signal;     // data | prediction | label | performance
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

// One signal's statistics and alert state at one evaluation, for metrics.
struct DriftGauge {
  std::string model, model_version, signal, feature;
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
};

class ModelMonitor;

// Every model seen. Not thread-safe.
class Monitor {
 public:
  Monitor(MonitorOptions defaults, std::map<std::string, MonitorOptions> per_model, size_t max_models);
  ~Monitor();
  Monitor(const Monitor&) = delete;  // models point at the options held here
  Monitor& operator=(const Monitor&) = delete;

  // Returns false when the prediction was not tracked (too many models).
  bool Observe(const Prediction& p);
  // A click attributed to a prediction of this model version, at click time.
  void OnClickAttributed(const std::string& model, const std::string& version, int64_t click_ts_ms);
  void OnLabel(const MaturedLabel& label);
  // Runs every evaluation whose boundary the watermark passed. Labels that
  // mature before a boundary belong before its evaluation: a caller whose
  // watermark jumps over several boundaries steps through them with
  // NextEvaluationMs, feeding labels in between.
  EvaluationOutput AdvanceWatermark(int64_t watermark_ms);
  // The earliest evaluation boundary of any version; INT64_MAX when none.
  int64_t NextEvaluationMs() const;

  const MonitorOptions& OptionsFor(const std::string& model) const;
  std::vector<std::string> Models() const;
  // The report of one model, or of all (GET /v1/monitoring/models[/{model}]).
  std::optional<nlohmann::json> Report(const std::string& model) const;
  nlohmann::json ReportAll() const;

  // Persistence: one value per model.
  std::string SerializeModel(const std::string& model) const;
  Status RestoreModel(const std::string& model, std::string_view bytes);
  std::set<std::string> TakeChangedModels();
  uint64_t dropped_models() const { return dropped_models_; }

 private:
  ModelMonitor* Find(const std::string& model, bool create);
  MonitorOptions defaults_;
  std::map<std::string, MonitorOptions> per_model_;
  size_t max_models_;
  std::map<std::string, std::unique_ptr<ModelMonitor>> models_;
  std::set<std::string> changed_;
  uint64_t dropped_models_ = 0;
};

}  // namespace featmon::drift
