// A model's stored state: one msgpack document per model (format 2), with
// bulky numeric arrays as binary blobs (raw little-endian doubles) rather
// than thousands of JSON numbers, since the state is written at every commit.
#include <cstring>
#include <stdexcept>

#include "drift/model_monitor.h"
#include "drift/model_monitor_json.h"

namespace featmon::drift {

using json = nlohmann::json;

namespace {

template <typename T>
json Blob(const std::vector<T>& v) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(v.data());
  return json::binary(std::vector<uint8_t>(bytes, bytes + v.size() * sizeof(T)));
}
template <typename T>
std::vector<T> FromBlob(const json& j) {
  const auto& bin = j.get_binary();
  if (bin.size() % sizeof(T) != 0) throw std::runtime_error("blob size");
  std::vector<T> v(bin.size() / sizeof(T));
  if (!v.empty()) std::memcpy(v.data(), bin.data(), bin.size());
  return v;
}

Signal ParseSignal(const std::string& s) {
  for (Signal x : {Signal::kData, Signal::kPrediction, Signal::kLabel, Signal::kPerformance})
    if (s == SignalName(x)) return x;
  throw std::runtime_error("unknown signal '" + s + "'");
}

Verdict ParseVerdictOrThrow(const std::string& s) {
  Verdict v;
  if (!ParseVerdict(s, &v)) throw std::runtime_error("unknown verdict '" + s + "'");
  return v;
}

std::vector<uint8_t> ToBytes(const std::string& s) { return {s.begin(), s.end()}; }

WindowSpan SpanFromJson(const json& j) { return {j.at("start_ms").get<int64_t>(), j.at("end_ms").get<int64_t>()}; }

double NumberOr(const json& j, const char* key, double otherwise) {
  return j.contains(key) && j.at(key).is_number() ? j.at(key).get<double>() : otherwise;
}

}  // namespace

void to_json(json& j, const Hist& h) { j = json{{"c", Blob(h.counts)}, {"s", Blob(h.sums)}, {"q", h.sumsq}, {"u", h.unseen}}; }
void from_json(const json& j, Hist& h);

// The learned slots only, as [hour, histogram] pairs.
void to_json(json& j, const SeasonalProfile& p) {
  j = json::array();
  for (size_t h = 0; h < 24; ++h)
    if (p.learned_[h]) j.push_back({h, p.slots_[h]});
}
void from_json(const json& j, SeasonalProfile& p) {
  p = SeasonalProfile();
  for (const auto& e : j) {
    const auto h = e.at(0).get<size_t>();
    if (h >= 24) throw std::runtime_error("seasonal slot");
    e.at(1).get_to(p.slots_[h]);
    p.learned_[h] = true;
  }
}
void from_json(const json& j, Hist& h) {
  h.counts = FromBlob<double>(j.at("c"));
  h.sums = FromBlob<double>(j.at("s"));
  j.at("q").get_to(h.sumsq);
  j.at("u").get_to(h.unseen);
}

void to_json(json& j, const Perf& p) {
  j = json{{"n", p.n}, {"k", p.clicks}, {"s", p.sum_score}, {"l", p.sum_logloss}, {"pn", p.predicted},
           {"ps", p.predicted_score}, {"ac", p.attributed_clicks}, {"pos", Blob(p.positive)}, {"neg", Blob(p.negative)},
           {"cu", p.cusum_up_base}, {"cd", p.cusum_down_base}};
}
void from_json(const json& j, Perf& p) {
  j.at("n").get_to(p.n), j.at("k").get_to(p.clicks), j.at("s").get_to(p.sum_score), j.at("l").get_to(p.sum_logloss);
  j.at("pn").get_to(p.predicted), j.at("ps").get_to(p.predicted_score), j.at("ac").get_to(p.attributed_clicks);
  p.cusum_up_base = j.value("cu", 0.0);  // absent from state stored before the calibration CUSUM
  p.cusum_down_base = j.value("cd", 0.0);
  p.positive = FromBlob<double>(j.at("pos"));
  p.negative = FromBlob<double>(j.at("neg"));
  if (p.positive.size() != kAucBins || p.negative.size() != kAucBins) throw std::runtime_error("auc bins");
}

void to_json(json& j, const TrackResult& r) {
  j = json{{"e", r.evaluated}, {"r", r.reference_samples}, {"c", r.current_samples},
           {"v", std::vector<double>(r.values.begin(), r.values.end())}, {"x", r.value}, {"a", r.alerting},
           {"fr", r.fast_reference_samples}, {"fc", r.fast_current_samples}, {"fx", r.fast_value}, {"fd", r.fast_drift},
           {"rh", Blob(r.reference_counts)}, {"ch", Blob(r.current_counts)}};
}
void from_json(const json& j, TrackResult& r) {
  j.at("e").get_to(r.evaluated);
  j.at("r").get_to(r.reference_samples);
  j.at("c").get_to(r.current_samples);
  auto values = j.at("v").get<std::vector<double>>();
  if (values.size() != r.values.size()) throw std::runtime_error("statistic count");
  std::copy(values.begin(), values.end(), r.values.begin());
  r.value = j.at("x").is_number() ? j.at("x").get<double>() : NAN;
  j.at("a").get_to(r.alerting);
  // Absent from state stored before the fast window.
  r.fast_reference_samples = NumberOr(j, "fr", 0);
  r.fast_current_samples = NumberOr(j, "fc", 0);
  r.fast_value = NumberOr(j, "fx", NAN);
  r.fast_drift = j.value("fd", false);
  if (j.contains("rh")) {  // absent from state stored before the pages drew histograms
    r.reference_counts = FromBlob<double>(j.at("rh"));
    r.current_counts = FromBlob<double>(j.at("ch"));
  }
}

namespace {

// A version's history, one compact entry per evaluation.
json HistoryJson(const std::deque<EvaluationRecord>& history) {
  json out = json::array();
  for (const EvaluationRecord& e : history) {
    std::vector<uint8_t> verdicts;
    for (Verdict v : e.verdicts) verdicts.push_back(static_cast<uint8_t>(v));
    out.push_back({e.evaluated_at_ms, Blob(e.values), Blob(verdicts),
                   Blob(std::vector<double>{e.logloss, e.calibration_ratio, e.auc, e.matured_labels}),
                   e.retrain_reasons});
  }
  return out;
}

std::deque<EvaluationRecord> HistoryFromJson(const json& j) {
  std::deque<EvaluationRecord> history;
  for (const json& ej : j) {
    EvaluationRecord& e = history.emplace_back();
    ej.at(0).get_to(e.evaluated_at_ms);
    e.values = FromBlob<double>(ej.at(1));
    for (uint8_t v : FromBlob<uint8_t>(ej.at(2))) {
      if (v > static_cast<uint8_t>(Verdict::kDrift)) throw std::runtime_error("history verdict");
      e.verdicts.push_back(static_cast<Verdict>(v));
    }
    const auto performance = FromBlob<double>(ej.at(3));
    if (performance.size() != 4 || e.verdicts.size() != e.values.size()) throw std::runtime_error("history entry");
    e.logloss = performance[0], e.calibration_ratio = performance[1], e.auc = performance[2];
    e.matured_labels = performance[3];
    ej.at(4).get_to(e.retrain_reasons);
  }
  return history;
}

}  // namespace

void to_json(json& j, const Track& t) {
  std::vector<uint64_t> sample_hashes;
  std::vector<double> sample_values;
  for (auto& [h, v] : t.sample) sample_hashes.push_back(h), sample_values.push_back(v);
  json tiles_json = json::array();
  for (auto& [start, h] : t.tiles) tiles_json.push_back({start, h});
  j = json{{"signal", SignalName(t.signal)}, {"feature", t.feature}, {"numeric", t.numeric()},
           {"sample_h", Blob(sample_hashes)}, {"sample_v", Blob(sample_values)}, {"cc", t.category_counts},
           {"frozen", t.frozen}, {"edges", t.edges}, {"cats", t.categories}, {"seen", t.seen}, {"ref", t.reference},
           {"ref_ready", t.reference_ready}, {"tiles", tiles_json}, {"streak", t.streak},
           {"seasonal", t.seasonal}, {"learned_until", t.learned_until_ms},
           {"status", VerdictName(t.verdict)}, {"last", t.last}};
}
void from_json(const json& j, Track& t) {
  t.signal = ParseSignal(j.at("signal").get<std::string>());
  j.at("feature").get_to(t.feature);
  t.kind = j.at("numeric").get<bool>() ? TrackKind::kNumeric : TrackKind::kCategorical;
  auto hashes = FromBlob<uint64_t>(j.at("sample_h"));
  auto values = FromBlob<double>(j.at("sample_v"));
  if (hashes.size() != values.size()) throw std::runtime_error("sample size");
  for (size_t i = 0; i < hashes.size(); ++i) t.sample.emplace_back(hashes[i], values[i]);
  j.at("cc").get_to(t.category_counts);
  j.at("frozen").get_to(t.frozen);
  j.at("edges").get_to(t.edges);
  j.at("cats").get_to(t.categories);
  for (size_t i = 0; i < t.categories.size(); ++i) t.category_index[t.categories[i]] = static_cast<int>(i);
  j.at("seen").get_to(t.seen);
  j.at("ref").get_to(t.reference);
  j.at("ref_ready").get_to(t.reference_ready);
  for (auto& e : j.at("tiles")) t.tiles[e.at(0).get<int64_t>()] = e.at(1).get<Hist>();
  if (j.contains("seasonal")) {  // absent from state stored before the seasonal reference
    j.at("seasonal").get_to(t.seasonal);
    j.at("learned_until").get_to(t.learned_until_ms);
  }
  j.at("streak").get_to(t.streak);
  t.verdict = ParseVerdictOrThrow(j.at("status").get<std::string>());
  j.at("last").get_to(t.last);
}

bool WindowsFromJson(const json& j, EvaluationWindows* w) {
  *w = EvaluationWindows();
  if (!j.is_object()) return false;
  if (j.empty()) return true;  // not evaluated yet
  w->evaluated = true;
  w->reference = SpanFromJson(j.at("reference"));
  w->current = SpanFromJson(j.at("current"));
  w->labels_current = SpanFromJson(j.at("labels_current"));
  w->evaluated_at_ms = j.at("evaluated_at_ms").get<int64_t>();
  w->retrain_suppressed_by_cooldown = j.value("retrain_suppressed_by_cooldown", false);
  return true;
}

bool PerformanceFromJson(const json& j, PerformanceResult* p) {
  *p = PerformanceResult();
  if (!j.is_object()) return false;
  if (j.empty()) return true;  // not evaluated yet
  p->evaluated = true;
  p->window = SpanFromJson(j.at("window"));
  p->matured_labels = j.at("matured_labels").get<double>();
  p->ctr = NumberOr(j, "ctr", NAN);
  p->logloss = NumberOr(j, "logloss", NAN);
  p->normalized_entropy = NumberOr(j, "normalized_entropy", NAN);
  p->calibration_ratio = NumberOr(j, "calibration_ratio", NAN);
  p->auc = NumberOr(j, "auc", NAN);
  const json& cur = j.at("current_window");
  p->current_predictions = cur.at("predictions").get<double>();
  p->expected_clicks = cur.at("expected_clicks").get<double>();
  p->observed_clicks = cur.at("observed_clicks").get<double>();
  const json& d = j.at("detectors");
  const json& adwin = d.at("adwin");  // state stored before the excess loss named its mean mean_loss
  p->detectors = {adwin.at("width").get<int64_t>(), adwin.value("mean_excess_loss", adwin.value("mean_loss", 0.0)),
                  d.at("adwin").at("drifts").get<uint64_t>(),       d.at("ddm").at("error_rate").get<double>(),
                  d.at("ddm").at("drifts").get<uint64_t>(),         d.at("page_hinkley").at("statistic").get<double>(),
                  d.at("page_hinkley").at("drifts").get<uint64_t>()};
  if (d.contains("calibration_cusum")) {  // absent from state stored before the detector existed
    const json& c = d.at("calibration_cusum");
    p->detectors.cusum_under_prediction = c.at("under_prediction").get<double>();
    p->detectors.cusum_over_prediction = c.at("over_prediction").get<double>();
    p->detectors.cusum_drifts = c.at("drifts").get<uint64_t>();
  }
  j.at("detector_alerts_at_last_evaluation").get_to(p->detector_alerts);
  return true;
}

namespace {

json PredictionJson(const Prediction& p) {
  return json{{"s", p.score}, {"t", p.ts_ms}, {"h", p.sample_hash}, {"f", p.features}, {"c", p.cat_features},
              {"v", p.model_version}};
}

Prediction PredictionFromJson(const std::string& model, const json& j) {
  Prediction p;
  p.model = model;
  j.at("v").get_to(p.model_version);
  j.at("s").get_to(p.score);
  j.at("t").get_to(p.ts_ms);
  j.at("h").get_to(p.sample_hash);
  j.at("f").get_to(p.features);
  j.at("c").get_to(p.cat_features);
  return p;
}

}  // namespace

json ModelMonitor::Save() const {
  json versions = json::array();
  for (const auto& [name, v] : versions_) {
    json early = json::array();
    for (const auto& p : v.early) early.push_back(PredictionJson(p));
    json perf = json::array();
    for (const auto& [t, p] : v.perf) perf.push_back({t, p});
    versions.push_back({{"name", name},
                        {"first", v.first_seen_ms},
                        {"last", v.last_seen_ms},
                        {"rs", v.reference_start_ms},
                        {"re", v.reference_end_ms},
                        {"next", v.next_evaluation_ms},
                        {"frozen", v.frozen},
                        {"tracks", v.tracks},
                        {"dropped", v.dropped_features},
                        {"np", v.predictions},
                        {"nl", v.labels},
                        {"early", early},
                        {"perf", perf},
                        {"adwin", json::binary_t(ToBytes(v.adwin.Serialize()))},
                        {"ddm", json::binary_t(ToBytes(v.ddm.Serialize()))},
                        {"ph", json::binary_t(ToBytes(v.page_hinkley.Serialize()))},
                        {"cusum", json::binary_t(ToBytes(v.calibration_cusum.Serialize()))},
                        {"cusum_fed", v.cusum_fed_until_ms},
                        {"alerts", v.detector_alerts},
                        {"cal_streak", v.calibration_streak},
                        {"cal_status", VerdictName(v.calibration_verdict)},
                        {"perf_last", PerformanceJson(v, *options_)},
                        {"windows", WindowsJson(v.last_windows)},
                        {"history", HistoryJson(v.history)}});
  }
  return json{{"format", 2}, {"cooldown", cooldown_.Save()}, {"last_request", last_request_}, {"versions", versions}};
}

Status ModelMonitor::Load(const json& j) {
  try {
    if (j.at("format").get<int>() != 2) return Status::Corruption("unknown monitor state format");
    if (Status st = cooldown_.Load(j.at("cooldown")); !st.ok()) return st;
    last_request_ = j.at("last_request");
    versions_.clear();
    for (const auto& vj : j.at("versions")) {
      VersionState v;
      vj.at("name").get_to(v.name);
      vj.at("first").get_to(v.first_seen_ms);
      vj.at("last").get_to(v.last_seen_ms);
      vj.at("rs").get_to(v.reference_start_ms);
      vj.at("re").get_to(v.reference_end_ms);
      vj.at("next").get_to(v.next_evaluation_ms);
      vj.at("frozen").get_to(v.frozen);
      vj.at("tracks").get_to(v.tracks);
      for (size_t i = 0; i < v.tracks.size(); ++i) {
        v.track_index[TrackKey(v.tracks[i].signal, v.tracks[i].feature)] = i;
        v.tracks[i].rule = RuleFor(v.tracks[i]);
      }
      vj.at("dropped").get_to(v.dropped_features);
      vj.at("np").get_to(v.predictions);
      vj.at("nl").get_to(v.labels);
      for (const auto& pj : vj.at("early")) v.early.push_back(PredictionFromJson(model_, pj));
      for (const auto& e : vj.at("perf")) v.perf[e.at(0).get<int64_t>()] = e.at(1).get<Perf>();
      // The configured options, then the stored state.
      v.adwin = Adwin(options_->adwin);
      v.ddm = Ddm(options_->ddm);
      v.page_hinkley = PageHinkley(options_->page_hinkley);
      for (auto [key, detector] : {std::pair<const char*, int>{"adwin", 0}, {"ddm", 1}, {"ph", 2}}) {
        const auto& bin = vj.at(key).get_binary();
        std::string bytes(bin.begin(), bin.end());
        Status st = detector == 0 ? v.adwin.Deserialize(bytes)
                                  : detector == 1 ? v.ddm.Deserialize(bytes) : v.page_hinkley.Deserialize(bytes);
        if (!st.ok()) return st;
      }
      v.calibration_cusum = CalibrationCusum(options_->calibration_cusum);
      if (vj.contains("cusum")) {  // absent from state stored before the detector existed
        const auto& bin = vj.at("cusum").get_binary();
        if (Status st = v.calibration_cusum.Deserialize(std::string(bin.begin(), bin.end())); !st.ok()) return st;
        vj.at("cusum_fed").get_to(v.cusum_fed_until_ms);
      }
      vj.at("alerts").get_to(v.detector_alerts);
      vj.at("cal_streak").get_to(v.calibration_streak);
      v.calibration_verdict = ParseVerdictOrThrow(vj.at("cal_status").get<std::string>());
      if (!PerformanceFromJson(vj.at("perf_last"), &v.last_performance) ||
          !WindowsFromJson(vj.at("windows"), &v.last_windows))
        throw std::runtime_error("evaluation results");
      if (vj.contains("history")) v.history = HistoryFromJson(vj.at("history"));  // absent before it was kept
      versions_.emplace(v.name, std::move(v));
    }
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("monitor state of model '") + model_ + "': " + e.what());
  }
  return Status::Ok();
}

}  // namespace featmon::drift
