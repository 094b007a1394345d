#include "tools/traffic.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cmath>

#include "featmon/v1/events.pb.h"

namespace featmon {

TrafficGenerator::TrafficGenerator(TrafficOptions options) : options_(options), rng_(options.seed) {
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

Event TrafficGenerator::Next(int64_t ts_ms) {
  ++produced_;
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
  if (std::uniform_real_distribution<double>(0, 1)(rng_) < p) {
    pending_click_ = true;
    pending_ = e;
  }
  return e;
}

namespace {
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
  if (format == WireFormat::kJson) {
    std::string out;
    (void)google::protobuf::util::MessageToJsonString(m, &out);
    return out;
  }
  std::string out;
  if (format == WireFormat::kConfluent) out.assign("\0\0\0\0\1\0", 6);  // magic, schema id 1, message index [0]
  out += m.SerializeAsString();
  return out;
}
}  // namespace

std::string EncodeEvent(const Event& e, WireFormat format) {
  return e.type == EventType::kView ? Encode<v1::ViewEvent>(e, format) : Encode<v1::ClickEvent>(e, format);
}

}  // namespace featmon
