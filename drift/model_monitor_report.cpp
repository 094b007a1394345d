// A model's report (GET /v1/monitoring/models/{model}), built from the
// results of its last evaluations.
#include "drift/model_monitor.h"

#include "drift/model_monitor_json.h"

namespace featmon::drift {

using json = nlohmann::json;

namespace {

json SpanJson(const WindowSpan& s) { return {{"start_ms", s.start_ms}, {"end_ms", s.end_ms}}; }

json TrackReport(const Track& t, bool seasonal) {
  json entry = {{"signal", SignalName(t.signal)}, {"feature", t.feature}, {"status", VerdictName(t.verdict)}};
  if (!t.last.evaluated) return entry;
  const TrackResult& r = t.last;
  json stats = json::object();
  for (int i = 0; i < kStatisticFieldCount; ++i)
    if (!std::isnan(r.values[i])) stats[StatisticFieldName(i)] = r.values[i];
  entry["kind"] = t.numeric() ? "numeric" : "categorical";
  entry["bins"] = t.bins();
  entry["reference_samples"] = r.reference_samples;
  entry["current_samples"] = r.current_samples;
  entry["statistics"] = stats;
  entry["rule"] = {{"statistic", StatisticName(t.rule.statistic)}, {"warn", t.rule.warn}, {"alert", t.rule.alert}};
  entry["value"] = r.value;
  if (r.fast_current_samples > 0)
    entry["fast_window"] = {{"value", r.fast_value},
                            {"reference_samples", r.fast_reference_samples},
                            {"current_samples", r.fast_current_samples},
                            {"drift_here_only", r.fast_drift}};
  if (seasonal) entry["seasonal_hours_learned"] = t.seasonal.learned_hours();
  entry["consecutive_drifting"] = t.streak;
  entry["alerting"] = r.alerting;
  return entry;
}

}  // namespace

json WindowsJson(const EvaluationWindows& w) {
  if (!w.evaluated) return json::object();
  json j = {{"reference", SpanJson(w.reference)},
            {"current", SpanJson(w.current)},
            {"labels_current", SpanJson(w.labels_current)},
            {"evaluated_at_ms", w.evaluated_at_ms}};
  if (w.retrain_suppressed_by_cooldown) j["retrain_suppressed_by_cooldown"] = true;
  return j;
}

json DetectorJson(const DetectorSnapshot& d) {
  return {{"adwin", {{"width", d.adwin_width}, {"mean_excess_loss", d.adwin_mean_loss}, {"drifts", d.adwin_drifts}}},
          {"ddm", {{"error_rate", d.ddm_error_rate}, {"drifts", d.ddm_drifts}}},
          {"page_hinkley", {{"statistic", d.page_hinkley_statistic}, {"drifts", d.page_hinkley_drifts}}},
          {"calibration_cusum",
           {{"under_prediction", d.cusum_under_prediction},
            {"over_prediction", d.cusum_over_prediction},
            {"drifts", d.cusum_drifts}}}};
}

json PerformanceJson(const VersionState& v, const MonitorOptions& o) {
  const PerformanceResult& p = v.last_performance;
  if (!p.evaluated) return json::object();
  json j = {{"window", SpanJson(p.window)}, {"matured_labels", p.matured_labels}};
  if (p.matured_labels > 0) j["ctr"] = p.ctr;
  j["logloss"] = p.logloss;
  j["normalized_entropy"] = p.normalized_entropy;
  j["calibration_ratio"] = p.calibration_ratio;
  j["auc"] = p.auc;
  j["current_window"] = {{"predictions", p.current_predictions},
                         {"expected_clicks", p.expected_clicks},
                         {"observed_clicks", p.observed_clicks}};
  j["calibration_status"] = VerdictName(v.calibration_verdict);
  j["calibration_range"] = {o.calibration_low, o.calibration_high};
  j["consecutive_drifting"] = v.calibration_streak;
  j["detectors"] = DetectorJson(p.detectors);
  j["detector_alerts_at_last_evaluation"] = p.detector_alerts;
  return j;
}

json ModelMonitor::VersionReport(const VersionState& v) const {
  json features = json::array();
  json prediction = json::object(), label = json::object();
  for (const Track& t : v.tracks) {
    json entry = TrackReport(t, options_->reference == ReferenceKind::kSeasonal);
    if (t.signal == Signal::kPrediction) prediction = entry;
    else if (t.signal == Signal::kLabel) label = entry;
    else features.push_back(entry);
  }
  return json{{"first_seen_ms", v.first_seen_ms},
              {"last_seen_ms", v.last_seen_ms},
              {"reference_window", {{"start_ms", v.reference_start_ms}, {"end_ms", v.reference_end_ms}}},
              {"reference_frozen", v.frozen},
              {"next_evaluation_ms", v.next_evaluation_ms},
              {"predictions", v.predictions},
              {"matured_labels", v.labels},
              {"dropped_features", v.dropped_features},
              {"windows", WindowsJson(v.last_windows)},
              {"features", features},
              {"prediction_drift", prediction},
              {"label_drift", label},
              {"performance", PerformanceJson(v, *options_)},
              {"detectors", DetectorJson(Detectors(v))}};
}

json ModelMonitor::Report() const {
  json versions = json::object();
  for (const auto& [name, v] : versions_) versions[name] = VersionReport(v);
  return json{{"model", model_},
              {"reference_kind", ReferenceKindName(options_->reference)},
              {"window_ms", options_->window_ms},
              {"evaluation_period_ms", options_->evaluation_period_ms},
              {"cooldowns_until_ms", cooldown_.Save()},  // reason -> end of its quiet time
              {"last_retrain_request", last_request_},
              {"versions", versions}};
}

}  // namespace featmon::drift
