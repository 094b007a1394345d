#include "daemon/config/config.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "daemon/config/config_table.h"
#include "daemon/http/http_client.h"

namespace featmon {

using config::Key;
using config::Keys;
using config::Reader;

namespace {

#define RETURN_IF_ERROR(expr)  \
  do {                         \
    Status _st = (expr);       \
    if (!_st.ok()) return _st; \
  } while (0)

constexpr int64_t kSecond = 1'000, kMinute = 60 * kSecond, kHour = 60 * kMinute, kDay = 24 * kHour;
constexpr int64_t kYear = 365 * kDay;
constexpr uint64_t kKB = 1 << 10, kGB = 1 << 30, kTB = kGB << 10;

const char kHeader[] =
    "# featmond configuration: the shipped default. featmond uses exactly this when\n"
    "# started without --config. Every key is optional; durations take ms, s, m, h,\n"
    "# d or w, sizes B, KB, MB or GB. Command-line flags override the matching keys.\n"
    "# Printed by `featmond --print-default-config` from the tables in\n"
    "# daemon/config/config.cpp; a test fails when this file differs.\n";

const char kDefaultFeatures[] = R"featmon_yaml(# Features: name, entity (user|item), sources (views, clicks), aggregation, window.
# Aggregations: count, sum (field: value), ratio (numerator, denominator),
# last_n_distinct (field, n), approx_distinct (field), latest_timestamp,
# decayed_count (half_life). Tiles default to 5m below 12h windows, 1h below
# 12d, 1d above; set `tile:` to override.
features:
  user:
    - {name: views_1h,   sources: [views],  aggregation: count, window: 1h}
    - {name: clicks_1h,  sources: [clicks], aggregation: count, window: 1h}
    - {name: views_24h,  sources: [views],  aggregation: count, window: 24h}
    - {name: clicks_24h, sources: [clicks], aggregation: count, window: 24h}
    - {name: views_7d,   sources: [views],  aggregation: count, window: 7d}
    - {name: clicks_7d,  sources: [clicks], aggregation: count, window: 7d}
    - {name: ctr_24h, aggregation: ratio, numerator: clicks_24h, denominator: views_24h}
    - {name: ctr_7d,  aggregation: ratio, numerator: clicks_7d,  denominator: views_7d}
    - {name: last_clicked_items, sources: [clicks], aggregation: last_n_distinct, field: item_id, n: 20}
    - {name: distinct_items_viewed_24h, sources: [views], aggregation: approx_distinct, field: item_id, window: 24h}
    - {name: last_event_ts_ms, sources: [views, clicks], aggregation: latest_timestamp}
  item:
    - {name: views_1h,   sources: [views],  aggregation: count, window: 1h}
    - {name: clicks_1h,  sources: [clicks], aggregation: count, window: 1h}
    - {name: views_24h,  sources: [views],  aggregation: count, window: 24h}
    - {name: clicks_24h, sources: [clicks], aggregation: count, window: 24h}
    - {name: views_7d,   sources: [views],  aggregation: count, window: 7d}
    - {name: clicks_7d,  sources: [clicks], aggregation: count, window: 7d}
    - {name: ctr_24h, aggregation: ratio, numerator: clicks_24h, denominator: views_24h}
    - {name: ctr_7d,  aggregation: ratio, numerator: clicks_7d,  denominator: views_7d}
    - {name: distinct_users_viewed_24h, sources: [views], aggregation: approx_distinct, field: user_id, window: 24h}
    - {name: last_event_ts_ms, sources: [views, clicks], aggregation: latest_timestamp}
)featmon_yaml";

// ---- kafka ------------------------------------------------------------------

// librdkafka properties featmond sets itself; null for the others. A file
// that set bootstrap.servers here silently beat --kafka-brokers.
const char* OwnedProperty(const std::string& name) {
  if (name == "bootstrap.servers" || name == "metadata.broker.list")
    return "set by kafka.brokers (or --kafka-brokers); set it there";
  if (name == "group.id") return "set by kafka.group_id (or --kafka-group-id); set it there";
  if (name == "group.instance.id") return "set by kafka.group_instance_id (or --kafka-group-instance-id); set it there";
  if (name == "enable.auto.commit" || name == "enable.auto.offset.store")
    return "featmond stores its offsets with its state and sets this itself";
  return nullptr;
}

// Kafka's rule for topic names: 1-249 of [a-zA-Z0-9._-].
bool ValidTopicName(const std::string& t) {
  if (t.empty() || t.size() > 249 || t == "." || t == "..") return false;
  for (unsigned char c : t)
    if (!(std::isalnum(c) || c == '.' || c == '_' || c == '-')) return false;
  return true;
}

// Each topic has one role: an input read twice would be counted twice, and a
// dead-letter or retrain topic that is also an input would feed on itself.
Status CheckKafka(const Reader& r, const KafkaOptions& k) {
  const std::vector<std::pair<std::string, const std::string*>> topics = {
      {"kafka.topics.views", &k.views_topic},
      {"kafka.topics.clicks", &k.clicks_topic},
      {"kafka.topics.predictions", &k.predictions_topic},
      {"kafka.dead_letter_topic", &k.dead_letter_topic},
      {"kafka.retrain_topic", &k.retrain_topic},
      {"kafka.examples_topic", &k.examples_topic},
      {"kafka.members_topic", &k.members_topic},
      {"kafka.changelog_topic", &k.changelog_topic},
      {"kafka.monitor_changelog_topic", &k.monitor_changelog_topic},
      {"kafka.item_repartition_topic", &k.item_repartition_topic}};
  for (size_t i = 0; i < topics.size(); ++i) {
    const auto& [key, topic] = topics[i];
    if (topic->empty() && (key == "kafka.changelog_topic" || key == "kafka.monitor_changelog_topic" ||
                           key == "kafka.item_repartition_topic"))
      continue;  // none
    if (!ValidTopicName(*topic))
      return r.Error(key, "'" + *topic + "' is not a Kafka topic name (1-249 letters, digits, '.', '_', '-')");
    for (size_t j = 0; j < i; ++j)
      if (*topics[j].second == *topic)
        return r.Error(key, "'" + *topic + "' is also " + topics[j].first + "; each role needs its own topic");
  }
  if (k.brokers.empty()) return r.Error("kafka.brokers", "required (host:port, comma-separated)");
  return Status::Ok();
}

const std::vector<Key<KafkaOptions>>& KafkaKeys() {
  using K = Keys<KafkaOptions>;
  static const std::vector<Key<KafkaOptions>> keys = {
      K::String("brokers", FIELD(brokers), "bootstrap servers (--kafka-brokers)"),
      K::String("group_id", FIELD(group_id), "consumer group; offsets committed there are for lag monitoring only"),
      K::String("group_instance_id", FIELD(group_instance_id),
                "static membership (group.instance.id, e.g. the pod name): a restarted instance gets its own "
                "partitions back without a rebalance; empty: dynamic membership"),
      K::Mapping("topics",
                 {K::String("views", FIELD(views_topic), "ViewEvent (impressions)"),
                  K::String("clicks", FIELD(clicks_topic), "ClickEvent"),
                  K::String("predictions", FIELD(predictions_topic), "PredictionEvent (model monitoring)")},
                 ""),
      K::String("dead_letter_topic", FIELD(dead_letter_topic), "unusable messages, copied unchanged with reason headers"),
      K::Bytes("dead_letter_max_payload", FIELD(dead_letter_max_payload_bytes), 1 << 10, 900 << 10,
               "payloads beyond this are cut in the dead letter (headers say so)"),
      K::String("retrain_topic", FIELD(retrain_topic), "RetrainRequest, keyed by model"),
      K::String("examples_topic", FIELD(examples_topic),
                "LabeledExample, keyed by user: each matured label of a model with examples: true"),
      K::String("members_topic", FIELD(members_topic),
                "with http.advertised_url: the instances of the group announce their URL and tasks here "
                "(create it with 1 partition, cleanup.policy=compact)"),
      K::String("changelog_topic", FIELD(changelog_topic),
                "each commit's entity states also go here (partition n: task n), and a task that moves is "
                "restored from it; create it with the inputs' partition count, cleanup.policy=compact and "
                "min.compaction.lag.ms of a day; empty: none"),
      K::String("monitor_changelog_topic", FIELD(monitor_changelog_topic),
                "the instances of the group monitor once between them: the one elected by the group "
                "<group_id>.monitor-owner reads every predictions and clicks partition, and its monitoring state "
                "goes here (partition 0) so that it moves with the election; create it with 1 partition, "
                "cleanup.policy=compact; empty: each instance monitors what its <group_id>.monitor group gives it"),
      K::String("item_repartition_topic", FIELD(item_repartition_topic),
                "item features are computed from the events re-keyed by item_id through this topic, so each "
                "item's state lives in one task; create it with the inputs' partition count; set it on a new "
                "group; empty: each task keeps partial item states, merged at lookup"),
      K::Integer("embedded_partitions", FIELD(embedded_partitions), 1, 1024,
                 "partitions per topic of the --embedded-kafka broker"),
      K::Custom(
          "properties",
          [](const Reader& r, const YAML::Node& n, const std::string& path, KafkaOptions* k) -> Status {
            if (!n.IsMap()) return r.Error(path, "expected a mapping of librdkafka properties");
            for (const auto& kv : n) {
              const std::string name = kv.first.as<std::string>();
              if (const char* why = OwnedProperty(name)) return r.Error(path + "." + name, why);
              std::string value;
              RETURN_IF_ERROR(r.String(kv.second, path + "." + name, &value));
              k->properties[name] = value;
            }
            return Status::Ok();
          },
          [](const KafkaOptions& k) {
            std::string out;
            for (const auto& [name, value] : k.properties)
              out += (out.empty() ? "" : ", ") + name + ": " + config::RenderString(value);
            return "{" + out + "}";
          },
          "passed to librdkafka as-is, e.g. security.protocol: SASL_SSL"),
  };
  return keys;
}

// ---- ingest -----------------------------------------------------------------

const std::vector<Key<IngestOptions>>& IngestKeys() {
  using K = Keys<IngestOptions>;
  static const std::vector<Key<IngestOptions>> keys = {
      K::Duration("commit_interval", FIELD(pipeline.commit_interval_ms), 1, kHour,
                  "how often state and offsets are written (one RocksDB WriteBatch); lookups see events before (http.isolation)"),
      K::Duration("max_future_skew", FIELD(pipeline.decoder.max_future_skew_ms), 0, kDay,
                  "events further ahead of the wall clock are rejected"),
      K::Integer("max_id_bytes", FIELD(pipeline.decoder.max_id_bytes), 1, 65536, "longer ids are rejected"),
      K::Integer("cache_max_entities", FIELD(cache_max_entities), 1000, 1'000'000'000,
                 "entity states kept in memory, all ingest workers together"),
      K::Bytes("cache_max_memory", FIELD(cache_max_bytes), 1 << 20, kTB,
               "... and at most this much memory for them (estimated: about 560 bytes per user with the default features)"),
      K::Duration("entity_ttl_grace", FIELD(entity_ttl_grace_ms), 0, kYear,
                  "idle entities expire after the longest window plus this"),
      K::Integer("poll_batch", FIELD(pipeline.poll_batch), 1, 1'000'000, "messages taken from librdkafka per poll"),
      K::Duration("state_cleanup_delay", FIELD(pipeline.state_cleanup_delay_ms), 0, kYear,
                  "with kafka.changelog_topic: a revoked task's local state is deleted this long after, as is "
                  "one kept from before a restart and not assigned again (back sooner, it restores only the "
                  "changelog's tail); 0: kept"),
      K::Integer("workers", FIELD(workers), 1, 64,
                 "ingest threads; each owns the partitions p with p % workers == its index"),
  };
  return keys;
}

// ---- store ------------------------------------------------------------------

const std::vector<Key<RocksDbStoreOptions>>& StoreKeys() {
  using K = Keys<RocksDbStoreOptions>;
  static const std::vector<Key<RocksDbStoreOptions>> keys = {
      K::String("data_dir", FIELD(path), "RocksDB directory (--data-dir)"),
      K::Bytes("block_cache", FIELD(block_cache_bytes), 0, kTB, "RocksDB block cache for lookups"),
      K::Bytes("memtable_memory", FIELD(memtable_memory_bytes), 64 * kKB, 64 * kGB,
               "entity memtables together (RocksDB's budget: each is a quarter, flushed when full)"),
      K::Bytes("background_write_rate", FIELD(background_write_rate), 0, kTB,
               "bytes/s for flushes and compactions (e.g. 64MB); 0: unlimited"),
      K::Bytes("min_free_space", FIELD(min_free_bytes), 0, kTB,
               "below this much free disk, commits pause (offsets held, /readyz false) until space returns"),
  };
  return keys;
}

// ---- http -------------------------------------------------------------------

// The first line of a file, or an environment variable, with trailing
// whitespace trimmed; at least 16 characters.
Status SetBearerToken(const Reader& r, const std::string& path, std::string token, HttpOptions* h) {
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  if (token.size() < 16) return r.Error(path, "the token must be at least 16 characters");
  h->bearer_token = std::move(token);
  return Status::Ok();
}

const std::vector<Key<HttpOptions>>& HttpKeys() {
  using K = Keys<HttpOptions>;
  static const std::vector<Key<HttpOptions>> keys = {
      K::Custom(
          "listen",
          [](const Reader& r, const YAML::Node& n, const std::string& path, HttpOptions* h) -> Status {
            std::string text;
            RETURN_IF_ERROR(r.String(n, path, &text));
            Status st = SetHttpListen(text, &h->server);
            return st.ok() ? st : r.Error(path, st.message());
          },
          [](const HttpOptions& h) {
            const std::string& host = h.server.host;
            return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(h.server.port);
          },
          "(--http-listen); loopback unless you choose otherwise"),
      K::Integer("threads", FIELD(server.threads), 1, 64, "HTTP worker threads"),
      K::Duration("idle_timeout", FIELD(server.idle_timeout_ms), 100, kHour,
                  "a connection must deliver each whole request within this (slow clients are cut)"),
      K::Integer("max_connections", FIELD(server.max_connections), 1, 1'000'000,
                 "further connections are closed at once; kept below the descriptor limit"),
      K::Custom(
          "isolation",
          [](const Reader& r, const YAML::Node& n, const std::string& path, HttpOptions* h) -> Status {
            std::string text;
            RETURN_IF_ERROR(r.String(n, path, &text));
            if (text != "read_uncommitted" && text != "read_committed")
              return r.Error(path, "expected read_uncommitted or read_committed, got '" + text + "'");
            h->read_uncommitted = text == "read_uncommitted";
            return Status::Ok();
          },
          [](const HttpOptions& h) { return std::string(h.read_uncommitted ? "read_uncommitted" : "read_committed"); },
          "lookups see an event once applied in memory (read_uncommitted, ms) or once committed (read_committed)"),
      K::Custom(
          "advertised_url",
          [](const Reader& r, const YAML::Node& n, const std::string& path, HttpOptions* h) -> Status {
            std::string text;
            RETURN_IF_ERROR(r.String(n, path, &text));
            Status st = SetAdvertisedUrl(text, h);
            return st.ok() ? st : r.Error(path, st.message());
          },
          [](const HttpOptions& h) { return config::RenderString(h.advertised_url); },
          "(--advertised-url) the URL the group's other instances reach this one at, e.g. "
          "http://featmond-0.featmond-headless:8080: lookups of keys another instance owns are then proxied to it; "
          "empty: they get 503 naming the key's task"),
      K::Duration("proxy_timeout", FIELD(proxy_timeout_ms), 10, 60'000,
                  "a lookup proxied to the instance owning its key gets this long, then 503"),
      K::Example(
          "bearer_token_file",
          [](const Reader& r, const YAML::Node& n, const std::string& path, HttpOptions* h) -> Status {
            std::string file;
            RETURN_IF_ERROR(r.String(n, path, &file));
            const std::string resolved = r.Resolve(file);
            std::ifstream in(resolved);
            std::string token;
            if (!in || !std::getline(in, token)) return r.Error(path, "cannot read " + resolved);
            return SetBearerToken(r, path, std::move(token), h);
          },
          "token", "/v1/status and /v1/monitoring then need \"Authorization: Bearer <token>\";"),
      K::Example(
          "bearer_token_env",
          [](const Reader& r, const YAML::Node& n, const std::string& path, HttpOptions* h) -> Status {
            std::string name;
            RETURN_IF_ERROR(r.String(n, path, &name));
            const char* value = std::getenv(name.c_str());
            if (!value) return r.Error(path, "environment variable " + name + " is not set");
            return SetBearerToken(r, path, value, h);
          },
          "FEATMON_TOKEN", "or read it from this environment variable. Never logged or reported."),
  };
  return keys;
}

Status CheckHttp(const Reader& r, const YAML::Node& node) {
  if (!node.IsMap()) return Status::Ok();  // ReadKeys says so
  if (node["bearer_token_file"] && node["bearer_token_env"])
    return r.Error("http.bearer_token_file", "set bearer_token_file or bearer_token_env, not both");
  return Status::Ok();
}

// ---- monitoring: one model's options ----------------------------------------

std::string RenderRule(const drift::FeatureRule& rule) {
  return "{statistic: " + std::string(drift::StatisticName(rule.statistic)) + ", warn: " + config::RenderDouble(rule.warn) +
         ", alert: " + config::RenderDouble(rule.alert) + "}";
}

Status ReadRule(const Reader& r, const YAML::Node& node, const std::string& path, drift::FeatureRule* rule) {
  RETURN_IF_ERROR(r.CheckKeys(node, path, {"statistic", "warn", "alert"}));
  if (const YAML::Node s = node["statistic"]) {
    auto stat = drift::ParseStatistic(s.as<std::string>());
    if (!stat)
      return r.Error(path + ".statistic", "'" + s.as<std::string>() +
                                              "' is not one of psi, ks, jensen_shannon, wasserstein, hellinger, chi2, l_infinity");
    rule->statistic = *stat;
  }
  const double inf = std::numeric_limits<double>::infinity();
  if (node["warn"]) RETURN_IF_ERROR(r.Double(node["warn"], path + ".warn", -inf, inf, &rule->warn));
  if (node["alert"]) RETURN_IF_ERROR(r.Double(node["alert"], path + ".alert", -inf, inf, &rule->alert));
  const bool p_value = drift::IsPValueTest(rule->statistic);
  if (p_value ? rule->alert > rule->warn : rule->alert < rule->warn)
    return r.Error(path, p_value ? "a p-value test needs alert <= warn" : "needs warn <= alert");
  return Status::Ok();
}

template <typename F>
Key<drift::MonitorOptions> RuleKey(std::string name, F field, std::string doc) {
  return Keys<drift::MonitorOptions>::Custom(
      std::move(name),
      [field](const Reader& r, const YAML::Node& n, const std::string& path, drift::MonitorOptions* o) {
        return ReadRule(r, n, path, &field(*o));
      },
      [field](const drift::MonitorOptions& o) { return RenderRule(field(o)); }, std::move(doc));
}

std::vector<std::string> RetrainSignals(const drift::MonitorOptions& o) {
  std::vector<std::string> out;
  if (o.retrain_on_data_drift) out.push_back("data");
  if (o.retrain_on_prediction_drift) out.push_back("prediction");
  if (o.retrain_on_label_drift) out.push_back("label");
  if (o.retrain_on_calibration) out.push_back("calibration");
  for (const char* d : {"calibration_cusum", "adwin", "ddm", "page_hinkley"})
    if (o.retrain_detectors.count(d)) out.push_back(d);
  return out;
}

const std::vector<Key<drift::MonitorOptions>>& ModelKeys() {
  using K = Keys<drift::MonitorOptions>;
  using O = drift::MonitorOptions;
  const double inf = std::numeric_limits<double>::infinity();
  static const std::vector<Key<O>> keys = {
      K::Custom(
          "reference",
          [](const Reader& r, const YAML::Node& n, const std::string& path, O* o) -> Status {
            std::string name;
            RETURN_IF_ERROR(r.String(n, path, &name));
            auto kind = drift::ParseReferenceKind(name);
            if (!kind)
              return r.Error(path, "'" + name +
                                       "' is not one of seasonal, first_window, previous_window, same_hour_last_week, "
                                       "profile");
            o->reference = *kind;
            return Status::Ok();
          },
          [](const O& o) { return std::string(drift::ReferenceKindName(o.reference)); },
          "seasonal | first_window | previous_window | same_hour_last_week | profile (+ profile: file.json)"),
      K::Double("seasonal_new_day_weight", FIELD(seasonal_new_day_weight), 0.01, 1,
                "seasonal: weight of the newest day in each hour-of-day profile"),
      K::Example(
          "profile",
          [](const Reader& r, const YAML::Node& n, const std::string& path, O* o) -> Status {
            std::string file;
            RETURN_IF_ERROR(r.String(n, path, &file));
            file = r.Resolve(file);
            std::ifstream in(file);
            if (!in) return r.Error(path, "cannot read '" + file + "'");
            nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
            if (j.is_discarded() || !j.contains("features") || !j["features"].is_object())
              return r.Error(path, "'" + file + "' is not a profile (JSON with a \"features\" object)");
            o->profile = std::move(j);
            return Status::Ok();
          },
          "training.json", "with reference: profile, the bins and counts of each feature (JSON)"),
      K::Duration("window", FIELD(window_ms), kSecond, 30 * kDay, "current (and reference) window"),
      K::Duration("fast_window", FIELD(fast_window_ms), 0, 30 * kDay,
                  "data and score are also judged on the window's last this much (whole evaluation periods), to catch "
                  "a shift sooner; off when 0 or not shorter than window"),
      K::Duration("evaluation_period", FIELD(evaluation_period_ms), kSecond, kDay,
                  "evaluate every this much event time; also the tile width"),
      K::Duration("attribution_window", FIELD(attribution_window_ms), 0, 7 * kDay,
                  "a click this long after a prediction labels it"),
      K::Bool("examples", FIELD(examples), "write a LabeledExample to kafka.examples_topic per matured label"),
      K::Integer("min_samples", FIELD(min_samples), 1, 1'000'000'000, "no verdict below this in either window"),
      K::Integer("consecutive_evaluations", FIELD(consecutive_evaluations), 1, 1000,
                 "drifting evaluations in a row before an alert"),
      K::Integer("numeric_bins", FIELD(numeric_bins), 2, 1000,
                 "equal-mass bins from reference quantiles (+ under/overflow)"),
      K::Integer("top_k", FIELD(top_k), 1, 10000, "categorical bins besides \"other\""),
      K::Integer("max_features", FIELD(max_features), 1, 100000, "per model version"),
      K::Integer("max_versions", FIELD(max_versions), 1, 1000, "per model; the least recently seen goes"),
      K::Duration("version_ttl", FIELD(version_ttl_ms), kMinute, kYear,
                  "a version unseen this long is dropped (with its metrics)"),
      RuleKey("numeric", FIELD(numeric_rule), "psi, ks, jensen_shannon, wasserstein, hellinger"),
      RuleKey("categorical", FIELD(categorical_rule), "jensen_shannon, chi2, l_infinity"),
      RuleKey("score", FIELD(score_rule), "prediction drift"),
      RuleKey("label", FIELD(label_rule), "label (CTR) drift"),
      K::Custom(
          "features",
          [](const Reader& r, const YAML::Node& n, const std::string& path, O* o) -> Status {
            if (!n.IsMap()) return r.Error(path, "expected a mapping of feature name to rule");
            for (const auto& kv : n) {
              const std::string name = kv.first.as<std::string>();
              drift::FeatureRule rule = o->numeric_rule;
              if (auto it = o->feature_rules.find(name); it != o->feature_rules.end()) rule = it->second;
              RETURN_IF_ERROR(ReadRule(r, kv.second, path + "." + name, &rule));
              o->feature_rules[name] = rule;
            }
            return Status::Ok();
          },
          [](const O& o) {
            std::string out;
            for (const auto& [name, rule] : o.feature_rules) out += (out.empty() ? "" : ", ") + name + ": " + RenderRule(rule);
            return "{" + out + "}";
          },
          "per feature, a rule that replaces numeric or categorical"),
      K::Custom(
          "skip_features",
          [](const Reader& r, const YAML::Node& n, const std::string& path, O* o) -> Status {
            std::vector<std::string> names;
            RETURN_IF_ERROR(r.StringList(n, path, &names));
            o->skip_features = {names.begin(), names.end()};
            return Status::Ok();
          },
          [](const O& o) { return config::RenderList({o.skip_features.begin(), o.skip_features.end()}); },
          "features not monitored"),
      K::Custom(
          "calibration",
          [inf](const Reader& r, const YAML::Node& n, const std::string& path, O* o) -> Status {
            if (!n.IsSequence() || n.size() != 2) return r.Error(path, "expected [low, high], e.g. [0.8, 1.25]");
            RETURN_IF_ERROR(r.Double(n[0], path + "[0]", -inf, inf, &o->calibration_low));
            RETURN_IF_ERROR(r.Double(n[1], path + "[1]", -inf, inf, &o->calibration_high));
            if (!(o->calibration_low < 1 && 1 < o->calibration_high)) return r.Error(path, "needs low < 1 < high");
            return Status::Ok();
          },
          [](const O& o) {
            return "[" + config::RenderDouble(o.calibration_low) + ", " + config::RenderDouble(o.calibration_high) + "]";
          },
          "sum of scores / clicks outside this asks for retraining"),
      K::Double("calibration_z", FIELD(calibration_z), 0, 1000,
                "... when the clicks also differ from the sum of scores by this many sd (sqrt of that sum)"),
      K::Custom(
          "retrain_on",
          [](const Reader& r, const YAML::Node& n, const std::string& path, O* o) -> Status {
            std::vector<std::string> signals;
            RETURN_IF_ERROR(r.StringList(n, path, &signals));
            o->retrain_on_data_drift = o->retrain_on_prediction_drift = o->retrain_on_label_drift =
                o->retrain_on_calibration = false;
            o->retrain_detectors.clear();
            for (size_t i = 0; i < signals.size(); ++i) {
              const std::string& s = signals[i];
              if (s == "data") o->retrain_on_data_drift = true;
              else if (s == "prediction") o->retrain_on_prediction_drift = true;
              else if (s == "label") o->retrain_on_label_drift = true;
              else if (s == "calibration") o->retrain_on_calibration = true;
              else if (s == "calibration_cusum" || s == "adwin" || s == "ddm" || s == "page_hinkley")
                o->retrain_detectors.insert(s);
              else
                return r.Error(path + "[" + std::to_string(i) + "]",
                               "'" + s +
                                   "' is not one of data, prediction, label, calibration, calibration_cusum, adwin, "
                                   "ddm, page_hinkley");
            }
            return Status::Ok();
          },
          [](const O& o) { return config::RenderList(RetrainSignals(o)); }, "also: label, adwin, ddm, page_hinkley"),
      K::Duration("cooldown", FIELD(cooldown_ms), 0, kYear, "quiet time per model after a retrain request"),
      K::Mapping(
          "detectors",
          {K::Mapping("adwin",
                      {K::Custom(
                           "delta",
                           [inf](const Reader& r, const YAML::Node& n, const std::string& path, O* o) -> Status {
                             RETURN_IF_ERROR(r.Double(n, path, -inf, inf, &o->adwin.delta));
                             if (!(o->adwin.delta > 0 && o->adwin.delta < 1)) return r.Error(path, "must be in (0, 1)");
                             return Status::Ok();
                           },
                           [](const O& o) { return config::RenderDouble(o.adwin.delta); }, ""),
                       K::Integer("clock", FIELD(adwin.clock), 1, 1'000'000, "")},
                      "", true),
           K::Mapping("ddm",
                      {K::Double("warning_level", FIELD(ddm.warning_level), -inf, inf, ""),
                       K::Double("drift_level", FIELD(ddm.drift_level), -inf, inf, ""),
                       K::Integer("warm_start", FIELD(ddm.warm_start), 1, 1'000'000'000, "")},
                      "", true),
           K::Mapping("calibration_cusum",
                      {K::Double("odds_ratio", FIELD(calibration_cusum.odds_ratio), 1.01, 100, ""),
                       K::Double("threshold", FIELD(calibration_cusum.threshold), 1, 1000, "")},
                      "click odds this many times the scores' (or 1/x); ~e^threshold labels between false alarms", true),
           K::Mapping("page_hinkley",
                      {K::Double("delta", FIELD(page_hinkley.delta), -inf, inf, ""),
                       K::Double("threshold", FIELD(page_hinkley.threshold), -inf, inf, ""),
                       K::Double("alpha", FIELD(page_hinkley.alpha), -inf, inf, ""),
                       K::Integer("min_instances", FIELD(page_hinkley.min_instances), 1, 1'000'000'000, "")},
                      "", true)},
          "calibration_cusum: labels against their scores; adwin, page_hinkley: excess log loss; ddm: log loss"),
  };
  return keys;
}

// Rules between keys of one model's options.
Status CheckModel(const Reader& r, const std::string& path, const drift::MonitorOptions& o) {
  if (o.reference == drift::ReferenceKind::kProfile && o.profile.is_null())
    return r.Error(path + ".reference", "profile needs a profile file");
  if (o.window_ms < o.evaluation_period_ms || o.window_ms % o.evaluation_period_ms != 0)
    return r.Error(path + ".window", "must be a multiple of evaluation_period");
  return Status::Ok();
}

Status ReadModel(const Reader& r, const YAML::Node& n, const std::string& path, drift::MonitorOptions* o) {
  RETURN_IF_ERROR(config::ReadKeys(r, n, path, ModelKeys(), o));
  return CheckModel(r, path, *o);
}

// ---- monitoring -------------------------------------------------------------

const std::vector<Key<MonitoringOptions>>& MonitoringKeys() {
  using K = Keys<MonitoringOptions>;
  using M = MonitoringOptions;
  static const std::vector<Key<M>> keys = {
      K::Bool("enabled", FIELD(enabled), "consume predictions and monitor models"),
      K::Integer("max_models", FIELD(pipeline.max_models), 1, 100000, "further models are counted and skipped"),
      K::Integer("max_pending_labels", FIELD(pipeline.max_pending_labels), 1, 1'000'000'000,
                 "predictions waiting for their click or its absence"),
      K::Integer("max_waiting_examples", FIELD(pipeline.max_waiting_examples), 1, 1'000'000'000,
                 "matured labeled examples the examples topic has not confirmed; beyond, reading predictions pauses"),
      K::Duration("allowed_lateness", FIELD(pipeline.allowed_lateness_ms), 0, kDay,
                  "watermark = slowest active partition's event time minus this"),
      K::Duration("partition_idle_timeout", FIELD(pipeline.partition_idle_timeout_ms), 0, kDay,
                  "a caught-up partition silent this long stops holding the watermark back"),
      K::Duration("commit_interval", FIELD(pipeline.commit_interval_ms), 1, kHour,
                  "model state, pending labels and offsets written together this often"),
      K::Integer("nice", FIELD(nice), 0, 19, "the monitoring thread yields the CPU to feature ingestion (0-19)"),
      K::Custom(
          "webhooks",
          [](const Reader& r, const YAML::Node& n, const std::string& path, M* m) -> Status {
            RETURN_IF_ERROR(r.StringList(n, path, &m->webhooks.urls));
            for (size_t i = 0; i < m->webhooks.urls.size(); ++i) {
              const std::string& url = m->webhooks.urls[i];
              if (url.rfind("http://", 0) != 0) return r.Error(path + "[" + std::to_string(i) + "]", "'" + url + "' is not an http:// URL");
            }
            return Status::Ok();
          },
          [](const M& m) { return config::RenderList(m.webhooks.urls); },
          "http://host:port/path, POSTed each retrain request as JSON"),
      K::Integer("webhook_attempts", FIELD(webhooks.attempts), 1, 100, "backoff 0.5s, 1s, 2s, 4s, 8s between attempts"),
      K::Duration("webhook_timeout", FIELD(webhooks.timeout_ms), 100, 5 * kMinute, "per attempt"),
      K::Nested(
          "defaults",
          [](const Reader& r, const YAML::Node& n, const std::string& path, M* m) {
            return ReadModel(r, n, path, &m->pipeline.defaults);
          },
          [](const M& m, const std::string& indent, std::string* out) {
            config::RenderKeys(ModelKeys(), m.pipeline.defaults, indent, out);
          },
          "every model, unless monitoring.models says otherwise"),
      K::Custom(
          "models",
          [](const Reader& r, const YAML::Node& n, const std::string& path, M* m) -> Status {
            if (!n.IsMap()) return r.Error(path, "expected a mapping of model name to options");
            for (const auto& kv : n) {
              const std::string name = kv.first.as<std::string>();
              drift::MonitorOptions mo = m->pipeline.defaults;
              RETURN_IF_ERROR(ReadModel(r, kv.second, path + "." + name, &mo));
              m->pipeline.models[name] = std::move(mo);
            }
            return Status::Ok();
          },
          [](const M& m) { return m.pipeline.models.empty() ? "{}" : "{...}"; },
          "per model, any key of defaults, plus features: {name: rule} and skip_features: [...]"),
  };
  return keys;
}

// ---- features ---------------------------------------------------------------

Status ReadFeature(const Reader& r, const YAML::Node& node, EntityKind entity, const std::string& path,
                   FeatureSpec* spec) {
  RETURN_IF_ERROR(r.CheckKeys(node, path, {"name", "sources", "aggregation", "field", "window", "tile", "n",
                                           "half_life", "numerator", "denominator"}));
  spec->entity = entity;
  if (node["name"]) RETURN_IF_ERROR(r.String(node["name"], path + ".name", &spec->name));
  if (spec->name.empty()) return r.Error(path + ".name", "required");
  std::string agg;
  if (node["aggregation"]) RETURN_IF_ERROR(r.String(node["aggregation"], path + ".aggregation", &agg));
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
  if (node["field"]) RETURN_IF_ERROR(r.String(node["field"], path + ".field", &field));
  static const std::map<std::string, EventField> kFields = {
      {"", EventField::kNone},          {"user_id", EventField::kUserId},       {"item_id", EventField::kItemId},
      {"category", EventField::kCategory}, {"request_id", EventField::kRequestId}, {"value", EventField::kValue}};
  if (!kFields.count(field)) return r.Error(path + ".field", "'" + field + "' is not one of user_id, item_id, category, request_id, value");
  spec->field = kFields.at(field);
  if (node["window"]) RETURN_IF_ERROR(r.Duration(node["window"], path + ".window", 0, 5 * kYear, &spec->window_ms));
  if (node["tile"]) RETURN_IF_ERROR(r.Duration(node["tile"], path + ".tile", 0, kYear, &spec->tile_ms));
  if (node["half_life"]) RETURN_IF_ERROR(r.Duration(node["half_life"], path + ".half_life", 0, 5 * kYear, &spec->half_life_ms));
  if (node["n"]) {
    int64_t n = 0;
    RETURN_IF_ERROR(r.Integer(node["n"], path + ".n", 1, 1000, &n));
    spec->n = static_cast<int>(n);
  }
  if (node["numerator"]) RETURN_IF_ERROR(r.String(node["numerator"], path + ".numerator", &spec->numerator));
  if (node["denominator"]) RETURN_IF_ERROR(r.String(node["denominator"], path + ".denominator", &spec->denominator));
  if (spec->aggregation == Aggregation::kRatio && (spec->numerator.empty() || spec->denominator.empty()))
    return r.Error(path, "ratio needs numerator and denominator");
  return Status::Ok();
}

Status ReadFeatures(const Reader& r, const YAML::Node& f, std::vector<FeatureSpec>* out) {
  RETURN_IF_ERROR(r.CheckKeys(f, "features", {"user", "item"}));
  out->clear();
  for (auto [key, kind] : {std::pair{"user", EntityKind::kUser}, {"item", EntityKind::kItem}}) {
    const YAML::Node list = f[key];
    if (!list) continue;
    if (!list.IsSequence()) return r.Error(std::string("features.") + key, "expected a list of features");
    for (size_t i = 0; i < list.size(); ++i) {
      FeatureSpec spec;
      RETURN_IF_ERROR(ReadFeature(r, list[i], kind, std::string("features.") + key + "[" + std::to_string(i) + "]", &spec));
      out->push_back(std::move(spec));
    }
  }
  return Status::Ok();
}

// ---- cluster ----------------------------------------------------------------

const std::vector<Key<ClusterOptions>>& ClusterKeys() {
  using K = Keys<ClusterOptions>;
  static const std::vector<Key<ClusterOptions>> keys = {
      K::Integer("standby_replicas", FIELD(standby_replicas), 0, 16,
                 "warm standby copies of each task, kept by the instances after its owner, which follow its "
                 "changelog so that a failover restores only its newest records; needs kafka.changelog_topic "
                 "and http.advertised_url"),
  };
  return keys;
}

// ---- the whole file ---------------------------------------------------------

Status ReadConfig(const Reader& r, const YAML::Node& root, Config* cfg) {
  if (!root || root.IsNull()) return Status::Ok();
  RETURN_IF_ERROR(r.CheckNoDuplicateKeys(root, ""));
  RETURN_IF_ERROR(r.CheckKeys(root, "", {"kafka", "ingest", "store", "http", "cluster", "monitoring", "features"}));
  if (const YAML::Node k = root["kafka"]) RETURN_IF_ERROR(config::ReadKeys(r, k, "kafka", KafkaKeys(), &cfg->kafka));
  RETURN_IF_ERROR(CheckKafka(r, cfg->kafka));
  if (const YAML::Node i = root["ingest"]) RETURN_IF_ERROR(config::ReadKeys(r, i, "ingest", IngestKeys(), &cfg->ingest));
  if (const YAML::Node s = root["store"]) RETURN_IF_ERROR(config::ReadKeys(r, s, "store", StoreKeys(), &cfg->store));
  if (const YAML::Node h = root["http"]) {
    RETURN_IF_ERROR(CheckHttp(r, h));
    RETURN_IF_ERROR(config::ReadKeys(r, h, "http", HttpKeys(), &cfg->http));
  }
  if (const YAML::Node c = root["cluster"]) RETURN_IF_ERROR(config::ReadKeys(r, c, "cluster", ClusterKeys(), &cfg->cluster));
  if (const YAML::Node m = root["monitoring"])
    RETURN_IF_ERROR(config::ReadKeys(r, m, "monitoring", MonitoringKeys(), &cfg->monitoring));
  if (const YAML::Node f = root["features"]) RETURN_IF_ERROR(ReadFeatures(r, f, &cfg->features));
  auto compiled = FeatureSet::Compile(cfg->features);
  if (!compiled.ok()) return r.Error("features", compiled.status().message());
  return Status::Ok();
}

Result<Config> Parse(const std::string& yaml, const std::string& source_name, Config cfg) {
  cfg.source = source_name;
  const size_t slash = source_name.rfind('/');
  const std::string dir = source_name.front() == '<' ? "" : slash == std::string::npos ? "." : source_name.substr(0, slash);
  Reader reader(source_name, dir);
  try {
    YAML::Node root = YAML::Load(yaml);
    Status st = ReadConfig(reader, root, &cfg);
    if (!st.ok()) return st;
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(source_name + ": line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  return cfg;
}

}  // namespace

const char* DefaultFeaturesYaml() { return kDefaultFeatures; }

Result<Config> LoadDefaultConfig() { return Parse(kDefaultFeatures, "<embedded default>", Config()); }

Result<Config> LoadConfigString(const std::string& yaml, const std::string& source_name) {
  // The default features apply unless the file defines its own.
  auto defaults = LoadDefaultConfig();
  if (!defaults.ok()) return defaults.status();
  return Parse(yaml, source_name, std::move(*defaults));
}

Result<Config> LoadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument(path + ": cannot be read");
  std::stringstream buf;
  buf << in.rdbuf();
  return LoadConfigString(buf.str(), path);
}

std::string DefaultConfigYaml() {
  const Config cfg;
  std::string out = kHeader;
  out += "\nkafka:\n";
  config::RenderKeys(KafkaKeys(), cfg.kafka, "  ", &out);
  out += "\ningest:\n";
  config::RenderKeys(IngestKeys(), cfg.ingest, "  ", &out);
  out += "\nstore:\n";
  config::RenderKeys(StoreKeys(), cfg.store, "  ", &out);
  out += "\nhttp:\n";
  config::RenderKeys(HttpKeys(), cfg.http, "  ", &out);
  out += "\n# Instances that share kafka.group_id split its tasks between them.\ncluster:\n";
  config::RenderKeys(ClusterKeys(), cfg.cluster, "  ", &out);
  out +=
      "\n# Model monitoring. With nothing here every model and model_version seen on\n"
      "# the predictions topic is monitored with all its features; these are the\n"
      "# defaults spelled out. A second consumer group, \"<group_id>.monitor\", reads\n"
      "# predictions and clicks. Everything runs on event time (the watermark).\n"
      "monitoring:\n";
  config::RenderKeys(MonitoringKeys(), cfg.monitoring, "  ", &out);
  out += "\n";
  out += kDefaultFeatures;
  return out;
}

Status SetAdvertisedUrl(const std::string& text, HttpOptions* http) {
  std::string url = text;
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.empty()) {
    http->advertised_url.clear();
    return Status::Ok();
  }
  auto parsed = ParseHttpUrl(url);
  const std::string expected = "expected http://host:port, the URL the group's other instances reach this one at";
  if (!parsed.ok()) return Status::InvalidArgument(expected + ", got '" + text + "'");
  if (parsed->target != "/") return Status::InvalidArgument(expected + " (no path), got '" + text + "'");
  uint16_t port = 0;
  std::string host;
  if (!ParseHostPort("x:" + parsed->port, &host, &port).ok() || port == 0)
    return Status::InvalidArgument(expected + ": '" + parsed->port + "' is not a port");
  http->advertised_url = url;
  return Status::Ok();
}

Status SetHttpListen(const std::string& text, HttpServerOptions* server) {
  std::string host;
  uint16_t port = 0;
  Status st = ParseHostPort(text, &host, &port);
  if (!st.ok()) return st;
  // A name (localhost, a host's own name) becomes the address it resolves to
  // now, so that a name the server cannot bind fails here, not at start.
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.c_str(), nullptr, &hints, &found); rc != 0 || !found)
    return Status::InvalidArgument("'" + host + "' does not resolve to an address to listen on: " + gai_strerror(rc));
  char numeric[INET6_ADDRSTRLEN] = {};
  const void* addr = found->ai_family == AF_INET6
                         ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(found->ai_addr)->sin6_addr)
                         : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(found->ai_addr)->sin_addr);
  const bool printed = inet_ntop(found->ai_family, addr, numeric, sizeof(numeric)) != nullptr;
  freeaddrinfo(found);
  if (!printed) return Status::InvalidArgument("'" + host + "' resolves to an address this host cannot print");
  server->host = numeric;
  server->port = port;
  return Status::Ok();
}

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

}  // namespace featmon
