// A model's report (GET /v1/monitoring/models/{model}), built from the
// results of its last evaluations.
#include "drift/model_monitor.h"

#include "drift/model_monitor_json.h"

namespace featmon::drift {

using json = nlohmann::json;

namespace {

json SpanJson(const WindowSpan& s) { return {{"start_ms", s.start_ms}, {"end_ms", s.end_ms}}; }

// The bins the statistic used and both histograms' counts on them. Numeric:
// bin 0 is below edges[0], bin i in [edges[i-1], edges[i]], the last above
// the last edge. Categorical: the reference's categories, then "(other)".
json HistogramJson(const Track& t, const TrackResult& r) {
  json h = {{"reference", r.reference_counts}, {"current", r.current_counts}};
  if (t.numeric()) {
    h["edges"] = t.edges;
  } else {
    std::vector<std::string> names = t.categories;
    names.emplace_back("(other)");
    h["categories"] = std::move(names);
  }
  return h;
}

// A version's evaluations over event time, column by column.
json HistoryReport(const VersionState& v) {
  json at = json::array(), logloss = json::array(), calibration = json::array(), auc = json::array(),
       labels = json::array(), requests = json::array();
  std::vector<json> values(v.tracks.size(), json::array()), statuses(v.tracks.size(), json::array());
  auto number = [](double x) { return std::isnan(x) ? json(nullptr) : json(x); };
  for (const EvaluationRecord& e : v.history) {
    at.push_back(e.evaluated_at_ms);
    logloss.push_back(number(e.logloss));
    calibration.push_back(number(e.calibration_ratio));
    auc.push_back(number(e.auc));
    labels.push_back(e.matured_labels);
    for (size_t i = 0; i < v.tracks.size(); ++i) {  // a track younger than the entry has none
      values[i].push_back(i < e.values.size() ? number(e.values[i]) : json(nullptr));
      statuses[i].push_back(VerdictName(i < e.verdicts.size() ? e.verdicts[i] : Verdict::kNoVerdict));
    }
    if (!e.retrain_reasons.empty())
      requests.push_back({{"evaluated_at_ms", e.evaluated_at_ms}, {"reasons", e.retrain_reasons}});
  }
  json tracks = json::array();
  for (size_t i = 0; i < v.tracks.size(); ++i)
    tracks.push_back({{"signal", SignalName(v.tracks[i].signal)},
                      {"feature", v.tracks[i].feature},
                      {"statistic", StatisticName(v.tracks[i].rule.statistic)},
                      {"warn", v.tracks[i].rule.warn},
                      {"alert", v.tracks[i].rule.alert},
                      {"values", std::move(values[i])},
                      {"statuses", std::move(statuses[i])}});
  return {{"evaluated_at_ms", std::move(at)},
          {"tracks", std::move(tracks)},
          {"performance",
           {{"logloss", std::move(logloss)},
            {"calibration_ratio", std::move(calibration)},
            {"auc", std::move(auc)},
            {"matured_labels", std::move(labels)}}},
          {"retrain_requests", std::move(requests)}};
}

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
  if (!r.reference_counts.empty()) entry["histogram"] = HistogramJson(t, r);
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
  json versions = json::object(), history = json::object();
  for (const auto& [name, v] : versions_) {
    versions[name] = VersionReport(v);
    history[name] = HistoryReport(v);
  }
  return json{{"model", model_},
              {"reference_kind", ReferenceKindName(options_->reference)},
              {"window_ms", options_->window_ms},
              {"evaluation_period_ms", options_->evaluation_period_ms},
              {"cooldowns_until_ms", cooldown_.Save()},  // reason -> end of its quiet time
              {"last_retrain_request", last_request_},
              {"versions", versions},
              // Apart from "versions", which is each version's state now.
              {"history", history}};
}

}  // namespace featmon::drift
