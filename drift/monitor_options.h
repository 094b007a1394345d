// What one model's monitoring can be told (monitoring.defaults and
// monitoring.models.<name> in the config): windows, reference, bins, the rule
// of each signal, retraining and detectors. Every field states its default.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "drift/detectors.h"

namespace featmon::drift {

enum class ReferenceKind { kFirstWindow, kPreviousWindow, kSameHourLastWeek, kProfile, kSeasonal };
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
  ReferenceKind reference = ReferenceKind::kSeasonal;  // Default: seasonal (the same time of day)
  double seasonal_new_day_weight = 0.5;        // seasonal: weight of the newest day in an hour's profile. Default: 0.5
  // Data and score are also judged on the window's last this much, in whole
  // evaluation periods; off when that is 0 or not shorter than window. Default: 15m
  int64_t fast_window_ms = 900'000;
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
  bool examples = true;                        // a LabeledExample per matured label (featmond's examples topic). Default: true
  double calibration_low = 0.8;                // retrain when calibration falls below. Default: 0.8
  double calibration_high = 1.25;              // ... or rises above. Default: 1.25
  double calibration_z = 3;                    // ... and clicks differ from the scores' sum by this many sd. Default: 3
  // Signals that ask for retraining. Default: data, prediction, calibration, calibration_cusum
  bool retrain_on_data_drift = true;
  bool retrain_on_prediction_drift = true;
  bool retrain_on_label_drift = false;
  bool retrain_on_calibration = true;
  std::set<std::string> retrain_detectors = {"calibration_cusum"};  // of calibration_cusum, adwin, ddm, page_hinkley
  int64_t cooldown_ms = 6 * 3'600'000;         // quiet time after a retrain request. Default: 6h
  int64_t version_ttl_ms = 24 * 3'600'000;     // a version unseen this long is dropped. Default: 24h
  size_t max_versions = 4;                     // versions kept per model; the least recently seen goes. Default: 4
  AdwinOptions adwin;
  DdmOptions ddm;
  PageHinkleyOptions page_hinkley;
  CalibrationCusumOptions calibration_cusum;
};

}  // namespace featmon::drift
