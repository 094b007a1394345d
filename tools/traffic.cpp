#include "tools/traffic.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cmath>

#include "featmon/v1/events.pb.h"

namespace featmon {

bool ParseDrift(const std::string& name, Drift* out) {
  static const std::pair<const char*, Drift> kNames[] = {{"none", Drift::kNone},
                                                        {"shift", Drift::kFeatureShift},
                                                        {"reshuffle", Drift::kCategoryReshuffle},
                                                        {"calibration", Drift::kCalibration},
                                                        {"score", Drift::kScoreShift}};
  for (auto [n, d] : kNames)
    if (name == n) {
      *out = d;
      return true;
    }
  return false;
}

TrafficGenerator::TrafficGenerator(TrafficOptions options)
    : options_(options), rng_(options.seed), feature_rng_(options.seed ^ 0x5eed5eedULL) {
  item_cdf_.resize(options_.items);
  double total = 0;
  for (uint64_t i = 0; i < options_.items; ++i) {
    total += 1.0 / std::pow(static_cast<double>(i + 1), options_.item_zipf_s);
    item_cdf_[i] = total;
  }
  for (double& c : item_cdf_) c /= total;
  user_propensity_.resize(options_.users);
  std::lognormal_distribution<float> spread(0.0f, 0.6f);
  for (float& p : user_propensity_) p = std::min(0.9f, static_cast<float>(options_.base_ctr) * spread(rng_));
}

uint64_t TrafficGenerator::ZipfItem() {
  double u = std::uniform_real_distribution<double>(0, 1)(rng_);
  return static_cast<uint64_t>(std::lower_bound(item_cdf_.begin(), item_cdf_.end(), u) - item_cdf_.begin());
}

Event TrafficGenerator::Next(int64_t ts_ms, GeneratedPrediction* prediction, bool* has_prediction) {
  ++produced_;
  if (has_prediction) *has_prediction = false;
  if (pending_click_) {
    pending_click_ = false;
    pending_.type = EventType::kClick;
    pending_.event_id = "e" + std::to_string(produced_);
    pending_.ts_ms = ts_ms;
    return pending_;
  }
  const uint64_t user = rng_() % options_.users;
  const uint64_t item = std::min<uint64_t>(ZipfItem(), options_.items - 1);
  Event e;
  e.type = EventType::kView;
  e.event_id = "e" + std::to_string(produced_);
  e.user_id = "u" + std::to_string(user);
  e.item_id = "i" + std::to_string(item);
  e.request_id = "r" + std::to_string(produced_);
  e.category = "c" + std::to_string(item % options_.categories);
  e.ts_ms = ts_ms;
  // Popular items are a little more clickable: the model has something to learn.
  const double p = user_propensity_[user] * (item < 100 ? 1.5 : 1.0);
  const bool drifting = options_.drift != Drift::kNone && ts_ms >= options_.drift_at_ms;
  const double true_p = drifting && options_.drift == Drift::kCalibration ? std::min(0.95, p * options_.drift_size) : p;
  if (std::uniform_real_distribution<double>(0, 1)(rng_) < true_p) {
    pending_click_ = true;
    pending_ = e;
  }
  if (prediction) {
    GeneratedPrediction& g = *prediction;
    g.request_id = e.request_id;
    g.user_id = e.user_id;
    g.item_id = e.item_id;
    g.model = options_.model;
    g.model_version = options_.model_version;
    g.ts_ms = ts_ms;
    g.score = p;  // calibrated: the click probability before any drift
    if (drifting && options_.drift == Drift::kScoreShift) g.score = std::min(0.99, p * options_.drift_size);
    std::normal_distribution<double> normal;
    static const char* kDevices[] = {"ios", "android", "web"};
    static const char* kCountries[] = {"us", "de", "fr", "br", "in", "jp", "gb", "es", "it", "mx"};
    std::discrete_distribution<int> device({50, 35, 15});
    int d = device(feature_rng_);
    if (drifting && options_.drift == Drift::kCategoryReshuffle) d = 2 - d;  // ios <-> web
    int country = std::min(9, static_cast<int>(std::floor(std::exp(std::uniform_real_distribution<double>(0, 2.3)(feature_rng_))) - 1));
    g.features = {{"user_ctr_7d", p * std::exp(0.2 * normal(feature_rng_))},
                  {"item_log_rank", std::log(static_cast<double>(item) + 1)},
                  {"position", static_cast<double>(1 + feature_rng_() % 10)},
                  {"dwell_prev_s", std::exp(2.0 + 0.5 * normal(feature_rng_))},
                  {"session_depth", static_cast<double>(std::poisson_distribution<int>(4)(feature_rng_))}};
    if (drifting && options_.drift == Drift::kFeatureShift) {
      for (auto& [name, value] : g.features) {
        if (name != options_.drift_feature) continue;
        // Shift by drift_size standard deviations of the feature's undrifted spread (measured once).
        if (name == "dwell_prev_s") value += options_.drift_size * 4.0;  // sd of exp(2 + 0.5 N) is about 4
        else if (name == "item_log_rank") value += options_.drift_size * 1.5;
        else value += options_.drift_size * std::max(1e-9, std::fabs(value));
      }
    }
    g.cat_features = {{"device", kDevices[d]}, {"country", kCountries[country]}};
    if (has_prediction) *has_prediction = true;
  }
  return e;
}

namespace {
// A message in one of the encodings featmond accepts; Confluent framing with
// the given schema id and message index [0].
std::string Frame(const google::protobuf::Message& m, WireFormat format, char schema_id) {
  std::string out;
  if (format == WireFormat::kJson) {
    (void)google::protobuf::util::MessageToJsonString(m, &out);
    return out;
  }
  if (format == WireFormat::kConfluent) out.assign({'\0', '\0', '\0', '\0', schema_id, '\0'});
  out += m.SerializeAsString();
  return out;
}

template <typename Proto>
std::string Encode(const Event& e, WireFormat format) {
  Proto m;
  m.set_event_id(e.event_id);
  m.set_user_id(e.user_id);
  m.set_item_id(e.item_id);
  m.set_ts_ms(e.ts_ms);
  m.set_request_id(e.request_id);
  m.set_category(e.category);
  if (e.value != 0) m.set_value(e.value);
  return Frame(m, format, 1);
}
}  // namespace

std::string EncodeEvent(const Event& e, WireFormat format) {
  return e.type == EventType::kView ? Encode<v1::ViewEvent>(e, format) : Encode<v1::ClickEvent>(e, format);
}

std::string EncodePrediction(const GeneratedPrediction& p, WireFormat format) {
  v1::PredictionEvent m;
  m.set_request_id(p.request_id);
  m.set_user_id(p.user_id);
  m.set_item_id(p.item_id);
  m.set_model(p.model);
  m.set_model_version(p.model_version);
  m.set_score(p.score);
  m.set_ts_ms(p.ts_ms);
  for (const auto& [k, v] : p.features) (*m.mutable_features())[k] = v;
  for (const auto& [k, v] : p.cat_features) (*m.mutable_cat_features())[k] = v;
  return Frame(m, format, 2);
}

}  // namespace featmon
