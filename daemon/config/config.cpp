#include "daemon/config/config.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <cmath>
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
  Status Double(const YAML::Node& node, const std::string& path, double* out) const {
    if (!node) return Status::Ok();
    if (!node.IsScalar()) return Error(path, "expected a number");
    const std::string s = node.as<std::string>();
    double v;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return Error(path, "'" + s + "' is not a number");
    *out = v;
    return Status::Ok();
  }
  Status Bool(const YAML::Node& node, const std::string& path, bool* out) const {
    if (!node) return Status::Ok();
    const std::string s = node.IsScalar() ? node.as<std::string>() : "";
    if (s == "true") *out = true;
    else if (s == "false") *out = false;
    else return Error(path, "expected true or false");
    return Status::Ok();
  }
  Status StringList(const YAML::Node& node, const std::string& path, std::vector<std::string>* out) const {
    if (!node) return Status::Ok();
    if (!node.IsSequence()) return Error(path, "expected a list");
    out->clear();
    for (size_t i = 0; i < node.size(); ++i) {
      if (!node[i].IsScalar()) return Error(path + "[" + std::to_string(i) + "]", "expected a string");
      out->push_back(node[i].as<std::string>());
    }
    return Status::Ok();
  }
  Status Bytes(const YAML::Node& node, const std::string& path, size_t* out) const {
    if (!node) return Status::Ok();
    const std::string s = node.as<std::string>();
    uint64_t v = 0;
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

Status ReadRule(const Reader& r, const YAML::Node& node, const std::string& path, drift::FeatureRule* rule) {
  if (!node) return Status::Ok();
  RETURN_IF_ERROR(r.CheckKeys(node, path, {"statistic", "warn", "alert"}));
  if (const YAML::Node s = node["statistic"]) {
    auto stat = drift::ParseStatistic(s.as<std::string>());
    if (!stat)
      return r.Error(path + ".statistic", "'" + s.as<std::string>() +
                                              "' is not one of psi, ks, jensen_shannon, wasserstein, hellinger, chi2, l_infinity");
    rule->statistic = *stat;
  }
  RETURN_IF_ERROR(r.Double(node["warn"], path + ".warn", &rule->warn));
  RETURN_IF_ERROR(r.Double(node["alert"], path + ".alert", &rule->alert));
  const bool p_value = drift::IsPValueTest(rule->statistic);
  if (p_value ? rule->alert > rule->warn : rule->alert < rule->warn)
    return r.Error(path, p_value ? "a p-value test needs alert <= warn" : "needs warn <= alert");
  return Status::Ok();
}

// One model's monitoring options (monitoring.defaults or monitoring.models.<name>),
// applied on top of what `o` already holds.
Status ReadMonitorOptions(const Reader& r, const YAML::Node& node, const std::string& path,
                          const std::string& config_dir, drift::MonitorOptions* o) {
  RETURN_IF_ERROR(r.CheckKeys(node, path, {"reference", "profile", "window", "evaluation_period", "attribution_window",
                                           "cooldown", "version_ttl", "min_samples", "consecutive_evaluations",
                                           "numeric_bins", "top_k", "max_features", "max_versions", "numeric",
                                           "categorical", "score", "label", "features", "skip_features", "calibration",
                                           "retrain_on", "detectors"}));
  if (const YAML::Node ref = node["reference"]) {
    auto kind = drift::ParseReferenceKind(ref.as<std::string>());
    if (!kind)
      return r.Error(path + ".reference", "'" + ref.as<std::string>() +
                                              "' is not one of first_window, previous_window, same_hour_last_week, profile");
    o->reference = *kind;
  }
  if (const YAML::Node profile = node["profile"]) {
    std::string file = profile.as<std::string>();
    if (!file.empty() && file[0] != '/' && !config_dir.empty()) file = config_dir + "/" + file;
    std::ifstream in(file);
    if (!in) return r.Error(path + ".profile", "cannot read '" + file + "'");
    nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.contains("features") || !j["features"].is_object())
      return r.Error(path + ".profile", "'" + file + "' is not a profile (JSON with a \"features\" object)");
    o->profile = std::move(j);
  }
  if (o->reference == drift::ReferenceKind::kProfile && o->profile.is_null())
    return r.Error(path + ".reference", "profile needs a profile file");
  RETURN_IF_ERROR(r.Duration(node["window"], path + ".window", &o->window_ms));
  RETURN_IF_ERROR(r.Duration(node["evaluation_period"], path + ".evaluation_period", &o->evaluation_period_ms));
  RETURN_IF_ERROR(r.Duration(node["attribution_window"], path + ".attribution_window", &o->attribution_window_ms));
  RETURN_IF_ERROR(r.Duration(node["cooldown"], path + ".cooldown", &o->cooldown_ms));
  RETURN_IF_ERROR(r.Duration(node["version_ttl"], path + ".version_ttl", &o->version_ttl_ms));
  if (o->evaluation_period_ms < 1000) return r.Error(path + ".evaluation_period", "must be at least 1s");
  if (o->window_ms < o->evaluation_period_ms || o->window_ms % o->evaluation_period_ms != 0)
    return r.Error(path + ".window", "must be a multiple of evaluation_period");
  RETURN_IF_ERROR(r.Integer(node["min_samples"], path + ".min_samples", &o->min_samples, 1, 1'000'000'000));
  RETURN_IF_ERROR(r.Integer(node["consecutive_evaluations"], path + ".consecutive_evaluations", &o->consecutive_evaluations, 1, 1000));
  RETURN_IF_ERROR(r.Integer(node["numeric_bins"], path + ".numeric_bins", &o->numeric_bins, 2, 1000));
  RETURN_IF_ERROR(r.Integer(node["top_k"], path + ".top_k", &o->top_k, 1, 10000));
  RETURN_IF_ERROR(r.Integer(node["max_features"], path + ".max_features", &o->max_features, 1, 100000));
  RETURN_IF_ERROR(r.Integer(node["max_versions"], path + ".max_versions", &o->max_versions, 1, 1000));
  RETURN_IF_ERROR(ReadRule(r, node["numeric"], path + ".numeric", &o->numeric_rule));
  RETURN_IF_ERROR(ReadRule(r, node["categorical"], path + ".categorical", &o->categorical_rule));
  RETURN_IF_ERROR(ReadRule(r, node["score"], path + ".score", &o->score_rule));
  RETURN_IF_ERROR(ReadRule(r, node["label"], path + ".label", &o->label_rule));
  if (const YAML::Node f = node["features"]) {
    if (!f.IsMap()) return r.Error(path + ".features", "expected a mapping of feature name to rule");
    for (const auto& kv : f) {
      const std::string name = kv.first.as<std::string>();
      drift::FeatureRule rule = o->numeric_rule;
      if (auto it = o->feature_rules.find(name); it != o->feature_rules.end()) rule = it->second;
      RETURN_IF_ERROR(ReadRule(r, kv.second, path + ".features." + name, &rule));
      o->feature_rules[name] = rule;
    }
  }
  if (const YAML::Node skip = node["skip_features"]) {
    std::vector<std::string> names;
    RETURN_IF_ERROR(r.StringList(skip, path + ".skip_features", &names));
    o->skip_features = {names.begin(), names.end()};
  }
  if (const YAML::Node c = node["calibration"]) {
    if (!c.IsSequence() || c.size() != 2) return r.Error(path + ".calibration", "expected [low, high], e.g. [0.8, 1.25]");
    RETURN_IF_ERROR(r.Double(c[0], path + ".calibration[0]", &o->calibration_low));
    RETURN_IF_ERROR(r.Double(c[1], path + ".calibration[1]", &o->calibration_high));
    if (!(o->calibration_low < 1 && 1 < o->calibration_high)) return r.Error(path + ".calibration", "needs low < 1 < high");
  }
  if (const YAML::Node on = node["retrain_on"]) {
    std::vector<std::string> signals;
    RETURN_IF_ERROR(r.StringList(on, path + ".retrain_on", &signals));
    o->retrain_on_data_drift = o->retrain_on_prediction_drift = o->retrain_on_label_drift = o->retrain_on_calibration = false;
    o->retrain_detectors.clear();
    for (size_t i = 0; i < signals.size(); ++i) {
      const std::string& s = signals[i];
      if (s == "data") o->retrain_on_data_drift = true;
      else if (s == "prediction") o->retrain_on_prediction_drift = true;
      else if (s == "label") o->retrain_on_label_drift = true;
      else if (s == "calibration") o->retrain_on_calibration = true;
      else if (s == "adwin" || s == "ddm" || s == "page_hinkley") o->retrain_detectors.insert(s);
      else return r.Error(path + ".retrain_on[" + std::to_string(i) + "]",
                          "'" + s + "' is not one of data, prediction, label, calibration, adwin, ddm, page_hinkley");
    }
  }
  if (const YAML::Node d = node["detectors"]) {
    RETURN_IF_ERROR(r.CheckKeys(d, path + ".detectors", {"adwin", "ddm", "page_hinkley"}));
    if (const YAML::Node a = d["adwin"]) {
      RETURN_IF_ERROR(r.CheckKeys(a, path + ".detectors.adwin", {"delta", "clock"}));
      RETURN_IF_ERROR(r.Double(a["delta"], path + ".detectors.adwin.delta", &o->adwin.delta));
      RETURN_IF_ERROR(r.Integer(a["clock"], path + ".detectors.adwin.clock", &o->adwin.clock, 1, 1'000'000));
      if (!(o->adwin.delta > 0 && o->adwin.delta < 1)) return r.Error(path + ".detectors.adwin.delta", "must be in (0, 1)");
    }
    if (const YAML::Node m = d["ddm"]) {
      RETURN_IF_ERROR(r.CheckKeys(m, path + ".detectors.ddm", {"warning_level", "drift_level", "warm_start"}));
      RETURN_IF_ERROR(r.Double(m["warning_level"], path + ".detectors.ddm.warning_level", &o->ddm.warning_level));
      RETURN_IF_ERROR(r.Double(m["drift_level"], path + ".detectors.ddm.drift_level", &o->ddm.drift_level));
      RETURN_IF_ERROR(r.Integer(m["warm_start"], path + ".detectors.ddm.warm_start", &o->ddm.warm_start, 1, 1'000'000'000));
    }
    if (const YAML::Node ph = d["page_hinkley"]) {
      RETURN_IF_ERROR(r.CheckKeys(ph, path + ".detectors.page_hinkley", {"delta", "threshold", "alpha", "min_instances"}));
      RETURN_IF_ERROR(r.Double(ph["delta"], path + ".detectors.page_hinkley.delta", &o->page_hinkley.delta));
      RETURN_IF_ERROR(r.Double(ph["threshold"], path + ".detectors.page_hinkley.threshold", &o->page_hinkley.threshold));
      RETURN_IF_ERROR(r.Double(ph["alpha"], path + ".detectors.page_hinkley.alpha", &o->page_hinkley.alpha));
      RETURN_IF_ERROR(r.Integer(ph["min_instances"], path + ".detectors.page_hinkley.min_instances", &o->page_hinkley.min_instances, 1, 1'000'000'000));
    }
  }
  return Status::Ok();
}

Status ReadMonitoring(const Reader& r, const YAML::Node& m, const std::string& config_dir, MonitoringOptions* o) {
  RETURN_IF_ERROR(r.CheckKeys(m, "monitoring", {"enabled", "max_models", "max_pending_labels", "allowed_lateness", "partition_idle_timeout", "commit_interval", "nice",
                                                "webhooks", "webhook_attempts", "webhook_timeout", "defaults", "models"}));
  RETURN_IF_ERROR(r.Bool(m["enabled"], "monitoring.enabled", &o->enabled));
  RETURN_IF_ERROR(r.Integer(m["max_models"], "monitoring.max_models", &o->max_models, 1, 100000));
  RETURN_IF_ERROR(r.Integer(m["max_pending_labels"], "monitoring.max_pending_labels", &o->max_pending_labels, 1, 1'000'000'000));
  RETURN_IF_ERROR(r.Duration(m["allowed_lateness"], "monitoring.allowed_lateness", &o->allowed_lateness_ms));
  RETURN_IF_ERROR(r.Duration(m["partition_idle_timeout"], "monitoring.partition_idle_timeout", &o->partition_idle_timeout_ms));
  RETURN_IF_ERROR(r.Duration(m["commit_interval"], "monitoring.commit_interval", &o->commit_interval_ms));
  RETURN_IF_ERROR(r.Integer(m["nice"], "monitoring.nice", &o->nice, 0, 19));
  if (o->commit_interval_ms < 1) return r.Error("monitoring.commit_interval", "must be at least 1ms");
  RETURN_IF_ERROR(r.StringList(m["webhooks"], "monitoring.webhooks", &o->webhooks));
  for (size_t i = 0; i < o->webhooks.size(); ++i)
    if (o->webhooks[i].rfind("http://", 0) != 0)
      return r.Error("monitoring.webhooks[" + std::to_string(i) + "]", "'" + o->webhooks[i] + "' is not an http:// URL");
  RETURN_IF_ERROR(r.Integer(m["webhook_attempts"], "monitoring.webhook_attempts", &o->webhook_attempts, 1, 100));
  RETURN_IF_ERROR(r.Duration(m["webhook_timeout"], "monitoring.webhook_timeout", &o->webhook_timeout_ms));
  if (const YAML::Node d = m["defaults"]) RETURN_IF_ERROR(ReadMonitorOptions(r, d, "monitoring.defaults", config_dir, &o->defaults));
  if (const YAML::Node models = m["models"]) {
    if (!models.IsMap()) return r.Error("monitoring.models", "expected a mapping of model name to options");
    for (const auto& kv : models) {
      const std::string name = kv.first.as<std::string>();
      drift::MonitorOptions mo = o->defaults;
      RETURN_IF_ERROR(ReadMonitorOptions(r, kv.second, "monitoring.models." + name, config_dir, &mo));
      o->models[name] = std::move(mo);
    }
  }
  return Status::Ok();
}

Status ReadConfig(const Reader& r, const YAML::Node& root, const std::string& config_dir, Config* cfg) {
  if (!root || root.IsNull()) return Status::Ok();
  RETURN_IF_ERROR(r.CheckKeys(root, "", {"kafka", "ingest", "store", "http", "monitoring", "features"}));
  if (const YAML::Node k = root["kafka"]) {
    RETURN_IF_ERROR(r.CheckKeys(k, "kafka", {"brokers", "group_id", "topics", "dead_letter_topic", "retrain_topic", "embedded_partitions", "properties"}));
    RETURN_IF_ERROR(r.String(k["retrain_topic"], "kafka.retrain_topic", &cfg->kafka.retrain_topic));
    RETURN_IF_ERROR(r.String(k["brokers"], "kafka.brokers", &cfg->kafka.brokers));
    RETURN_IF_ERROR(r.String(k["group_id"], "kafka.group_id", &cfg->kafka.group_id));
    RETURN_IF_ERROR(r.String(k["dead_letter_topic"], "kafka.dead_letter_topic", &cfg->kafka.dead_letter_topic));
    RETURN_IF_ERROR(r.Integer(k["embedded_partitions"], "kafka.embedded_partitions", &cfg->kafka.embedded_partitions, 1, 1024));
    if (const YAML::Node t = k["topics"]) {
      RETURN_IF_ERROR(r.CheckKeys(t, "kafka.topics", {"views", "clicks", "predictions"}));
      RETURN_IF_ERROR(r.String(t["predictions"], "kafka.topics.predictions", &cfg->kafka.predictions_topic));
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
    RETURN_IF_ERROR(r.CheckKeys(s, "store", {"data_dir", "block_cache", "memtable_memory", "min_free_space",
                                                "background_write_rate"}));
    RETURN_IF_ERROR(r.String(s["data_dir"], "store.data_dir", &cfg->store.data_dir));
    RETURN_IF_ERROR(r.Bytes(s["block_cache"], "store.block_cache", &cfg->store.block_cache_bytes));
    RETURN_IF_ERROR(r.Bytes(s["memtable_memory"], "store.memtable_memory", &cfg->store.memtable_memory_bytes));
    RETURN_IF_ERROR(r.Bytes(s["min_free_space"], "store.min_free_space", &cfg->store.min_free_bytes));
    RETURN_IF_ERROR(r.Bytes(s["background_write_rate"], "store.background_write_rate", &cfg->store.background_write_rate));
  }
  if (const YAML::Node h = root["http"]) {
    RETURN_IF_ERROR(r.CheckKeys(h, "http", {"listen", "threads", "idle_timeout", "max_connections",
                                            "bearer_token_file", "bearer_token_env"}));
    RETURN_IF_ERROR(r.String(h["listen"], "http.listen", &cfg->http.listen));
    RETURN_IF_ERROR(r.Integer(h["threads"], "http.threads", &cfg->http.threads, 1, 64));
    RETURN_IF_ERROR(r.Duration(h["idle_timeout"], "http.idle_timeout", &cfg->http.idle_timeout_ms));
    if (cfg->http.idle_timeout_ms < 100) return r.Error("http.idle_timeout", "must be at least 100ms");
    RETURN_IF_ERROR(r.Integer(h["max_connections"], "http.max_connections", &cfg->http.max_connections, 1, 1'000'000));
    std::string token_file, token_env;
    RETURN_IF_ERROR(r.String(h["bearer_token_file"], "http.bearer_token_file", &token_file));
    RETURN_IF_ERROR(r.String(h["bearer_token_env"], "http.bearer_token_env", &token_env));
    if (!token_file.empty() && !token_env.empty())
      return r.Error("http.bearer_token_file", "set bearer_token_file or bearer_token_env, not both");
    if (!token_file.empty()) {
      const std::string path = token_file[0] == '/' || config_dir.empty() ? token_file : config_dir + "/" + token_file;
      std::ifstream in(path);
      if (!in || !std::getline(in, cfg->http.bearer_token))
        return r.Error("http.bearer_token_file", "cannot read " + path);
    } else if (!token_env.empty()) {
      const char* value = std::getenv(token_env.c_str());
      if (!value) return r.Error("http.bearer_token_env", "environment variable " + token_env + " is not set");
      cfg->http.bearer_token = value;
    }
    while (!cfg->http.bearer_token.empty() && std::isspace(static_cast<unsigned char>(cfg->http.bearer_token.back())))
      cfg->http.bearer_token.pop_back();
    if ((!token_file.empty() || !token_env.empty()) && cfg->http.bearer_token.size() < 16)
      return r.Error(token_file.empty() ? "http.bearer_token_env" : "http.bearer_token_file",
                     "the token must be at least 16 characters");
    std::string host;
    uint16_t port;
    Status st = ParseHostPort(cfg->http.listen, &host, &port);
    if (!st.ok()) return r.Error("http.listen", st.message());
  }
  if (const YAML::Node m = root["monitoring"]) RETURN_IF_ERROR(ReadMonitoring(r, m, config_dir, &cfg->monitoring));
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
    const size_t slash = source_name.rfind('/');
    const std::string dir = source_name.front() == '<' ? "" : slash == std::string::npos ? "." : source_name.substr(0, slash);
    Status st = ReadConfig(reader, root, dir, &cfg);
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
