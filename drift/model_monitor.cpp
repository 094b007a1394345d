#include "drift/model_monitor.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <unordered_map>

#include "drift/statistics.h"

namespace featmon::drift {
namespace {

using json = nlohmann::json;
constexpr int64_t kWeekMs = 7LL * 24 * 3'600'000;
constexpr int kAucBins = 256;        // score histogram per label for ROC AUC
constexpr double kScoreClamp = 1e-7; // log loss of a 0 or 1 score is finite

int64_t FloorTo(int64_t t, int64_t period) {
  int64_t q = t / period;
  if (t % period != 0 && t < 0) --q;
  return q * period;
}

// Bulky numeric arrays are stored as one msgpack binary each (raw
// little-endian doubles), not as thousands of JSON numbers: the model state
// is written at every commit.
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

// A histogram over frozen bins. Numeric histograms also keep each bin's sum
// of values (bin means for Wasserstein) and the sum of squares (the std).
struct Hist {
  std::vector<double> counts, sums;
  double sumsq = 0;
  double unseen = 0;  // categorical: values not in the reference at all
  double total() const { return std::accumulate(counts.begin(), counts.end(), 0.0); }
  void Add(const Hist& o) {
    if (counts.size() < o.counts.size()) counts.resize(o.counts.size());
    if (sums.size() < o.sums.size()) sums.resize(o.sums.size());
    for (size_t i = 0; i < o.counts.size(); ++i) counts[i] += o.counts[i];
    for (size_t i = 0; i < o.sums.size(); ++i) sums[i] += o.sums[i];
    sumsq += o.sumsq;
    unseen += o.unseen;
  }
};
void to_json(json& j, const Hist& h) { j = json{{"c", Blob(h.counts)}, {"s", Blob(h.sums)}, {"q", h.sumsq}, {"u", h.unseen}}; }
void from_json(const json& j, Hist& h) {
  h.counts = FromBlob<double>(j.at("c"));
  h.sums = FromBlob<double>(j.at("s"));
  j.at("q").get_to(h.sumsq);
  j.at("u").get_to(h.unseen);
}

struct Perf {
  double n = 0, clicks = 0, sum_score = 0, sum_logloss = 0;  // matured labels
  double predicted = 0, predicted_score = 0, attributed_clicks = 0;  // as predictions and clicks arrive
  std::vector<double> positive = std::vector<double>(kAucBins), negative = std::vector<double>(kAucBins);
  void Add(const Perf& o) {
    n += o.n, clicks += o.clicks, sum_score += o.sum_score, sum_logloss += o.sum_logloss;
    predicted += o.predicted, predicted_score += o.predicted_score, attributed_clicks += o.attributed_clicks;
    for (int i = 0; i < kAucBins; ++i) positive[i] += o.positive[i], negative[i] += o.negative[i];
  }
};
void to_json(json& j, const Perf& p) {
  j = json{{"n", p.n}, {"k", p.clicks}, {"s", p.sum_score}, {"l", p.sum_logloss}, {"pn", p.predicted},
           {"ps", p.predicted_score}, {"ac", p.attributed_clicks}, {"pos", Blob(p.positive)}, {"neg", Blob(p.negative)}};
}
void from_json(const json& j, Perf& p) {
  j.at("n").get_to(p.n), j.at("k").get_to(p.clicks), j.at("s").get_to(p.sum_score), j.at("l").get_to(p.sum_logloss);
  j.at("pn").get_to(p.predicted), j.at("ps").get_to(p.predicted_score), j.at("ac").get_to(p.attributed_clicks);
  p.positive = FromBlob<double>(j.at("pos"));
  p.negative = FromBlob<double>(j.at("neg"));
  if (p.positive.size() != kAucBins || p.negative.size() != kAucBins) throw std::runtime_error("auc bins");
}

// Ranks by binned score; pairs within one bin count half (the error is at
// most the share of pairs that share a bin, 1/256 wide).
double RocAuc(const Perf& p) {
  double pos = 0, neg = 0;
  for (int i = 0; i < kAucBins; ++i) pos += p.positive[i], neg += p.negative[i];
  if (pos == 0 || neg == 0) return NAN;
  double negatives_below = 0, area = 0;
  for (int i = 0; i < kAucBins; ++i) {
    area += p.positive[i] * (negatives_below + 0.5 * p.negative[i]);
    negatives_below += p.negative[i];
  }
  return area / (pos * neg);
}

enum class TrackKind { kNumeric, kCategorical };

StatisticValues NoValues() {
  StatisticValues v;
  v.fill(NAN);
  return v;
}

// The outcome of a track's last evaluation; JSON only when a report asks.
struct TrackResult {
  bool evaluated = false;
  double reference_samples = 0, current_samples = 0;
  StatisticValues values = NoValues();
  double value = NAN;  // of the rule's statistic (adjusted p-value for p-value tests)
  bool alerting = false;
};
void to_json(json& j, const TrackResult& r) {
  j = json{{"e", r.evaluated}, {"r", r.reference_samples}, {"c", r.current_samples},
           {"v", std::vector<double>(r.values.begin(), r.values.end())}, {"x", r.value}, {"a", r.alerting}};
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
}

int RuleField(Statistic s) {
  switch (s) {
    case Statistic::kPsi: return kPsiField;
    case Statistic::kKs: return kKsPValueField;
    case Statistic::kJensenShannon: return kJensenShannonField;
    case Statistic::kWasserstein: return kWassersteinField;
    case Statistic::kHellinger: return kHellingerField;
    case Statistic::kChiSquared: return kChi2PValueField;
    case Statistic::kLInfinity: return kLInfinityField;
  }
  return kPsiField;
}

struct Track {
  std::string signal, feature;
  TrackKind kind = TrackKind::kNumeric;
  FeatureRule rule;
  // Reference phase (first_window): a bottom-k sample by hash, or counts.
  std::vector<std::pair<uint64_t, double>> sample;  // max-heap on the hash
  std::map<std::string, double> category_counts;
  // Frozen bins.
  bool frozen = false;
  std::vector<double> edges;
  std::vector<std::string> categories;
  std::unordered_map<std::string, int> category_index;
  std::set<std::string> seen;  // reference values, for the unseen share
  Hist reference;              // frozen reference (first_window, profile)
  bool reference_ready = false;
  std::map<int64_t, Hist> tiles;
  int streak = 0;
  std::string status = "no_verdict";
  TrackResult last;  // the last evaluation, for the report

  size_t bins() const { return kind == TrackKind::kNumeric ? edges.size() + 1 : categories.size() + 1; }
  Hist Empty() const {
    Hist h;
    h.counts.assign(bins(), 0.0);
    if (kind == TrackKind::kNumeric) h.sums.assign(bins(), 0.0);
    return h;
  }
  int NumericBin(double v) const {
    if (v < edges.front()) return 0;
    if (v > edges.back()) return static_cast<int>(edges.size());
    auto it = std::upper_bound(edges.begin(), edges.end(), v);
    int i = static_cast<int>(it - edges.begin());  // 1..edges.size()
    return std::min(i, static_cast<int>(edges.size()) - 1);
  }
  void AddNumeric(Hist& h, double v) const {
    int b = NumericBin(v);
    h.counts[b] += 1;
    h.sums[b] += v;
    h.sumsq += v * v;
  }
  void AddCategory(Hist& h, const std::string& v) const {
    auto it = category_index.find(v);
    h.counts[it == category_index.end() ? categories.size() : static_cast<size_t>(it->second)] += 1;
    if (!seen.count(v)) h.unseen += 1;
  }
};

void to_json(json& j, const Track& t) {
  std::vector<uint64_t> sample_hashes;
  std::vector<double> sample_values;
  for (auto& [h, v] : t.sample) sample_hashes.push_back(h), sample_values.push_back(v);
  json tiles_json = json::array();
  for (auto& [start, h] : t.tiles) tiles_json.push_back({start, h});
  j = json{{"signal", t.signal}, {"feature", t.feature}, {"numeric", t.kind == TrackKind::kNumeric},
           {"sample_h", Blob(sample_hashes)}, {"sample_v", Blob(sample_values)}, {"cc", t.category_counts}, {"frozen", t.frozen}, {"edges", t.edges},
           {"cats", t.categories}, {"seen", t.seen}, {"ref", t.reference}, {"ref_ready", t.reference_ready},
           {"tiles", tiles_json}, {"streak", t.streak}, {"status", t.status}, {"last", t.last}};
}
void from_json(const json& j, Track& t) {
  j.at("signal").get_to(t.signal);
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
  j.at("streak").get_to(t.streak);
  j.at("status").get_to(t.status);
  j.at("last").get_to(t.last);
}

// Equal-mass edges from sorted values: numpy's linear quantiles at i/bins,
// duplicates dropped (a feature with few distinct values gets fewer bins).
std::vector<double> QuantileEdges(std::vector<double> values, int bins) {
  std::sort(values.begin(), values.end());
  std::vector<double> edges;
  for (int i = 0; i <= bins; ++i) {
    double pos = static_cast<double>(values.size() - 1) * i / bins;
    size_t lo = static_cast<size_t>(std::floor(pos));
    size_t hi = std::min(lo + 1, values.size() - 1);
    double e = values[lo] + (values[hi] - values[lo]) * (pos - static_cast<double>(lo));
    if (edges.empty() || e > edges.back()) edges.push_back(e);
  }
  return edges;
}

double Std(const Hist& h) {
  double n = h.total();
  if (n <= 0) return 0;
  double mean = std::accumulate(h.sums.begin(), h.sums.end(), 0.0) / n;
  return std::sqrt(std::max(h.sumsq / n - mean * mean, 0.0));
}

void MeansInto(const Hist& h, std::vector<double>* m) {
  m->assign(h.counts.size(), 0.0);
  for (size_t i = 0; i < h.counts.size(); ++i)
    if (h.counts[i] > 0) (*m)[i] = h.sums[i] / h.counts[i];
}

std::string TrackKey(const std::string& signal, const std::string& feature) { return signal + '\x1f' + feature; }

}  // namespace

const char* StatisticFieldName(int field) {
  static const char* kNames[kStatisticFieldCount] = {
      "psi", "ks_statistic", "ks_p_value", "jensen_shannon", "wasserstein", "hellinger",
      "chi2_statistic", "chi2_p_value", "l_infinity", "unseen_share", "adjusted_p_value"};
  return field >= 0 && field < kStatisticFieldCount ? kNames[field] : "?";
}

const char* ReferenceKindName(ReferenceKind k) {
  switch (k) {
    case ReferenceKind::kFirstWindow: return "first_window";
    case ReferenceKind::kPreviousWindow: return "previous_window";
    case ReferenceKind::kSameHourLastWeek: return "same_hour_last_week";
    case ReferenceKind::kProfile: return "profile";
  }
  return "?";
}
std::optional<ReferenceKind> ParseReferenceKind(const std::string& name) {
  for (auto k : {ReferenceKind::kFirstWindow, ReferenceKind::kPreviousWindow, ReferenceKind::kSameHourLastWeek,
                 ReferenceKind::kProfile})
    if (name == ReferenceKindName(k)) return k;
  return std::nullopt;
}
const char* StatisticName(Statistic s) {
  switch (s) {
    case Statistic::kPsi: return "psi";
    case Statistic::kKs: return "ks_p_value";
    case Statistic::kJensenShannon: return "jensen_shannon";
    case Statistic::kWasserstein: return "wasserstein";
    case Statistic::kHellinger: return "hellinger";
    case Statistic::kChiSquared: return "chi2_p_value";
    case Statistic::kLInfinity: return "l_infinity";
  }
  return "?";
}
std::optional<Statistic> ParseStatistic(const std::string& name) {
  for (auto s : {Statistic::kPsi, Statistic::kKs, Statistic::kJensenShannon, Statistic::kWasserstein,
                 Statistic::kHellinger, Statistic::kChiSquared, Statistic::kLInfinity})
    if (name == StatisticName(s)) return s;
  if (name == "ks") return Statistic::kKs;
  if (name == "chi2") return Statistic::kChiSquared;
  return std::nullopt;
}
bool IsPValueTest(Statistic s) { return s == Statistic::kKs || s == Statistic::kChiSquared; }

json ToJson(const RetrainRequest& r) {
  json reasons = json::array();
  for (const auto& x : r.reasons)
    reasons.push_back({{"signal", x.signal}, {"feature", x.feature}, {"statistic", x.statistic}, {"value", x.value},
                       {"threshold", x.threshold}});
  return json{{"model", r.model},
              {"model_version", r.model_version},
              {"reasons", reasons},
              {"reference_window", {{"start_ms", r.reference_start_ms}, {"end_ms", r.reference_end_ms}}},
              {"current_window", {{"start_ms", r.current_start_ms}, {"end_ms", r.current_end_ms}}},
              {"event_time_ms", r.event_time_ms}};
}

// ---- one model ---------------------------------------------------------------

class ModelMonitor {
 public:
  ModelMonitor(std::string model, const MonitorOptions* options) : model_(std::move(model)), options_(options) {}

  struct Version {
    std::string name;
    int64_t first_seen_ms = 0, last_seen_ms = 0;
    int64_t reference_start_ms = 0, reference_end_ms = 0;
    int64_t next_evaluation_ms = 0;
    bool frozen = false;
    std::vector<Track> tracks;
    std::unordered_map<std::string, size_t> track_index;
    uint64_t dropped_features = 0;
    uint64_t predictions = 0, labels = 0;
    std::vector<Prediction> early;  // past the reference window, waiting for its bins
    std::map<int64_t, Perf> perf;   // by prediction tile
    Adwin adwin;
    Ddm ddm;
    PageHinkley page_hinkley;
    std::map<std::string, double> detector_alerts;  // fired since the last evaluation: detector -> loss mean
    int calibration_streak = 0;
    std::string calibration_status = "no_verdict";
    json last_performance = json::object();
    json last_windows = json::object();
  };

  bool Observe(const Prediction& p) {
    Version& v = GetVersion(p.model_version, p.ts_ms);
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
      return true;
    }
    Apply(v, p, tile);
    return true;
  }

  // Counted in the click's own tile, so "observed so far" at an evaluation is
  // the clicks before its boundary, whatever order the topics were read in.
  void OnClickAttributed(const std::string& version, int64_t click_ts_ms) {
    auto it = versions_.find(version);
    if (it == versions_.end()) return;
    it->second.perf[FloorTo(click_ts_ms, options_->evaluation_period_ms)].attributed_clicks += 1;
  }

  void OnLabel(const MaturedLabel& l) {
    auto it = versions_.find(l.model_version);
    if (it == versions_.end()) return;
    Version& v = it->second;
    ++v.labels;
    const int64_t tile = FloorTo(l.prediction_ts_ms, options_->evaluation_period_ms);
    double s = std::clamp(l.score, kScoreClamp, 1 - kScoreClamp);
    double loss = l.clicked ? -std::log(s) : -std::log(1 - s);
    Perf& p = v.perf[tile];
    p.n += 1;
    p.clicks += l.clicked ? 1 : 0;
    p.sum_score += l.score;
    p.sum_logloss += loss;
    int bin = std::min(kAucBins - 1, static_cast<int>(l.score * kAucBins));
    (l.clicked ? p.positive : p.negative)[bin] += 1;
    // Label drift: the CTR as a two-category distribution.
    Track& label = LabelTrack(v);
    label.AddCategory(TileOf(label, tile), l.clicked ? "1" : "0");
    // Loss detectors; only a rise in loss is a degradation.
    double before = v.adwin.mean();
    if (v.adwin.Update(std::min(loss, 10.0)) == DetectorState::kDrift && v.adwin.mean() > before)
      v.detector_alerts["adwin"] = v.adwin.mean();
    if (v.ddm.Update(std::min(loss, 1.0)) == DetectorState::kDrift) v.detector_alerts["ddm"] = v.ddm.error_rate();
    if (v.page_hinkley.Update(std::min(loss, 10.0)) == DetectorState::kDrift)
      v.detector_alerts["page_hinkley"] = options_->page_hinkley.threshold;
  }

  void AdvanceWatermark(int64_t watermark_ms, EvaluationOutput* out) {
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

  int64_t NextEvaluationMs() const {
    int64_t next = std::numeric_limits<int64_t>::max();
    for (const auto& [name, v] : versions_) next = std::min(next, v.next_evaluation_ms);
    return next;
  }

  json Report() const {
    json versions = json::object();
    for (const auto& [name, v] : versions_) versions[name] = VersionReport(v);
    return json{{"model", model_},
                {"reference_kind", ReferenceKindName(options_->reference)},
                {"window_ms", options_->window_ms},
                {"evaluation_period_ms", options_->evaluation_period_ms},
                {"cooldown_until_ms", cooldown_until_ms_},
                {"last_retrain_request", last_request_},
                {"versions", versions}};
  }

  json Save() const {
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
                          {"alerts", v.detector_alerts},
                          {"cal_streak", v.calibration_streak},
                          {"cal_status", v.calibration_status},
                          {"perf_last", v.last_performance},
                          {"windows", v.last_windows}});
    }
    return json{{"format", 2}, {"cooldown", cooldown_until_ms_}, {"last_request", last_request_}, {"versions", versions}};
  }

  Status Load(const json& j) {
    try {
      if (j.at("format").get<int>() != 2) return Status::Corruption("unknown monitor state format");
      cooldown_until_ms_ = j.at("cooldown").get<int64_t>();
      last_request_ = j.at("last_request");
      versions_.clear();
      for (const auto& vj : j.at("versions")) {
        Version v;
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
        for (const auto& pj : vj.at("early")) v.early.push_back(PredictionFromJson(pj));
        for (const auto& e : vj.at("perf")) v.perf[e.at(0).get<int64_t>()] = e.at(1).get<Perf>();
        for (auto [key, detector] : {std::pair<const char*, int>{"adwin", 0}, {"ddm", 1}, {"ph", 2}}) {
          const auto& bin = vj.at(key).get_binary();
          std::string bytes(bin.begin(), bin.end());
          Status st = detector == 0 ? v.adwin.Deserialize(bytes)
                                    : detector == 1 ? v.ddm.Deserialize(bytes) : v.page_hinkley.Deserialize(bytes);
          if (!st.ok()) return st;
        }
        vj.at("alerts").get_to(v.detector_alerts);
        vj.at("cal_streak").get_to(v.calibration_streak);
        vj.at("cal_status").get_to(v.calibration_status);
        v.last_performance = vj.at("perf_last");
        v.last_windows = vj.at("windows");
        versions_.emplace(v.name, std::move(v));
      }
    } catch (const std::exception& e) {
      return Status::Corruption(std::string("monitor state of model '") + model_ + "': " + e.what());
    }
    return Status::Ok();
  }

 private:
  static std::vector<uint8_t> ToBytes(const std::string& s) { return {s.begin(), s.end()}; }
  static json PredictionJson(const Prediction& p) {
    return json{{"s", p.score}, {"t", p.ts_ms}, {"h", p.sample_hash}, {"f", p.features}, {"c", p.cat_features},
                {"v", p.model_version}};
  }
  Prediction PredictionFromJson(const json& j) const {
    Prediction p;
    p.model = model_;
    j.at("v").get_to(p.model_version);
    j.at("s").get_to(p.score);
    j.at("t").get_to(p.ts_ms);
    j.at("h").get_to(p.sample_hash);
    j.at("f").get_to(p.features);
    j.at("c").get_to(p.cat_features);
    return p;
  }

  Version& GetVersion(const std::string& name, int64_t ts_ms) {
    auto it = versions_.find(name);
    if (it != versions_.end()) return it->second;
    if (versions_.size() >= options_->max_versions) {  // the least recently seen goes
      auto oldest = std::min_element(versions_.begin(), versions_.end(), [](const auto& a, const auto& b) {
        return a.second.last_seen_ms < b.second.last_seen_ms;
      });
      evicted_.push_back(oldest->first);
      versions_.erase(oldest);
    }
    Version v;
    v.name = name;
    v.first_seen_ms = v.last_seen_ms = ts_ms;
    v.reference_start_ms = FloorTo(ts_ms, options_->evaluation_period_ms);
    v.reference_end_ms = v.reference_start_ms + options_->window_ms;
    v.next_evaluation_ms = v.reference_start_ms + options_->evaluation_period_ms;
    v.adwin = Adwin(options_->adwin);
    v.ddm = Ddm(options_->ddm);
    v.page_hinkley = PageHinkley(options_->page_hinkley);
    if (options_->reference == ReferenceKind::kProfile) v.frozen = true;
    return versions_.emplace(name, std::move(v)).first->second;
  }

  // The tile's histogram, created empty on first use (the common case finds it).
  static Hist& TileOf(Track& t, int64_t tile) {
    auto it = t.tiles.find(tile);
    if (it != t.tiles.end()) return it->second;
    return t.tiles.emplace(tile, t.Empty()).first->second;
  }

  Track* GetTrack(Version& v, const std::string& signal, const std::string& feature, TrackKind kind) {
    // One reused buffer: this runs for every feature of every prediction.
    key_buffer_.assign(signal).push_back('\x1f');
    key_buffer_.append(feature);
    const std::string& key = key_buffer_;
    auto it = v.track_index.find(key);
    if (it != v.track_index.end()) return &v.tracks[it->second];
    if (signal == "data" && (options_->skip_features.count(feature) || CountData(v) >= options_->max_features)) {
      if (!options_->skip_features.count(feature)) ++v.dropped_features;
      return nullptr;
    }
    Track t;
    t.signal = signal;
    t.feature = feature;
    t.kind = kind;
    t.rule = RuleFor(t);
    if (options_->reference == ReferenceKind::kProfile) FreezeFromProfile(t);
    v.track_index[key] = v.tracks.size();
    v.tracks.push_back(std::move(t));
    return &v.tracks.back();
  }
  // Rules come from the options, not the stored state, so a changed config
  // applies to state saved before it.
  FeatureRule RuleFor(const Track& t) const {
    auto rule = options_->feature_rules.find(t.feature);
    if (rule != options_->feature_rules.end() && t.signal == "data") return rule->second;
    if (t.signal == "prediction") return options_->score_rule;
    if (t.signal == "label") return options_->label_rule;
    return t.kind == TrackKind::kNumeric ? options_->numeric_rule : options_->categorical_rule;
  }

  size_t CountData(const Version& v) const {
    return static_cast<size_t>(std::count_if(v.tracks.begin(), v.tracks.end(), [](const Track& t) { return t.signal == "data"; }));
  }

  Track& LabelTrack(Version& v) {
    Track* t = GetTrack(v, "label", "ctr", TrackKind::kCategorical);
    if (!t->frozen) {
      t->categories = {"0", "1"};
      t->category_index = {{"0", 0}, {"1", 1}};
      t->seen = {"0", "1"};
      t->frozen = true;
    }
    return *t;
  }

  void FreezeFromProfile(Track& t) {
    const json* spec = nullptr;
    if (options_->profile.contains("features") && options_->profile["features"].contains(t.feature))
      spec = &options_->profile["features"][t.feature];
    if (!spec) return;  // not in the profile: stays without verdict
    try {
      if (t.kind == TrackKind::kNumeric && spec->contains("edges")) {
        spec->at("edges").get_to(t.edges);
        if (t.edges.empty()) return;
        t.reference = t.Empty();
        auto counts = spec->at("counts").get<std::vector<double>>();
        if (counts.size() != t.bins()) return;
        t.reference.counts = counts;
        t.reference.sums = spec->value("sums", std::vector<double>(t.bins(), 0.0));
        double std_dev = spec->value("std", 1.0), mean = spec->value("mean", 0.0), n = t.reference.total();
        t.reference.sumsq = n * (std_dev * std_dev + mean * mean);
      } else if (t.kind == TrackKind::kCategorical && spec->contains("categories")) {
        spec->at("categories").get_to(t.categories);
        for (size_t i = 0; i < t.categories.size(); ++i) t.category_index[t.categories[i]] = static_cast<int>(i);
        t.seen = {t.categories.begin(), t.categories.end()};
        t.reference = t.Empty();
        auto counts = spec->at("counts").get<std::vector<double>>();
        if (counts.size() != t.bins()) return;
        t.reference.counts = counts;
      } else {
        return;
      }
      t.frozen = t.reference_ready = true;
    } catch (const std::exception&) {
      t.frozen = false;  // a malformed entry leaves the feature without verdict; config validation reports it
    }
  }

  void Apply(Version& v, const Prediction& p, int64_t tile) {
    auto numeric = [&](const std::string& signal, const std::string& name, double value) {
      if (!std::isfinite(value)) return;
      Track* t = GetTrack(v, signal, name, TrackKind::kNumeric);
      if (!t) return;
      if (!t->frozen) {
        if (options_->reference == ReferenceKind::kProfile) return;  // a feature the profile lacks
        SampleAdd(*t, p.sample_hash ^ std::hash<std::string>()(name), value);
        return;
      }
      t->AddNumeric(TileOf(*t, tile), value);
    };
    numeric("prediction", "score", p.score);
    for (const auto& [name, value] : p.features) numeric("data", name, value);
    for (const auto& [name, value] : p.cat_features) {
      Track* t = GetTrack(v, "data", name, TrackKind::kCategorical);
      if (!t) continue;
      if (!t->frozen) {
        if (options_->reference == ReferenceKind::kProfile) continue;
        auto it = t->category_counts.find(value);
        if (it != t->category_counts.end()) {
          it->second += 1;
        } else if (t->category_counts.size() < options_->max_reference_categories) {
          t->category_counts.emplace(value, 1.0);
        } else {
          t->category_counts["\x1f" "other"] += 1;
        }
        continue;
      }
      t->AddCategory(TileOf(*t, tile), value);
    }
  }

  void SampleAdd(Track& t, uint64_t hash, double value) {
    auto cmp = [](const auto& a, const auto& b) { return a.first < b.first; };
    if (t.sample.size() < options_->reference_sample) {
      t.sample.emplace_back(hash, value);
      std::push_heap(t.sample.begin(), t.sample.end(), cmp);
    } else if (hash < t.sample.front().first) {
      std::pop_heap(t.sample.begin(), t.sample.end(), cmp);
      t.sample.back() = {hash, value};
      std::push_heap(t.sample.begin(), t.sample.end(), cmp);
    }
  }

  // The reference window closed: freeze every track's bins and reference,
  // then bin the predictions that arrived past it.
  void Freeze(Version& v) {
    for (Track& t : v.tracks) {
      if (t.frozen) continue;
      if (t.kind == TrackKind::kNumeric) {
        if (t.sample.empty()) continue;
        std::vector<double> values;
        for (auto& [h, x] : t.sample) values.push_back(x);
        t.edges = QuantileEdges(values, options_->numeric_bins);
        t.reference = t.Empty();
        for (double x : values) t.AddNumeric(t.reference, x);
        t.sample.clear();
        t.sample.shrink_to_fit();
      } else {
        std::vector<std::pair<std::string, double>> ranked;
        for (auto& [value, count] : t.category_counts)
          if (value != "\x1f" "other") ranked.emplace_back(value, count);
        std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
        for (size_t i = 0; i < ranked.size() && static_cast<int>(i) < options_->top_k; ++i) {
          t.category_index[ranked[i].first] = static_cast<int>(t.categories.size());
          t.categories.push_back(ranked[i].first);
        }
        for (auto& [value, count] : ranked) t.seen.insert(value);
        t.reference = t.Empty();
        for (auto& [value, count] : t.category_counts) {
          auto it = t.category_index.find(value);
          t.reference.counts[it == t.category_index.end() ? t.categories.size() : static_cast<size_t>(it->second)] += count;
        }
        t.category_counts.clear();
      }
      t.frozen = t.reference_ready = true;
    }
    v.frozen = true;
    std::vector<Prediction> early;
    early.swap(v.early);
    for (const Prediction& p : early) Apply(v, p, FloorTo(p.ts_ms, options_->evaluation_period_ms));
  }

  Hist SumTiles(const Track& t, int64_t start, int64_t end) const {
    Hist h;
    SumTilesInto(t, start, end, &h);
    return h;
  }
  // Reuses h's buffers: an evaluation sums hundreds of windows.
  void SumTilesInto(const Track& t, int64_t start, int64_t end, Hist* h) const {
    h->counts.assign(t.bins(), 0.0);
    h->sums.assign(t.kind == TrackKind::kNumeric ? t.bins() : 0, 0.0);
    h->sumsq = h->unseen = 0;
    for (auto it = t.tiles.lower_bound(start); it != t.tiles.end() && it->first < end; ++it) h->Add(it->second);
  }
  Perf SumPerf(const Version& v, int64_t start, int64_t end) const {
    Perf p;
    for (auto it = v.perf.lower_bound(start); it != v.perf.end() && it->first < end; ++it) p.Add(it->second);
    return p;
  }

  std::pair<int64_t, int64_t> ReferenceWindow(const Version& v, int64_t current_end) const {
    const int64_t w = options_->window_ms;
    switch (options_->reference) {
      case ReferenceKind::kFirstWindow: return {v.reference_start_ms, v.reference_end_ms};
      case ReferenceKind::kPreviousWindow: return {current_end - 2 * w, current_end - w};
      case ReferenceKind::kSameHourLastWeek: return {current_end - kWeekMs - w, current_end - kWeekMs};
      case ReferenceKind::kProfile: return {0, 0};
    }
    return {0, 0};
  }

  // Every statistic of one track's kind, on the same bins.
  StatisticValues Statistics(const Track& t, const Hist& ref, const Hist& cur) {
    StatisticValues s = NoValues();
    if (t.kind == TrackKind::kNumeric) {
      s[kPsiField] = PopulationStabilityIndex(ref.counts, cur.counts);
      TestResult ks = KolmogorovSmirnov(ref.counts, cur.counts);
      s[kKsStatisticField] = ks.statistic;
      s[kKsPValueField] = ks.p_value;
      s[kJensenShannonField] = JensenShannonDistance(ref.counts, cur.counts);
      MeansInto(ref, &ref_means_);
      MeansInto(cur, &cur_means_);
      s[kWassersteinField] = WassersteinNormed(ref_means_, ref.counts, cur_means_, cur.counts, Std(ref));
      s[kHellingerField] = Hellinger(ref.counts, cur.counts);
    } else {
      TestResult chi = ChiSquared(ref.counts, cur.counts);
      s[kChi2StatisticField] = chi.statistic;
      s[kChi2PValueField] = chi.p_value;
      s[kJensenShannonField] = JensenShannonDistance(ref.counts, cur.counts);
      s[kLInfinityField] = LInfinity(ref.counts, cur.counts);
      double n = cur.total();
      s[kUnseenShareField] = n > 0 ? cur.unseen / n : 0.0;
    }
    return s;
  }

  void Evaluate(Version& v, int64_t boundary, EvaluationOutput* out) {
    const MonitorOptions& o = *options_;
    if (!v.frozen && o.reference != ReferenceKind::kProfile && boundary >= v.reference_end_ms) Freeze(v);
    const int64_t cur_start = boundary - o.window_ms;
    const int64_t matured_end = FloorTo(boundary - o.attribution_window_ms, o.evaluation_period_ms);
    const int64_t matured_start = matured_end - o.window_ms;
    auto [ref_start, ref_end] = ReferenceWindow(v, boundary);
    auto [label_ref_start, label_ref_end] = o.reference == ReferenceKind::kFirstWindow
                                                ? std::pair{v.reference_start_ms, v.reference_end_ms}
                                                : ReferenceWindow(v, matured_end);
    v.last_windows = {{"reference", {{"start_ms", ref_start}, {"end_ms", ref_end}}},
                      {"current", {{"start_ms", cur_start}, {"end_ms", boundary}}},
                      {"labels_current", {{"start_ms", matured_start}, {"end_ms", matured_end}}},
                      {"evaluated_at_ms", boundary}};

    std::vector<RetrainReason> reasons;
    // Statistics of every frozen track.
    std::vector<Track*> evaluated;
    std::vector<double> p_values;
    std::vector<Track*> p_tracks;
    for (Track& t : v.tracks) {
      if (!t.frozen) continue;
      const bool label = t.signal == "label";
      if (label) SumTilesInto(t, matured_start, matured_end, &cur_scratch_);
      else SumTilesInto(t, cur_start, boundary, &cur_scratch_);
      const Hist& cur = cur_scratch_;
      const Hist* ref_ptr = &t.reference;
      if (label && o.reference == ReferenceKind::kFirstWindow) {
        if (!t.reference_ready && matured_end >= v.reference_end_ms) {
          t.reference = SumTiles(t, label_ref_start, label_ref_end);
          t.reference_ready = true;
        }
        if (!t.reference_ready) {
          SumTilesInto(t, 0, 0, &ref_scratch_);  // empty: no verdict yet
          ref_ptr = &ref_scratch_;
        }
      } else if (label) {
        SumTilesInto(t, label_ref_start, label_ref_end, &ref_scratch_);
        ref_ptr = &ref_scratch_;
      } else if (o.reference != ReferenceKind::kFirstWindow && o.reference != ReferenceKind::kProfile) {
        SumTilesInto(t, ref_start, ref_end, &ref_scratch_);
        ref_ptr = &ref_scratch_;
      }
      const Hist& ref = *ref_ptr;
      TrackResult& r = t.last;
      r.evaluated = true;
      r.reference_samples = ref.total();
      r.current_samples = cur.total();
      r.values = r.reference_samples > 0 && r.current_samples > 0 ? Statistics(t, ref, cur) : NoValues();
      const double rule_value = r.values[RuleField(t.rule.statistic)];
      if (IsPValueTest(t.rule.statistic) && !std::isnan(rule_value) && r.reference_samples >= o.min_samples &&
          r.current_samples >= o.min_samples) {
        p_values.push_back(rule_value);
        p_tracks.push_back(&t);
      }
      evaluated.push_back(&t);
    }
    // Benjamini-Hochberg across the model's p-value tests.
    std::vector<double> adjusted = BenjaminiHochberg(p_values);
    for (size_t i = 0; i < p_tracks.size(); ++i) p_tracks[i]->last.values[kAdjustedPValueField] = adjusted[i];

    out->drift.reserve(out->drift.size() + evaluated.size());
    for (Track* tp : evaluated) {
      Track& t = *tp;
      TrackResult& r = t.last;
      const bool p_test = IsPValueTest(t.rule.statistic);
      r.value = p_test ? r.values[kAdjustedPValueField] : r.values[RuleField(t.rule.statistic)];
      const char* status;
      if (r.reference_samples < o.min_samples || r.current_samples < o.min_samples || std::isnan(r.value)) {
        status = "no_verdict";
      } else if (p_test) {
        status = r.value <= t.rule.alert ? "drift" : r.value <= t.rule.warn ? "warn" : "ok";
      } else {
        status = r.value >= t.rule.alert ? "drift" : r.value >= t.rule.warn ? "warn" : "ok";
      }
      const bool drifting = status[0] == 'd';
      t.streak = drifting ? t.streak + 1 : 0;
      if (t.status != status) t.status = status;
      r.alerting = t.streak >= o.consecutive_evaluations;
      out->drift.push_back({model_, v.name, t.signal, t.feature, r.values, r.alerting});
      const bool retrains = (t.signal == "data" && o.retrain_on_data_drift) ||
                            (t.signal == "prediction" && o.retrain_on_prediction_drift) ||
                            (t.signal == "label" && o.retrain_on_label_drift);
      if (r.alerting && retrains) reasons.push_back({t.signal, t.feature, StatisticName(t.rule.statistic), r.value, t.rule.alert});
    }

    // Performance on matured labels.
    Perf matured = SumPerf(v, matured_start, matured_end);
    Perf recent = SumPerf(v, cur_start, boundary);
    json perf = {{"window", {{"start_ms", matured_start}, {"end_ms", matured_end}}}, {"matured_labels", matured.n}};
    PerformanceGauge gauge{model_, v.name};
    if (matured.n > 0) {
      double ctr = matured.clicks / matured.n;
      gauge.logloss = matured.sum_logloss / matured.n;
      double entropy = (ctr <= 0 || ctr >= 1) ? NAN : -(ctr * std::log(ctr) + (1 - ctr) * std::log(1 - ctr));
      gauge.normalized_entropy = gauge.logloss / entropy;
      gauge.calibration = matured.clicks > 0 ? matured.sum_score / matured.clicks : NAN;
      gauge.auc = RocAuc(matured);
      perf["ctr"] = ctr;
    }
    perf["logloss"] = gauge.logloss;
    perf["normalized_entropy"] = gauge.normalized_entropy;
    perf["calibration_ratio"] = gauge.calibration;
    perf["auc"] = gauge.auc;
    perf["current_window"] = {{"predictions", recent.predicted},
                              {"expected_clicks", recent.predicted_score},
                              {"observed_clicks", recent.attributed_clicks}};
    std::string cal_status = "no_verdict";
    if (matured.n >= o.min_samples && std::isfinite(gauge.calibration))
      cal_status = (gauge.calibration < o.calibration_low || gauge.calibration > o.calibration_high) ? "drift" : "ok";
    v.calibration_streak = cal_status == "drift" ? v.calibration_streak + 1 : 0;
    v.calibration_status = cal_status;
    perf["calibration_status"] = cal_status;
    perf["calibration_range"] = {o.calibration_low, o.calibration_high};
    perf["consecutive_drifting"] = v.calibration_streak;
    if (v.calibration_streak >= o.consecutive_evaluations && o.retrain_on_calibration)
      reasons.push_back({"performance", "calibration", "calibration_ratio", gauge.calibration,
                         gauge.calibration < o.calibration_low ? o.calibration_low : o.calibration_high});
    perf["detectors"] = DetectorReport(v);
    for (auto& [detector, value] : v.detector_alerts)
      if (o.retrain_detectors.count(detector))
        reasons.push_back({"performance", detector, detector, value,
                           detector == "page_hinkley" ? o.page_hinkley.threshold : 0.0});
    perf["detector_alerts_at_last_evaluation"] = v.detector_alerts;
    v.detector_alerts.clear();
    v.last_performance = perf;
    out->performance.push_back(gauge);

    if (!reasons.empty()) {
      if (boundary < cooldown_until_ms_) {
        v.last_windows["retrain_suppressed_by_cooldown"] = true;
      } else {
        RetrainRequest r{model_, v.name, reasons, ref_start, ref_end, cur_start, boundary, boundary};
        cooldown_until_ms_ = boundary + o.cooldown_ms;
        last_request_ = ToJson(r);
        out->retrain_requests.push_back(std::move(r));
      }
    }
    Prune(v, boundary);
  }

  json DetectorReport(const Version& v) const {
    return {{"adwin", {{"width", v.adwin.width()}, {"mean_loss", v.adwin.mean()}, {"drifts", v.adwin.drifts()}}},
            {"ddm", {{"error_rate", v.ddm.error_rate()}, {"drifts", v.ddm.drifts()}}},
            {"page_hinkley", {{"statistic", v.page_hinkley.statistic()}, {"drifts", v.page_hinkley.drifts()}}}};
  }

  // Drops tiles no window can read any more.
  void Prune(Version& v, int64_t boundary) {
    const MonitorOptions& o = *options_;
    int64_t keep = o.window_ms + o.attribution_window_ms + o.evaluation_period_ms;
    if (o.reference == ReferenceKind::kPreviousWindow) keep += o.window_ms;
    if (o.reference == ReferenceKind::kSameHourLastWeek) keep += kWeekMs;
    int64_t oldest = boundary - keep;
    if (o.reference != ReferenceKind::kProfile && !v.frozen) oldest = std::min(oldest, v.reference_start_ms);
    for (Track& t : v.tracks) {
      // The label track keeps the reference window until its labels mature.
      int64_t track_oldest = (t.signal == "label" && !t.reference_ready) ? std::min(oldest, v.reference_start_ms) : oldest;
      t.tiles.erase(t.tiles.begin(), t.tiles.lower_bound(track_oldest));
    }
    v.perf.erase(v.perf.begin(), v.perf.lower_bound(oldest));
  }

  json TrackReport(const Track& t) const {
    json entry = {{"signal", t.signal}, {"feature", t.feature}, {"status", t.status}};
    if (!t.last.evaluated) return entry;
    const TrackResult& r = t.last;
    json stats = json::object();
    for (int i = 0; i < kStatisticFieldCount; ++i)
      if (!std::isnan(r.values[i])) stats[StatisticFieldName(i)] = r.values[i];
    entry["kind"] = t.kind == TrackKind::kNumeric ? "numeric" : "categorical";
    entry["bins"] = t.bins();
    entry["reference_samples"] = r.reference_samples;
    entry["current_samples"] = r.current_samples;
    entry["statistics"] = stats;
    entry["rule"] = {{"statistic", StatisticName(t.rule.statistic)}, {"warn", t.rule.warn}, {"alert", t.rule.alert}};
    entry["value"] = r.value;
    entry["consecutive_drifting"] = t.streak;
    entry["alerting"] = r.alerting;
    return entry;
  }

  json VersionReport(const Version& v) const {
    json features = json::array();
    json prediction = json::object(), label = json::object();
    for (const Track& t : v.tracks) {
      json entry = TrackReport(t);
      if (t.signal == "prediction") prediction = entry;
      else if (t.signal == "label") label = entry;
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
                {"windows", v.last_windows},
                {"features", features},
                {"prediction_drift", prediction},
                {"label_drift", label},
                {"performance", v.last_performance},
                {"detectors", DetectorReport(v)}};
  }

 public:
  std::vector<std::string> TakeEvicted() { return std::exchange(evicted_, {}); }

 private:
  std::string model_;
  const MonitorOptions* options_;
  Hist cur_scratch_, ref_scratch_;  // reused by every track of an evaluation
  std::string key_buffer_;
  std::vector<double> ref_means_, cur_means_;
  std::map<std::string, Version> versions_;
  std::vector<std::string> evicted_;
  int64_t cooldown_until_ms_ = 0;
  json last_request_;
};

// ---- all models --------------------------------------------------------------

Monitor::Monitor(MonitorOptions defaults, std::map<std::string, MonitorOptions> per_model, size_t max_models)
    : defaults_(std::move(defaults)), per_model_(std::move(per_model)), max_models_(max_models) {}
Monitor::~Monitor() = default;

const MonitorOptions& Monitor::OptionsFor(const std::string& model) const {
  auto it = per_model_.find(model);
  return it != per_model_.end() ? it->second : defaults_;
}

ModelMonitor* Monitor::Find(const std::string& model, bool create) {
  auto it = models_.find(model);
  if (it != models_.end()) return it->second.get();
  if (!create) return nullptr;
  if (models_.size() >= max_models_) {
    ++dropped_models_;
    return nullptr;
  }
  return models_.emplace(model, std::make_unique<ModelMonitor>(model, &OptionsFor(model))).first->second.get();
}

bool Monitor::Observe(const Prediction& p) {
  ModelMonitor* m = Find(p.model, true);
  if (!m) return false;
  changed_.insert(p.model);
  return m->Observe(p);
}

void Monitor::OnClickAttributed(const std::string& model, const std::string& version, int64_t click_ts_ms) {
  if (ModelMonitor* m = Find(model, false)) {
    m->OnClickAttributed(version, click_ts_ms);
    changed_.insert(model);
  }
}

void Monitor::OnLabel(const MaturedLabel& label) {
  if (ModelMonitor* m = Find(label.model, false)) {
    m->OnLabel(label);
    changed_.insert(label.model);
  }
}

EvaluationOutput Monitor::AdvanceWatermark(int64_t watermark_ms) {
  EvaluationOutput out;
  for (auto& [name, m] : models_) {
    m->AdvanceWatermark(watermark_ms, &out);
    for (auto& version : m->TakeEvicted()) out.removed_versions.emplace_back(name, version);
  }
  changed_.insert(out.changed_models.begin(), out.changed_models.end());
  return out;
}

int64_t Monitor::NextEvaluationMs() const {
  int64_t next = std::numeric_limits<int64_t>::max();
  for (const auto& [name, m] : models_) next = std::min(next, m->NextEvaluationMs());
  return next;
}

std::vector<std::string> Monitor::Models() const {
  std::vector<std::string> names;
  for (auto& [name, m] : models_) names.push_back(name);
  return names;
}

std::optional<nlohmann::json> Monitor::Report(const std::string& model) const {
  auto it = models_.find(model);
  if (it == models_.end()) return std::nullopt;
  return it->second->Report();
}

nlohmann::json Monitor::ReportAll() const {
  json models = json::array();
  for (auto& [name, m] : models_) models.push_back(m->Report());
  return json{{"models", models}};
}

std::string Monitor::SerializeModel(const std::string& model) const {
  auto it = models_.find(model);
  if (it == models_.end()) return {};
  std::vector<uint8_t> bytes = json::to_msgpack(it->second->Save());
  return {bytes.begin(), bytes.end()};
}

Status Monitor::RestoreModel(const std::string& model, std::string_view bytes) {
  json j = json::from_msgpack(bytes.begin(), bytes.end(), true, false);
  if (j.is_discarded()) return Status::Corruption("monitor state of model '" + model + "' does not decode");
  auto m = std::make_unique<ModelMonitor>(model, &OptionsFor(model));
  Status st = m->Load(j);
  if (!st.ok()) return st;
  models_[model] = std::move(m);
  return Status::Ok();
}

std::set<std::string> Monitor::TakeChangedModels() { return std::exchange(changed_, {}); }

}  // namespace featmon::drift
