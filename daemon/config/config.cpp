#include "daemon/config/config.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

#include "common/duration.h"

namespace featmon {

namespace {

// Walks the YAML tree remembering the key path for messages, and insists that
// every key in a mapping is one it knows.
class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  Status Error(const std::string& path, const std::string& what) const {
    return Status::InvalidArgument(source_ + ": " + path + ": " + what);
  }
  Status CheckKeys(const YAML::Node& node, const std::string& path, const std::set<std::string>& known) const {
    if (!node.IsMap()) return Error(path, "expected a mapping");
    for (const auto& kv : node) {
      const std::string key = kv.first.as<std::string>();
      if (!known.count(key)) {
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        return Error(path.empty() ? key : path + "." + key, "unknown key (known: " + list + ")");
      }
    }
    return Status::Ok();
  }
  Status String(const YAML::Node& node, const std::string& path, std::string* out) const {
    if (!node) return Status::Ok();
    if (!node.IsScalar()) return Error(path, "expected a string");
    *out = node.as<std::string>();
    return Status::Ok();
  }
  template <typename Int>
  Status Integer(const YAML::Node& node, const std::string& path, Int* out, int64_t min, int64_t max) const {
    if (!node) return Status::Ok();
    if (!node.IsScalar()) return Error(path, "expected an integer");
    const std::string s = node.as<std::string>();
    int64_t v;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) return Error(path, "'" + s + "' is not an integer");
    if (v < min || v > max)
      return Error(path, std::to_string(v) + " is out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    *out = static_cast<Int>(v);
    return Status::Ok();
  }
  Status Duration(const YAML::Node& node, const std::string& path, int64_t* out) const {
    if (!node) return Status::Ok();
    if (!node.IsScalar()) return Error(path, "expected a duration such as 5m");
    auto d = ParseDurationMs(node.as<std::string>());
    if (!d.ok()) return Error(path, d.status().message());
    *out = *d;
    return Status::Ok();
  }
  Status Bytes(const YAML::Node& node, const std::string& path, size_t* out) const {
    if (!node) return Status::Ok();
    const std::string s = node.as<std::string>();
    uint64_t v;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    std::string unit(end, s.data() + s.size());
    const std::map<std::string, uint64_t> units = {{"", 1}, {"B", 1}, {"KB", 1ull << 10}, {"MB", 1ull << 20}, {"GB", 1ull << 30}};
    if (ec != std::errc() || !units.count(unit)) return Error(path, "'" + s + "' is not a size (e.g. 256MB)");
    *out = v * units.at(unit);
    return Status::Ok();
  }

 private:
  std::string source_;
};

#define RETURN_IF_ERROR(expr)      \
  do {                             \
    Status _st = (expr);           \
    if (!_st.ok()) return _st;     \
  } while (0)

Status ReadFeature(const Reader& r, const YAML::Node& node, EntityKind entity, const std::string& path,
                   FeatureSpec* spec) {
  RETURN_IF_ERROR(r.CheckKeys(node, path, {"name", "sources", "aggregation", "field", "window", "tile", "n",
                                           "half_life", "numerator", "denominator"}));
  spec->entity = entity;
  RETURN_IF_ERROR(r.String(node["name"], path + ".name", &spec->name));
  if (spec->name.empty()) return r.Error(path + ".name", "required");
  std::string agg;
  RETURN_IF_ERROR(r.String(node["aggregation"], path + ".aggregation", &agg));
  static const std::map<std::string, Aggregation> kAggs = {
      {"count", Aggregation::kCount},
      {"sum", Aggregation::kSum},
      {"ratio", Aggregation::kRatio},
      {"last_n_distinct", Aggregation::kLastNDistinct},
      {"approx_distinct", Aggregation::kApproxDistinct},
      {"latest_timestamp", Aggregation::kLatestTimestamp},
      {"decayed_count", Aggregation::kDecayedCount}};
  if (!kAggs.count(agg))
    return r.Error(path + ".aggregation", "'" + agg + "' is not one of count, sum, ratio, last_n_distinct, approx_distinct, latest_timestamp, decayed_count");
  spec->aggregation = kAggs.at(agg);
  if (const YAML::Node sources = node["sources"]) {
    if (!sources.IsSequence()) return r.Error(path + ".sources", "expected a list such as [views, clicks]");
    for (size_t i = 0; i < sources.size(); ++i) {
      const std::string s = sources[i].as<std::string>();
      if (s == "views") spec->sources |= SourceBit(EventType::kView);
      else if (s == "clicks") spec->sources |= SourceBit(EventType::kClick);
      else return r.Error(path + ".sources[" + std::to_string(i) + "]", "'" + s + "' is not views or clicks");
    }
  }
  std::string field;
  RETURN_IF_ERROR(r.String(node["field"], path + ".field", &field));
  static const std::map<std::string, EventField> kFields = {
      {"", EventField::kNone},          {"user_id", EventField::kUserId},       {"item_id", EventField::kItemId},
      {"category", EventField::kCategory}, {"request_id", EventField::kRequestId}, {"value", EventField::kValue}};
  if (!kFields.count(field)) return r.Error(path + ".field", "'" + field + "' is not one of user_id, item_id, category, request_id, value");
  spec->field = kFields.at(field);
  RETURN_IF_ERROR(r.Duration(node["window"], path + ".window", &spec->window_ms));
  RETURN_IF_ERROR(r.Duration(node["tile"], path + ".tile", &spec->tile_ms));
  RETURN_IF_ERROR(r.Duration(node["half_life"], path + ".half_life", &spec->half_life_ms));
  RETURN_IF_ERROR(r.Integer(node["n"], path + ".n", &spec->n, 1, 1000));
  RETURN_IF_ERROR(r.String(node["numerator"], path + ".numerator", &spec->numerator));
  RETURN_IF_ERROR(r.String(node["denominator"], path + ".denominator", &spec->denominator));
  if (spec->aggregation == Aggregation::kRatio && (spec->numerator.empty() || spec->denominator.empty()))
    return r.Error(path, "ratio needs numerator and denominator");
  return Status::Ok();
}

Status ReadConfig(const Reader& r, const YAML::Node& root, Config* cfg) {
  if (!root || root.IsNull()) return Status::Ok();
  RETURN_IF_ERROR(r.CheckKeys(root, "", {"kafka", "ingest", "store", "http", "features"}));
  if (const YAML::Node k = root["kafka"]) {
    RETURN_IF_ERROR(r.CheckKeys(k, "kafka", {"brokers", "group_id", "topics", "dead_letter_topic", "embedded_partitions", "properties"}));
    RETURN_IF_ERROR(r.String(k["brokers"], "kafka.brokers", &cfg->kafka.brokers));
    RETURN_IF_ERROR(r.String(k["group_id"], "kafka.group_id", &cfg->kafka.group_id));
    RETURN_IF_ERROR(r.String(k["dead_letter_topic"], "kafka.dead_letter_topic", &cfg->kafka.dead_letter_topic));
    RETURN_IF_ERROR(r.Integer(k["embedded_partitions"], "kafka.embedded_partitions", &cfg->kafka.embedded_partitions, 1, 1024));
    if (const YAML::Node t = k["topics"]) {
      RETURN_IF_ERROR(r.CheckKeys(t, "kafka.topics", {"views", "clicks"}));
      RETURN_IF_ERROR(r.String(t["views"], "kafka.topics.views", &cfg->kafka.views_topic));
      RETURN_IF_ERROR(r.String(t["clicks"], "kafka.topics.clicks", &cfg->kafka.clicks_topic));
    }
    if (const YAML::Node p = k["properties"]) {
      if (!p.IsMap()) return r.Error("kafka.properties", "expected a mapping of librdkafka properties");
      for (const auto& kv : p) cfg->kafka.properties[kv.first.as<std::string>()] = kv.second.as<std::string>();
    }
  }
  if (const YAML::Node i = root["ingest"]) {
    RETURN_IF_ERROR(r.CheckKeys(i, "ingest", {"commit_interval", "max_future_skew", "max_id_bytes", "cache_max_entities", "entity_ttl_grace", "poll_batch", "workers"}));
    RETURN_IF_ERROR(r.Duration(i["commit_interval"], "ingest.commit_interval", &cfg->ingest.commit_interval_ms));
    RETURN_IF_ERROR(r.Duration(i["max_future_skew"], "ingest.max_future_skew", &cfg->ingest.max_future_skew_ms));
    RETURN_IF_ERROR(r.Integer(i["max_id_bytes"], "ingest.max_id_bytes", &cfg->ingest.max_id_bytes, 1, 65536));
    RETURN_IF_ERROR(r.Integer(i["cache_max_entities"], "ingest.cache_max_entities", &cfg->ingest.cache_max_entities, 1000, 1'000'000'000));
    RETURN_IF_ERROR(r.Duration(i["entity_ttl_grace"], "ingest.entity_ttl_grace", &cfg->ingest.entity_ttl_grace_ms));
    RETURN_IF_ERROR(r.Integer(i["poll_batch"], "ingest.poll_batch", &cfg->ingest.poll_batch, 1, 1'000'000));
    RETURN_IF_ERROR(r.Integer(i["workers"], "ingest.workers", &cfg->ingest.workers, 1, 64));
    if (cfg->ingest.commit_interval_ms < 1) return r.Error("ingest.commit_interval", "must be at least 1ms");
  }
  if (const YAML::Node s = root["store"]) {
    RETURN_IF_ERROR(r.CheckKeys(s, "store", {"data_dir", "block_cache"}));
    RETURN_IF_ERROR(r.String(s["data_dir"], "store.data_dir", &cfg->store.data_dir));
    RETURN_IF_ERROR(r.Bytes(s["block_cache"], "store.block_cache", &cfg->store.block_cache_bytes));
  }
  if (const YAML::Node h = root["http"]) {
    RETURN_IF_ERROR(r.CheckKeys(h, "http", {"listen", "threads"}));
    RETURN_IF_ERROR(r.String(h["listen"], "http.listen", &cfg->http.listen));
    RETURN_IF_ERROR(r.Integer(h["threads"], "http.threads", &cfg->http.threads, 1, 64));
    std::string host;
    uint16_t port;
    Status st = ParseHostPort(cfg->http.listen, &host, &port);
    if (!st.ok()) return r.Error("http.listen", st.message());
  }
  if (const YAML::Node f = root["features"]) {
    RETURN_IF_ERROR(r.CheckKeys(f, "features", {"user", "item"}));
    cfg->features.clear();
    for (auto [key, kind] : {std::pair{"user", EntityKind::kUser}, {"item", EntityKind::kItem}}) {
      const YAML::Node list = f[key];
      if (!list) continue;
      if (!list.IsSequence()) return r.Error(std::string("features.") + key, "expected a list of features");
      for (size_t i = 0; i < list.size(); ++i) {
        FeatureSpec spec;
        RETURN_IF_ERROR(ReadFeature(r, list[i], kind, std::string("features.") + key + "[" + std::to_string(i) + "]", &spec));
        cfg->features.push_back(std::move(spec));
      }
    }
  }
  auto compiled = FeatureSet::Compile(cfg->features);
  if (!compiled.ok()) return r.Error("features", compiled.status().message());
  return Status::Ok();
}

}  // namespace

Status ParseHostPort(const std::string& text, std::string* host, uint16_t* port) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return Status::InvalidArgument("'" + text + "' is not HOST:PORT");
  *host = text.substr(0, colon);
  if (host->size() > 2 && host->front() == '[' && host->back() == ']') *host = host->substr(1, host->size() - 2);
  int value;
  const std::string p = text.substr(colon + 1);
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (ec != std::errc() || end != p.data() + p.size() || value < 0 || value > 65535)
    return Status::InvalidArgument("'" + p + "' is not a port number");
  *port = static_cast<uint16_t>(value);
  return Status::Ok();
}

Result<Config> LoadConfigString(const std::string& yaml, const std::string& source_name) {
  Config cfg;
  cfg.source = source_name;
  Reader reader(source_name);
  // The default features apply unless the file defines its own.
  if (source_name != "<embedded default>") {
    auto defaults = LoadDefaultConfig();
    if (!defaults.ok()) return defaults.status();
    cfg.features = defaults->features;
  }
  try {
    YAML::Node root = YAML::Load(yaml);
    Status st = ReadConfig(reader, root, &cfg);
    if (!st.ok()) return st;
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(source_name + ": line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  return cfg;
}

Result<Config> LoadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument(path + ": cannot be read");
  std::stringstream buf;
  buf << in.rdbuf();
  return LoadConfigString(buf.str(), path);
}

}  // namespace featmon
