#include "drift/model_monitor.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "drift/statistics.h"

namespace featmon::drift {

namespace {

constexpr int64_t kHourMs = 3'600'000, kDayMs = 24 * kHourMs, kWeekMs = 7 * kDayMs;
constexpr double kScoreClamp = 1e-7;  // log loss of a 0 or 1 score is finite

int64_t FloorTo(int64_t t, int64_t period) {
  int64_t q = t / period;
  if (t % period != 0 && t < 0) --q;
  return q * period;
}
int64_t CeilTo(int64_t t, int64_t period) { return -FloorTo(-t, period); }

bool RetrainsOn(const MonitorOptions& o, Signal s) {
  switch (s) {
    case Signal::kData: return o.retrain_on_data_drift;
    case Signal::kPrediction: return o.retrain_on_prediction_drift;
    case Signal::kLabel: return o.retrain_on_label_drift;
    case Signal::kPerformance: return false;
  }
  return false;
}

// The threshold a detector's alert is reported against: Page-Hinkley's level,
// the calibration CUSUM's odds ratio (its alert's value is the ratio caught).
double DetectorThreshold(const MonitorOptions& o, const std::string& detector) {
  if (detector == "page_hinkley") return o.page_hinkley.threshold;
  if (detector == "calibration_cusum") return o.calibration_cusum.odds_ratio;
  return 0.0;
}

}  // namespace

std::string TrackKey(Signal signal, const std::string& feature) {
  std::string key(1, static_cast<char>(signal));
  key += feature;
  return key;
}

VersionState& ModelMonitor::GetVersion(const std::string& name, int64_t ts_ms) {
  auto it = versions_.find(name);
  if (it != versions_.end()) return it->second;
  if (versions_.size() >= options_->max_versions) {  // the least recently seen goes
    auto oldest = std::min_element(versions_.begin(), versions_.end(), [](const auto& a, const auto& b) {
      return a.second.last_seen_ms < b.second.last_seen_ms;
    });
    evicted_.push_back(oldest->first);
    versions_.erase(oldest);
  }
  VersionState v;
  v.name = name;
  v.first_seen_ms = v.last_seen_ms = ts_ms;
  v.reference_start_ms = FloorTo(ts_ms, options_->evaluation_period_ms);
  v.reference_end_ms = v.reference_start_ms + options_->window_ms;
  v.next_evaluation_ms = v.reference_start_ms + options_->evaluation_period_ms;
  v.adwin = Adwin(options_->adwin);
  v.ddm = Ddm(options_->ddm);
  v.page_hinkley = PageHinkley(options_->page_hinkley);
  v.calibration_cusum = CalibrationCusum(options_->calibration_cusum);
  if (options_->reference == ReferenceKind::kProfile) v.frozen = true;
  return versions_.emplace(name, std::move(v)).first->second;
}

void ModelMonitor::Observe(const Prediction& p) {
  VersionState& v = GetVersion(p.model_version, p.ts_ms);
  v.last_seen_ms = std::max(v.last_seen_ms, p.ts_ms);
  if (p.ts_ms < v.first_seen_ms && v.next_evaluation_ms == v.reference_start_ms + options_->evaluation_period_ms) {
    // An earlier prediction before the first evaluation: the version was
    // first seen then, whichever partition happened to be read first.
    v.first_seen_ms = p.ts_ms;
    v.reference_start_ms = FloorTo(p.ts_ms, options_->evaluation_period_ms);
    v.reference_end_ms = v.reference_start_ms + options_->window_ms;
    v.next_evaluation_ms = v.reference_start_ms + options_->evaluation_period_ms;
  }
  ++v.predictions;
  const int64_t tile = FloorTo(p.ts_ms, options_->evaluation_period_ms);
  Perf& perf = v.perf[tile];
  perf.predicted += 1;
  perf.predicted_score += p.score;
  if (!v.frozen && p.ts_ms >= v.reference_end_ms && options_->reference != ReferenceKind::kProfile) {
    v.early.push_back(p);  // bins are not known yet
    return;
  }
  Apply(v, p, tile);
}

void ModelMonitor::OnClickAttributed(const std::string& version, int64_t click_ts_ms) {
  auto it = versions_.find(version);
  if (it == versions_.end()) return;
  it->second.perf[FloorTo(click_ts_ms, options_->evaluation_period_ms)].attributed_clicks += 1;
}

void ModelMonitor::OnLabel(const MaturedLabel& l) {
  auto it = versions_.find(l.model_version);
  if (it == versions_.end()) return;
  VersionState& v = it->second;
  ++v.labels;
  const int64_t tile = FloorTo(l.prediction_ts_ms, options_->evaluation_period_ms);
  const double s = std::clamp(l.score, kScoreClamp, 1 - kScoreClamp);
  const double loss = l.clicked ? -std::log(s) : -std::log(1 - s);
  Perf& perf = v.perf[tile];
  perf.AddLabel(l.score, l.clicked, loss);
  v.calibration_cusum.AddLabelBase(l.score, &perf.cusum_up_base, &perf.cusum_down_base);
  // Label drift: the CTR as a two-category distribution.
  Track& label = LabelTrack(v);
  label.AddCategory(label.TileAt(tile), l.clicked ? "1" : "0");
  // ADWIN and Page-Hinkley watch the excess log loss: the loss minus what the
  // model expects to lose on this score (the score's binary entropy). Its mean
  // is zero for a calibrated model at any base CTR, so a CTR that follows the
  // hour is not a degradation, while under- or over-prediction raises it.
  // Only a rise is a degradation.
  const double excess = std::clamp(loss - (-s * std::log(s) - (1 - s) * std::log(1 - s)), -1.0, 10.0);
  const double before = v.adwin.mean();
  if (v.adwin.Update(excess) == DetectorState::kDrift && v.adwin.mean() > before)
    v.detector_alerts["adwin"] = v.adwin.mean();
  if (v.ddm.Update(std::min(loss, 1.0)) == DetectorState::kDrift) v.detector_alerts["ddm"] = v.ddm.error_rate();
  if (v.page_hinkley.Update(excess) == DetectorState::kDrift)
    v.detector_alerts["page_hinkley"] = options_->page_hinkley.threshold;
}

void ModelMonitor::AdvanceWatermark(int64_t watermark_ms, EvaluationOutput* out) {
  std::vector<std::string> expired;
  for (auto& [name, v] : versions_) {
    while (v.next_evaluation_ms <= watermark_ms) {
      Evaluate(v, v.next_evaluation_ms, out);
      v.next_evaluation_ms += options_->evaluation_period_ms;
      out->changed_models.insert(model_);
    }
    if (watermark_ms - v.last_seen_ms > options_->version_ttl_ms) expired.push_back(name);
  }
  for (const auto& name : expired) {
    versions_.erase(name);
    out->removed_versions.emplace_back(model_, name);
    out->changed_models.insert(model_);
  }
}

int64_t ModelMonitor::NextEvaluationMs() const {
  int64_t next = std::numeric_limits<int64_t>::max();
  for (const auto& [name, v] : versions_) next = std::min(next, v.next_evaluation_ms);
  return next;
}

Track* ModelMonitor::GetTrack(VersionState& v, Signal signal, const std::string& feature, TrackKind kind) {
  // One reused buffer: this runs for every feature of every prediction.
  key_buffer_.assign(1, static_cast<char>(signal));
  key_buffer_.append(feature);
  auto it = v.track_index.find(key_buffer_);
  if (it != v.track_index.end()) return &v.tracks[it->second];
  if (signal == Signal::kData) {
    const bool skipped = options_->skip_features.count(feature) > 0;
    const auto data_tracks = static_cast<size_t>(
        std::count_if(v.tracks.begin(), v.tracks.end(), [](const Track& t) { return t.signal == Signal::kData; }));
    if (skipped || data_tracks >= options_->max_features) {
      if (!skipped) ++v.dropped_features;
      return nullptr;
    }
  }
  Track t;
  t.signal = signal;
  t.feature = feature;
  t.kind = kind;
  t.rule = RuleFor(t);
  if (options_->reference == ReferenceKind::kProfile && options_->profile.contains("features") &&
      options_->profile["features"].contains(feature))
    t.FreezeFromProfile(options_->profile["features"][feature]);  // not in the profile: stays without verdict
  v.track_index[key_buffer_] = v.tracks.size();
  v.tracks.push_back(std::move(t));
  return &v.tracks.back();
}

FeatureRule ModelMonitor::RuleFor(const Track& t) const {
  auto rule = options_->feature_rules.find(t.feature);
  if (rule != options_->feature_rules.end() && t.signal == Signal::kData) return rule->second;
  if (t.signal == Signal::kPrediction) return options_->score_rule;
  if (t.signal == Signal::kLabel) return options_->label_rule;
  return t.numeric() ? options_->numeric_rule : options_->categorical_rule;
}

Track& ModelMonitor::LabelTrack(VersionState& v) {
  Track* t = GetTrack(v, Signal::kLabel, "ctr", TrackKind::kCategorical);
  t->FreezeAsLabel();
  return *t;
}

void ModelMonitor::Apply(VersionState& v, const Prediction& p, int64_t tile) {
  const bool profile = options_->reference == ReferenceKind::kProfile;
  auto numeric = [&](Signal signal, const std::string& name, double value) {
    if (!std::isfinite(value)) return;
    Track* t = GetTrack(v, signal, name, TrackKind::kNumeric);
    if (!t) return;
    if (t->frozen) {
      t->AddNumeric(t->TileAt(tile), value);
    } else if (!profile) {  // a profile that lacks the feature leaves it without verdict
      t->Sample(FeatureSampleHash(p.sample_hash, name), value, options_->reference_sample);
    }
  };
  numeric(Signal::kPrediction, "score", p.score);
  for (const auto& [name, value] : p.features) numeric(Signal::kData, name, value);
  for (const auto& [name, value] : p.cat_features) {
    Track* t = GetTrack(v, Signal::kData, name, TrackKind::kCategorical);
    if (!t) continue;
    if (t->frozen) {
      t->AddCategory(t->TileAt(tile), value);
    } else if (!profile) {
      t->CountCategory(value, options_->max_reference_categories);
    }
  }
}

void ModelMonitor::Freeze(VersionState& v) {
  for (Track& t : v.tracks) t.Freeze(options_->numeric_bins, options_->top_k);
  v.frozen = true;
  std::vector<Prediction> early;
  early.swap(v.early);
  for (const Prediction& p : early) Apply(v, p, FloorTo(p.ts_ms, options_->evaluation_period_ms));
}

// The one rule for "the reference of this span", used to judge it, to name
// it in reports and requests, and to know which tiles to keep.
WindowSpan ModelMonitor::ReferenceWindow(const VersionState& v, const WindowSpan& current) const {
  switch (options_->reference) {
    case ReferenceKind::kFirstWindow: return {v.reference_start_ms, v.reference_end_ms};
    case ReferenceKind::kPreviousWindow: return {current.start_ms - options_->window_ms, current.start_ms};
    case ReferenceKind::kSameHourLastWeek: return {current.start_ms - kWeekMs, current.end_ms - kWeekMs};
    case ReferenceKind::kSeasonal: return {current.start_ms - kDayMs, current.end_ms - kDayMs};  // nominal: blended days
    case ReferenceKind::kProfile: return {0, 0};
  }
  return {0, 0};
}

Perf ModelMonitor::SumPerf(const VersionState& v, int64_t start, int64_t end) const {
  Perf p;
  for (auto it = v.perf.lower_bound(start); it != v.perf.end() && it->first < end; ++it) p.Add(it->second);
  return p;
}

EvaluationWindows ModelMonitor::WindowsFor(const VersionState& v, int64_t boundary) const {
  const MonitorOptions& o = *options_;
  EvaluationWindows w;
  w.evaluated = true;
  w.evaluated_at_ms = boundary;
  w.current = {boundary - o.window_ms, boundary};
  const int64_t matured_end = FloorTo(boundary - o.attribution_window_ms, o.evaluation_period_ms);
  w.labels_current = {matured_end - o.window_ms, matured_end};
  w.reference = ReferenceWindow(v, w.current);
  return w;
}

// The reference histogram a track's `current` span is judged against.
const Hist& ModelMonitor::ReferenceOf(Track& t, const VersionState& v, const EvaluationWindows& w,
                                      const WindowSpan& current) {
  const MonitorOptions& o = *options_;
  switch (o.reference) {
    case ReferenceKind::kSeasonal:
      // Empty (no verdict) until the hours of the day the span covers were learned.
      (void)t.seasonal.ReferenceFor(current.start_ms, current.end_ms, o.evaluation_period_ms, t.bins(), t.numeric(),
                                    &ref_scratch_);
      return ref_scratch_;
    case ReferenceKind::kPreviousWindow:
    case ReferenceKind::kSameHourLastWeek: {
      const WindowSpan ref = ReferenceWindow(v, current);
      t.SumTiles(ref.start_ms, ref.end_ms, &ref_scratch_);
      return ref_scratch_;
    }
    case ReferenceKind::kFirstWindow:
      // Labels are judged on matured windows: the reference of a first-window
      // model is its first window once those labels have matured.
      if (t.signal == Signal::kLabel && !t.reference_ready) {
        if (w.labels_current.end_ms < v.reference_end_ms) {
          t.SumTiles(0, 0, &ref_scratch_);  // empty: no verdict yet
          return ref_scratch_;
        }
        t.SumTiles(v.reference_start_ms, v.reference_end_ms, &t.reference);
        t.reference_ready = true;
      }
      return t.reference;
    case ReferenceKind::kProfile:
      if (t.signal == Signal::kLabel) {  // a profile has no labels
        t.SumTiles(0, 0, &ref_scratch_);
        return ref_scratch_;
      }
      return t.reference;
  }
  return t.reference;
}

// Whole hours the track's windows have passed go into its seasonal profile.
void ModelMonitor::LearnSeasons(VersionState& v, const EvaluationWindows& w) {
  const MonitorOptions& o = *options_;
  for (Track& t : v.tracks) {
    if (!t.frozen) continue;
    const int64_t seen_end = FloorTo((t.signal == Signal::kLabel ? w.labels_current : w.current).end_ms, kHourMs);
    if (t.learned_until_ms == 0) t.learned_until_ms = CeilTo(v.reference_end_ms, kHourMs);  // the first whole hour
    for (; t.learned_until_ms + kHourMs <= seen_end; t.learned_until_ms += kHourMs) {
      t.SumTiles(t.learned_until_ms, t.learned_until_ms + kHourMs, &cur_scratch_);
      if (cur_scratch_.total() > 0) t.seasonal.Learn(t.learned_until_ms, cur_scratch_, o.seasonal_new_day_weight);
    }
  }
}

void ModelMonitor::EvaluateTracks(VersionState& v, const EvaluationWindows& w, EvaluationOutput* out,
                                  std::vector<RetrainReason>* reasons) {
  const MonitorOptions& o = *options_;
  const auto min_samples = static_cast<double>(o.min_samples);
  const int64_t fast_ms = FloorTo(o.fast_window_ms, o.evaluation_period_ms);
  const bool fast = fast_ms > 0 && fast_ms < o.window_ms;
  const WindowSpan fast_window{w.current.end_ms - fast_ms, w.current.end_ms};
  // Statistics of every frozen track.
  std::vector<Track*> evaluated;
  std::vector<double> p_values;
  std::vector<double*> adjusted_into;  // where each p-value's adjusted value goes
  auto p_value_test = [&](const Track& t, double p, double ref_n, double cur_n, double* into) {
    if (IsPValueTest(t.rule.statistic) && !std::isnan(p) && ref_n >= min_samples && cur_n >= min_samples) {
      p_values.push_back(p);
      adjusted_into.push_back(into);
    }
  };
  for (Track& t : v.tracks) {
    if (!t.frozen) continue;
    TrackResult& r = t.last;
    r = TrackResult();
    r.evaluated = true;
    const WindowSpan& cur_window = t.signal == Signal::kLabel ? w.labels_current : w.current;
    t.SumTiles(cur_window.start_ms, cur_window.end_ms, &cur_scratch_);
    const Hist& ref = ReferenceOf(t, v, w, cur_window);
    r.reference_samples = ref.total();
    r.current_samples = cur_scratch_.total();
    r.reference_counts = ref.counts;
    r.current_counts = cur_scratch_.counts;
    r.values = r.reference_samples > 0 && r.current_samples > 0
                   ? TrackStatistics(t, ref, cur_scratch_, &ref_means_, &cur_means_)
                   : NoStatistics();
    r.value = r.values[RuleField(t.rule.statistic)];
    p_value_test(t, r.value, r.reference_samples, r.current_samples, &r.values[kAdjustedPValueField]);
    // The last fast_window alone: a shift shows there before it fills the window.
    if (fast && t.signal != Signal::kLabel) {
      t.SumTiles(fast_window.start_ms, fast_window.end_ms, &cur_scratch_);
      const Hist& fast_ref = ReferenceOf(t, v, w, fast_window);
      r.fast_reference_samples = fast_ref.total();
      r.fast_current_samples = cur_scratch_.total();
      if (r.fast_reference_samples > 0 && r.fast_current_samples > 0)
        r.fast_value = TrackStatistics(t, fast_ref, cur_scratch_, &ref_means_, &cur_means_)[RuleField(t.rule.statistic)];
      p_value_test(t, r.fast_value, r.fast_reference_samples, r.fast_current_samples, &r.fast_value);
    }
    evaluated.push_back(&t);
  }
  // Benjamini-Hochberg across the model's p-value tests, both scales.
  const std::vector<double> adjusted = BenjaminiHochberg(p_values);
  for (size_t i = 0; i < adjusted.size(); ++i) *adjusted_into[i] = adjusted[i];

  out->drift.reserve(out->drift.size() + evaluated.size());
  for (Track* tp : evaluated) {
    Track& t = *tp;
    TrackResult& r = t.last;
    if (IsPValueTest(t.rule.statistic)) r.value = r.values[kAdjustedPValueField];
    const Verdict window_verdict = Judge(t.rule, r.value, r.reference_samples, r.current_samples, o.min_samples);
    const Verdict fast_verdict =
        Judge(t.rule, r.fast_value, r.fast_reference_samples, r.fast_current_samples, o.min_samples);
    t.verdict = std::max(window_verdict, fast_verdict);  // the worse of the two scales
    r.fast_drift = fast_verdict == Verdict::kDrift && window_verdict != Verdict::kDrift;
    t.streak = t.verdict == Verdict::kDrift ? t.streak + 1 : 0;
    r.alerting = t.streak >= o.consecutive_evaluations;
    out->drift.push_back({model_, v.name, t.signal, t.feature, r.values, r.alerting});
    if (r.alerting && RetrainsOn(o, t.signal))
      reasons->push_back({t.signal, t.feature, StatisticName(t.rule.statistic), r.fast_drift ? r.fast_value : r.value,
                          t.rule.alert});
  }
}

DetectorSnapshot ModelMonitor::Detectors(const VersionState& v) const {
  DetectorSnapshot d;
  d.adwin_width = v.adwin.width();
  d.adwin_mean_loss = v.adwin.mean();
  d.adwin_drifts = v.adwin.drifts();
  d.ddm_error_rate = v.ddm.error_rate();
  d.ddm_drifts = v.ddm.drifts();
  d.page_hinkley_statistic = v.page_hinkley.statistic();
  d.page_hinkley_drifts = v.page_hinkley.drifts();
  d.cusum_under_prediction = v.calibration_cusum.under_prediction();
  d.cusum_over_prediction = v.calibration_cusum.over_prediction();
  d.cusum_drifts = v.calibration_cusum.drifts();
  return d;
}

void ModelMonitor::EvaluatePerformance(VersionState& v, const EvaluationWindows& w, EvaluationOutput* out,
                                       std::vector<RetrainReason>* reasons) {
  const MonitorOptions& o = *options_;
  const Perf matured = SumPerf(v, w.labels_current.start_ms, w.labels_current.end_ms);
  const Perf recent = SumPerf(v, w.current.start_ms, w.current.end_ms);
  PerformanceResult p;
  p.evaluated = true;
  p.window = w.labels_current;
  p.matured_labels = matured.n;
  if (matured.n > 0) {
    p.ctr = matured.clicks / matured.n;
    p.logloss = matured.sum_logloss / matured.n;
    const double entropy = (p.ctr <= 0 || p.ctr >= 1) ? NAN : -(p.ctr * std::log(p.ctr) + (1 - p.ctr) * std::log(1 - p.ctr));
    p.normalized_entropy = p.logloss / entropy;
    p.calibration_ratio = matured.clicks > 0 ? matured.sum_score / matured.clicks : NAN;
    p.auc = RocAuc(matured);
  }
  FeedCalibrationCusum(v, w.labels_current.end_ms);
  p.current_predictions = recent.predicted;
  p.expected_clicks = recent.predicted_score;
  p.observed_clicks = recent.attributed_clicks;

  // Out of range and more than chance: the clicks differ from the sum of the
  // scores by calibration_z standard deviations (sqrt of that sum, a bound on
  // the binomial's), so a trough hour with a few dozen clicks is not a break.
  v.calibration_verdict = Verdict::kNoVerdict;
  if (matured.n >= static_cast<double>(o.min_samples) && std::isfinite(p.calibration_ratio)) {
    const bool out_of_range = p.calibration_ratio < o.calibration_low || p.calibration_ratio > o.calibration_high;
    const double z = std::abs(matured.clicks - matured.sum_score) / std::sqrt(matured.sum_score);
    v.calibration_verdict = out_of_range && z >= o.calibration_z ? Verdict::kDrift : Verdict::kOk;
  }
  v.calibration_streak = v.calibration_verdict == Verdict::kDrift ? v.calibration_streak + 1 : 0;
  if (v.calibration_streak >= o.consecutive_evaluations && o.retrain_on_calibration)
    reasons->push_back({Signal::kPerformance, "calibration", "calibration_ratio", p.calibration_ratio,
                        p.calibration_ratio < o.calibration_low ? o.calibration_low : o.calibration_high});
  p.detectors = Detectors(v);
  for (auto& [detector, value] : v.detector_alerts)
    if (o.retrain_detectors.count(detector))
      reasons->push_back({Signal::kPerformance, detector, detector, value, DetectorThreshold(o, detector)});
  p.detector_alerts = std::exchange(v.detector_alerts, {});
  out->performance.push_back({model_, v.name, p.logloss, p.normalized_entropy, p.calibration_ratio, p.auc});
  v.last_performance = std::move(p);
}

// Each prediction tile once all its labels matured (before the matured-label
// window's end), in time order, once.
void ModelMonitor::FeedCalibrationCusum(VersionState& v, int64_t matured_end_ms) {
  for (auto it = v.perf.lower_bound(v.cusum_fed_until_ms); it != v.perf.end() && it->first < matured_end_ms; ++it)
    if (v.calibration_cusum.Update(it->second.clicks, it->second.cusum_up_base, it->second.cusum_down_base) ==
        DetectorState::kDrift)
      v.detector_alerts["calibration_cusum"] = v.calibration_cusum.last_drift_odds_ratio();
  v.cusum_fed_until_ms = std::max(v.cusum_fed_until_ms, matured_end_ms);
}

void ModelMonitor::RequestRetrain(VersionState& v, const EvaluationWindows& w, std::vector<RetrainReason> reasons,
                                  EvaluationOutput* out) {
  if (reasons.empty()) return;
  const int64_t boundary = w.evaluated_at_ms;
  reasons = cooldown_.Admit(std::move(reasons), boundary, &v.last_windows.retrain_suppressed_by_cooldown);
  if (reasons.empty()) return;
  RetrainRequest r{model_,           v.name,         std::move(reasons), w.reference.start_ms, w.reference.end_ms,
                   w.current.start_ms, w.current.end_ms, boundary,
                   v.reference_start_ms, boundary};  // fresh data: since the version's first window
  last_request_ = ToJson(r);
  out->retrain_requests.push_back(std::move(r));
}

void ModelMonitor::Evaluate(VersionState& v, int64_t boundary, EvaluationOutput* out) {
  if (!v.frozen && options_->reference != ReferenceKind::kProfile && boundary >= v.reference_end_ms) Freeze(v);
  v.last_windows = WindowsFor(v, boundary);
  if (options_->reference == ReferenceKind::kSeasonal) LearnSeasons(v, v.last_windows);
  std::vector<RetrainReason> reasons;
  EvaluateTracks(v, v.last_windows, out, &reasons);
  EvaluatePerformance(v, v.last_windows, out, &reasons);
  const size_t requests_before = out->retrain_requests.size();
  RequestRetrain(v, v.last_windows, std::move(reasons), out);
  Record(v, out->retrain_requests.size() > requests_before ? &out->retrain_requests.back() : nullptr);
  Prune(v, v.last_windows);
}

void ModelMonitor::Record(VersionState& v, const RetrainRequest* request) {
  EvaluationRecord& e = v.history.emplace_back();
  e.evaluated_at_ms = v.last_windows.evaluated_at_ms;
  e.values.reserve(v.tracks.size());
  e.verdicts.reserve(v.tracks.size());
  for (const Track& t : v.tracks) {
    e.values.push_back(t.last.evaluated ? t.last.value : NAN);
    e.verdicts.push_back(t.last.evaluated ? t.verdict : Verdict::kNoVerdict);
  }
  const PerformanceResult& p = v.last_performance;
  e.logloss = p.logloss;
  e.calibration_ratio = p.calibration_ratio;
  e.auc = p.auc;
  e.matured_labels = p.matured_labels;
  if (request)
    for (const RetrainReason& r : request->reasons)
      e.retrain_reasons.push_back(std::string(SignalName(r.signal)) + "/" + r.feature);
  while (v.history.size() > kHistoryEvaluations) v.history.pop_front();
}

// What later evaluations read, back from this boundary: the current window
// (data and score tracks; the predictions and clicks of performance), the
// matured-label window (labels and performance), the reference window of a
// reference built from tiles, and the hours a seasonal profile has still to
// learn. Everything older goes, so a model's state is bounded by its
// reference's reach, not by its history.
void ModelMonitor::Prune(VersionState& v, const EvaluationWindows& w) {
  const MonitorOptions& o = *options_;
  const bool unfrozen_first_window = o.reference != ReferenceKind::kProfile && !v.frozen;
  const bool tile_reference =
      o.reference == ReferenceKind::kPreviousWindow || o.reference == ReferenceKind::kSameHourLastWeek;
  int64_t data_oldest = w.current.start_ms;
  if (tile_reference) data_oldest = std::min(data_oldest, w.reference.start_ms);
  if (unfrozen_first_window) data_oldest = std::min(data_oldest, v.reference_start_ms);
  int64_t label_oldest = w.labels_current.start_ms;
  if (tile_reference) label_oldest = std::min(label_oldest, ReferenceWindow(v, w.labels_current).start_ms);
  for (Track& t : v.tracks) {
    int64_t oldest = t.signal == Signal::kLabel ? label_oldest : data_oldest;
    // A first-window label track keeps its reference window until those labels mature.
    if (t.signal == Signal::kLabel && o.reference == ReferenceKind::kFirstWindow && !t.reference_ready)
      oldest = std::min(oldest, v.reference_start_ms);
    if (o.reference == ReferenceKind::kSeasonal && t.learned_until_ms > 0) oldest = std::min(oldest, t.learned_until_ms);
    t.tiles.erase(t.tiles.begin(), t.tiles.lower_bound(oldest));
  }
  const int64_t perf_oldest = std::min(w.current.start_ms, w.labels_current.start_ms);
  v.perf.erase(v.perf.begin(), v.perf.lower_bound(perf_oldest));
}

}  // namespace featmon::drift
