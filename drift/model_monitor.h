// The monitoring state machine of one model: what each model_version sees
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
//   seasonal             (default) the same time of day on the days seen so
//                        far (SeasonalProfile); no verdict until a day was seen
//                        (these three with the bins frozen from the first window)
//   profile              a fixed profile (bins and counts) from training data
// Labels mature `attribution_window` after the prediction, so performance
// and label drift are evaluated on the window that ended that long before
// the boundary.
//
// Data and score tracks are also judged on the last `fast_window` of the
// current window alone (against the reference of that span), so a shift is
// caught before it fills the window; the verdict is the worse of the two.
// A signal alerts after `consecutive_evaluations` drifting evaluations in a
// row; a loss detector alerts at once (it has its own statistical guard). An
// alert asks for retraining unless that reason is in its cooldown
// (RetrainCooldown: per reason, so one alarm does not hide another).
//
// Evaluation produces structs (TrackResult, PerformanceResult,
// EvaluationWindows); JSON is built only for reports
// (model_monitor_report.cpp) and for the stored state
// (model_monitor_codec.cpp).
//
// Thread-safety: none; one owner drives it.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "drift/detectors.h"
#include "drift/monitor_events.h"
#include "drift/monitor_options.h"
#include "drift/performance.h"
#include "drift/retrain_cooldown.h"
#include "drift/track.h"

namespace featmon::drift {

struct WindowSpan {
  int64_t start_ms = 0, end_ms = 0;
};

// The windows of a version's last evaluation.
struct EvaluationWindows {
  bool evaluated = false;
  WindowSpan reference, current, labels_current;
  int64_t evaluated_at_ms = 0;
  bool retrain_suppressed_by_cooldown = false;
};

// The loss detectors as they stood at an evaluation.
struct DetectorSnapshot {
  int64_t adwin_width = 0;
  double adwin_mean_loss = 0;  // of the excess log loss
  uint64_t adwin_drifts = 0;
  double ddm_error_rate = 0;
  uint64_t ddm_drifts = 0;
  double page_hinkley_statistic = 0;
  uint64_t page_hinkley_drifts = 0;
  double cusum_under_prediction = 0, cusum_over_prediction = 0;
  uint64_t cusum_drifts = 0;
};

// Performance at a version's last evaluation, on its matured-label window.
struct PerformanceResult {
  bool evaluated = false;
  WindowSpan window;
  double matured_labels = 0;
  double ctr = NAN, logloss = NAN, normalized_entropy = NAN, calibration_ratio = NAN, auc = NAN;
  // The current window, before its labels mature: predictions, the sum of
  // their scores and the clicks attributed so far.
  double current_predictions = 0, expected_clicks = 0, observed_clicks = 0;
  DetectorSnapshot detectors;
  std::map<std::string, double> detector_alerts;  // fired since the evaluation before: detector -> value
};

// One evaluation of a version, kept for its history (the report's
// "history", the pages' timelines).
struct EvaluationRecord {
  int64_t evaluated_at_ms = 0;
  std::vector<double> values;      // the rule's value per track, as VersionState::tracks; NaN: none
  std::vector<Verdict> verdicts;   // likewise
  double logloss = NAN, calibration_ratio = NAN, auc = NAN, matured_labels = 0;
  std::vector<std::string> retrain_reasons;  // "signal/feature" of the retrain request made here, if any
};

// How many evaluations a version's history keeps: 500, three weeks of hourly
// evaluations or about two days at the default 5 minutes.
inline constexpr size_t kHistoryEvaluations = 500;

struct VersionState {
  std::string name;
  int64_t first_seen_ms = 0, last_seen_ms = 0;
  int64_t reference_start_ms = 0, reference_end_ms = 0;
  int64_t next_evaluation_ms = 0;
  bool frozen = false;
  std::vector<Track> tracks;
  std::unordered_map<std::string, size_t> track_index;  // TrackKey -> index
  uint64_t dropped_features = 0;
  uint64_t predictions = 0, labels = 0;
  std::vector<Prediction> early;  // past the reference window, waiting for its bins
  std::map<int64_t, Perf> perf;   // by prediction tile
  Adwin adwin;
  Ddm ddm;
  PageHinkley page_hinkley;
  CalibrationCusum calibration_cusum;
  int64_t cusum_fed_until_ms = 0;  // prediction tiles before this were fed to the CUSUM
  std::map<std::string, double> detector_alerts;  // fired since the last evaluation: detector -> value
  int calibration_streak = 0;
  Verdict calibration_verdict = Verdict::kNoVerdict;
  PerformanceResult last_performance;
  EvaluationWindows last_windows;
  std::deque<EvaluationRecord> history;  // the last kHistoryEvaluations, oldest first
};

// The index key of a track in VersionState::track_index.
std::string TrackKey(Signal signal, const std::string& feature);

class ModelMonitor {
 public:
  ModelMonitor(std::string model, const MonitorOptions* options)
      : model_(std::move(model)), options_(options), cooldown_(options->cooldown_ms) {}

  void Observe(const Prediction& p);
  // Counted in the click's own tile, so "observed so far" at an evaluation is
  // the clicks before its boundary, whatever order the topics were read in.
  void OnClickAttributed(const std::string& version, int64_t click_ts_ms);
  void OnLabel(const MaturedLabel& label);
  void AdvanceWatermark(int64_t watermark_ms, EvaluationOutput* out);
  int64_t NextEvaluationMs() const;
  // No version left: every one expired.
  bool empty() const { return versions_.empty(); }
  // Versions dropped by max_versions since the last call.
  std::vector<std::string> TakeEvicted() { return std::exchange(evicted_, {}); }

  nlohmann::json Report() const;          // model_monitor_report.cpp
  nlohmann::json Save() const;            // model_monitor_codec.cpp
  Status Load(const nlohmann::json& j);   // model_monitor_codec.cpp

 private:
  VersionState& GetVersion(const std::string& name, int64_t ts_ms);
  Track* GetTrack(VersionState& v, Signal signal, const std::string& feature, TrackKind kind);
  // Rules come from the options, not the stored state, so a changed config
  // applies to state saved before it.
  FeatureRule RuleFor(const Track& t) const;
  Track& LabelTrack(VersionState& v);
  void Apply(VersionState& v, const Prediction& p, int64_t tile);
  // The reference window closed: freeze every track, then bin the
  // predictions that arrived past it.
  void Freeze(VersionState& v);
  WindowSpan ReferenceWindow(const VersionState& v, const WindowSpan& current) const;
  Perf SumPerf(const VersionState& v, int64_t start, int64_t end) const;

  void Evaluate(VersionState& v, int64_t boundary, EvaluationOutput* out);
  EvaluationWindows WindowsFor(const VersionState& v, int64_t boundary) const;
  void EvaluateTracks(VersionState& v, const EvaluationWindows& w, EvaluationOutput* out,
                      std::vector<RetrainReason>* reasons);
  const Hist& ReferenceOf(Track& t, const VersionState& v, const EvaluationWindows& w, const WindowSpan& current);
  void LearnSeasons(VersionState& v, const EvaluationWindows& w);
  void EvaluatePerformance(VersionState& v, const EvaluationWindows& w, EvaluationOutput* out,
                           std::vector<RetrainReason>* reasons);
  void FeedCalibrationCusum(VersionState& v, int64_t matured_end_ms);
  void RequestRetrain(VersionState& v, const EvaluationWindows& w, std::vector<RetrainReason> reasons,
                      EvaluationOutput* out);
  // Drops tiles no window can read any more.
  void Prune(VersionState& v, const EvaluationWindows& w);
  // Appends the evaluation just made to the version's history.
  void Record(VersionState& v, const RetrainRequest* request);

  DetectorSnapshot Detectors(const VersionState& v) const;
  nlohmann::json VersionReport(const VersionState& v) const;

  std::string model_;
  const MonitorOptions* options_;
  Hist cur_scratch_, ref_scratch_;  // reused by every track of an evaluation
  std::vector<double> ref_means_, cur_means_;
  std::string key_buffer_;
  std::map<std::string, VersionState> versions_;
  std::vector<std::string> evicted_;
  RetrainCooldown cooldown_;
  nlohmann::json last_request_;  // ToJson of the last retrain request, null before the first
};

}  // namespace featmon::drift
