#include "daemon/config/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace featmon {
namespace {

TEST(ConfigTest, EmbeddedDefaultDefinesTheDocumentedFeatures) {
  auto cfg = LoadDefaultConfig();
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  auto set = FeatureSet::Compile(cfg->features);
  ASSERT_TRUE(set.ok());
  std::vector<std::string> user, item;
  for (const auto& f : set->features(EntityKind::kUser)) user.push_back(f.name);
  for (const auto& f : set->features(EntityKind::kItem)) item.push_back(f.name);
  EXPECT_EQ(user, (std::vector<std::string>{"views_1h", "clicks_1h", "views_24h", "clicks_24h", "views_7d", "clicks_7d",
                                            "ctr_24h", "ctr_7d", "last_clicked_items", "distinct_items_viewed_24h",
                                            "last_event_ts_ms"}));
  EXPECT_EQ(item, (std::vector<std::string>{"views_1h", "clicks_1h", "views_24h", "clicks_24h", "views_7d", "clicks_7d",
                                            "ctr_24h", "ctr_7d", "distinct_users_viewed_24h", "last_event_ts_ms"}));
  EXPECT_EQ(cfg->kafka.views_topic, "views");
  EXPECT_EQ(cfg->kafka.dead_letter_topic, "featmon.dlq");
  EXPECT_EQ(cfg->http.server.host, "127.0.0.1");
  EXPECT_EQ(cfg->http.server.port, 8080);
  EXPECT_EQ(cfg->ingest.pipeline.decoder.max_future_skew_ms, 300'000);
}

TEST(ConfigTest, FileOverridesKeysAndKeepsDefaultFeatures) {
  auto cfg = LoadConfigString("kafka:\n  brokers: k1:9092,k2:9092\n  properties: {security.protocol: SASL_SSL}\n"
                              "ingest: {commit_interval: 1s}\n", "my.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->kafka.brokers, "k1:9092,k2:9092");
  EXPECT_EQ(cfg->kafka.properties.at("security.protocol"), "SASL_SSL");
  EXPECT_EQ(cfg->ingest.pipeline.commit_interval_ms, 1000);
  EXPECT_EQ(cfg->features.size(), 21u);
}

TEST(ConfigTest, LookupIsolation) {
  auto defaults = LoadConfigString("", "empty.yaml");
  ASSERT_TRUE(defaults.ok());
  EXPECT_TRUE(defaults->http.read_uncommitted);
  auto committed = LoadConfigString("http: {isolation: read_committed}", "c.yaml");
  ASSERT_TRUE(committed.ok()) << committed.status().ToString();
  EXPECT_FALSE(committed->http.read_uncommitted);
}

TEST(ConfigTest, CustomFeatures) {
  auto cfg = LoadConfigString(R"(
features:
  item:
    - {name: dwell_sum_1h, sources: [clicks], aggregation: sum, field: value, window: 1h}
    - {name: clicks_decayed, sources: [clicks], aggregation: decayed_count, half_life: 6h}
    - {name: categories_seen, sources: [views], aggregation: approx_distinct, field: category, window: 2d, tile: 2h}
)", "custom.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->features.size(), 3u);
  EXPECT_EQ(cfg->features[2].tile_ms, 2 * 3600'000);
}

void ExpectError(const std::string& yaml, const std::string& fragment) {
  auto cfg = LoadConfigString(yaml, "bad.yaml");
  ASSERT_FALSE(cfg.ok()) << yaml;
  EXPECT_NE(cfg.status().message().find("bad.yaml"), std::string::npos) << cfg.status().message();
  EXPECT_NE(cfg.status().message().find(fragment), std::string::npos) << cfg.status().message();
}

TEST(ConfigTest, ErrorsNameFileKeyAndProblem) {
  ExpectError("kafka: {brokerz: x}", "kafka.brokerz: unknown key");
  ExpectError("ingest: {commit_interval: 5x}", "ingest.commit_interval: unknown duration unit 'x'");
  ExpectError("http: {listen: nowhere}", "http.listen");
  ExpectError("http: {threads: 0}", "http.threads: 0 is out of range");
  ExpectError("http: {isolation: serializable}", "http.isolation: expected read_uncommitted or read_committed, got 'serializable'");
  ExpectError("features:\n  user:\n    - {name: a, sources: [views], aggregation: count, window: 1h}\n"
              "    - {name: b, sources: [taps], aggregation: count, window: 1h}\n",
              "features.user[1].sources[0]: 'taps' is not views or clicks");
  ExpectError("features:\n  user:\n    - {name: a, sources: [views], aggregation: median, window: 1h}\n",
              "features.user[0].aggregation: 'median'");
  ExpectError("features:\n  user:\n    - {name: r, aggregation: ratio, numerator: x, denominator: y}\n",
              "feature 'r' (user): numerator 'x'");
  ExpectError("kafka: [1, 2", "line");
}

TEST(ConfigTest, ARepeatedKeyIsRefusedNotHalfRead) {
  ExpectError("ingest:\n  commit_interval: 1s\nkafka:\n  group_id: g\ningest:\n  state_cleanup_delay: 1s\n",
              "ingest: appears twice, on lines 1 and 5; merge them into one");
  ExpectError("kafka:\n  group_id: a\n  brokers: b:9092\n  group_id: c\n", "kafka.group_id: appears twice, on lines 2 and 4");
  ExpectError("features:\n  user:\n    - {name: a, name: b, sources: [views], aggregation: count, window: 1h}\n",
              "features.user[0].name: appears twice");
  // The same key in different mappings is fine.
  EXPECT_TRUE(LoadConfigString("kafka: {group_id: g}\nhttp: {advertised_url: ''}\n", "t.yaml").ok());
}

TEST(ConfigTest, MonitoringDefaultsMatchTheLibraryAndModelsOverrideThem) {
  auto def = LoadDefaultConfig();
  ASSERT_TRUE(def.ok()) << def.status().ToString();
  const drift::MonitorOptions lib;
  const drift::MonitorOptions& o = def->monitoring.pipeline.defaults;
  EXPECT_TRUE(def->monitoring.enabled);
  EXPECT_EQ(o.window_ms, lib.window_ms);
  EXPECT_EQ(o.evaluation_period_ms, lib.evaluation_period_ms);
  EXPECT_EQ(o.attribution_window_ms, lib.attribution_window_ms);
  EXPECT_EQ(o.cooldown_ms, lib.cooldown_ms);
  EXPECT_EQ(o.min_samples, lib.min_samples);
  EXPECT_EQ(o.consecutive_evaluations, lib.consecutive_evaluations);
  EXPECT_EQ(o.numeric_rule.alert, 0.2);
  EXPECT_EQ(o.categorical_rule.statistic, drift::Statistic::kJensenShannon);
  EXPECT_EQ(o.retrain_detectors, lib.retrain_detectors);
  EXPECT_EQ(o.page_hinkley.alpha, lib.page_hinkley.alpha);
  EXPECT_EQ(def->kafka.predictions_topic, "predictions");
  EXPECT_EQ(def->kafka.retrain_topic, "featmon.retrain");

  auto cfg = LoadConfigString(R"(
monitoring:
  webhooks: [http://127.0.0.1:9/hook]
  defaults: {window: 30m, evaluation_period: 1m}
  models:
    ctr_ranker:
      reference: previous_window
      features: {age: {statistic: ks, warn: 0.05, alert: 0.01}}
      skip_features: [debug_flag]
      retrain_on: [data, ddm]
)", "m.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  const auto& m = cfg->monitoring.pipeline.models.at("ctr_ranker");
  EXPECT_EQ(m.window_ms, 30 * 60'000);  // inherited from defaults
  EXPECT_EQ(m.reference, drift::ReferenceKind::kPreviousWindow);
  EXPECT_EQ(m.feature_rules.at("age").statistic, drift::Statistic::kKs);
  EXPECT_TRUE(m.skip_features.count("debug_flag"));
  EXPECT_FALSE(m.retrain_on_calibration);
  EXPECT_TRUE(m.retrain_detectors.count("ddm"));
  EXPECT_EQ(cfg->monitoring.webhooks.urls.size(), 1u);
}

TEST(ConfigTest, MonitoringErrorsNameTheKey) {
  ExpectError("monitoring: {defaults: {window: 7m}}", "monitoring.defaults.window: must be a multiple of evaluation_period");
  ExpectError("monitoring: {defaults: {reference: yesterday}}", "monitoring.defaults.reference: 'yesterday'");
  ExpectError("monitoring: {models: {m: {numeric: {statistic: mean}}}}", "monitoring.models.m.numeric.statistic: 'mean'");
  ExpectError("monitoring: {models: {m: {numeric: {warn: 0.3, alert: 0.2}}}}", "monitoring.models.m.numeric: needs warn <= alert");
  ExpectError("monitoring: {models: {m: {retrain_on: [data, vibes]}}}", "monitoring.models.m.retrain_on[1]: 'vibes'");
  ExpectError("monitoring: {webhooks: [ftp://x]}", "monitoring.webhooks[0]");
  ExpectError("monitoring: {models: {m: {reference: profile}}}", "needs a profile file");
  ExpectError("monitoring: {models: {m: {profile: /nonexistent.json}}}", "monitoring.models.m.profile: cannot read");
  ExpectError("monitoring: {defaults: {calibration: [1.2, 0.8]}}", "monitoring.defaults.calibration: needs low < 1 < high");
  ExpectError("monitoring: {enabled: maybe}", "monitoring.enabled: expected true or false");
}

// Configs written before the fast window still load: a window no longer than
// the default fast window (15m) or an evaluation period it is not a multiple
// of just leaves the second scale off or rounds it down.
TEST(ConfigTest, ShortWindowsLoadWithTheDefaultFastWindow) {
  for (const char* yaml : {"monitoring: {defaults: {window: 5m, evaluation_period: 1m}}\n",
                           "monitoring: {defaults: {window: 1h, evaluation_period: 10m}}\n"}) {
    auto cfg = LoadConfigString(yaml, "t.yaml");
    EXPECT_TRUE(cfg.ok()) << yaml << cfg.status().ToString();
  }
}

TEST(ConfigTest, BearerTokenFromAFileOrTheEnvironment) {
  const std::string path = ::testing::TempDir() + "/featmon-token";
  { std::ofstream(path) << "0123456789abcdef0123\n"; }
  auto cfg = LoadConfigString("http: {bearer_token_file: " + path + ", idle_timeout: 5s, max_connections: 100}\n", "t.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->http.bearer_token, "0123456789abcdef0123");  // the newline trimmed
  EXPECT_EQ(cfg->http.server.idle_timeout_ms, 5000);
  EXPECT_EQ(cfg->http.server.max_connections, 100u);
  setenv("FEATMON_TEST_TOKEN", "fedcba9876543210fedc", 1);
  cfg = LoadConfigString("http: {bearer_token_env: FEATMON_TEST_TOKEN}\n", "t.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->http.bearer_token, "fedcba9876543210fedc");
  EXPECT_TRUE(LoadDefaultConfig()->http.bearer_token.empty());

  ExpectError("http: {bearer_token_file: /nonexistent/token}", "http.bearer_token_file: cannot read /nonexistent/token");
  ExpectError("http: {bearer_token_env: FEATMON_NO_SUCH_VARIABLE}", "http.bearer_token_env: environment variable");
  ExpectError("http: {bearer_token_file: " + path + ", bearer_token_env: X}", "not both");
  setenv("FEATMON_TEST_TOKEN", "short", 1);
  ExpectError("http: {bearer_token_env: FEATMON_TEST_TOKEN}", "at least 16 characters");
  unsetenv("FEATMON_TEST_TOKEN");
  // The error names the key, never the token.
  auto short_token = LoadConfigString("http: {bearer_token_env: X_UNSET_TOKEN}", "t.yaml");
  EXPECT_EQ(short_token.status().message().find("short"), std::string::npos);
  ExpectError("http: {idle_timeout: 10ms}", "http.idle_timeout: must be at least 100ms");
}

TEST(ConfigTest, StoreSizesAndTheFreeSpaceFloor) {
  auto cfg = LoadConfigString("store: {memtable_memory: 1MB, min_free_space: 0, background_write_rate: 2MB}\n", "s.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->store.memtable_memory_bytes, 1u << 20);
  EXPECT_EQ(cfg->store.min_free_bytes, 0u);
  EXPECT_EQ(cfg->store.background_write_rate, 2u << 20);
  auto defaults = LoadDefaultConfig();
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->store.min_free_bytes, 256u << 20);
  auto bad = LoadConfigString("store: {min_free_space: lots}\n", "s.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("store.min_free_space"), std::string::npos) << bad.status().ToString();
}

// config/featmon.yaml is what the tables print; a changed key, default or
// doc must be regenerated: build/daemon/featmond --print-default-config > config/featmon.yaml
TEST(ConfigTest, TheShippedFileIsWhatTheTablesPrint) {
  std::ifstream in(FEATMON_SOURCE_DIR "/config/featmon.yaml");
  ASSERT_TRUE(in);
  std::stringstream shipped;
  shipped << in.rdbuf();
  std::istringstream a(shipped.str()), b(DefaultConfigYaml());
  std::string line_a, line_b;
  for (int line = 1;; ++line) {
    // Both read on every line, so that a file longer than the other differs.
    const bool more_a = static_cast<bool>(std::getline(a, line_a));
    const bool more_b = static_cast<bool>(std::getline(b, line_b));
    if (!more_a && !more_b) break;
    ASSERT_EQ(line_a, line_b) << "config/featmon.yaml line " << line
                              << " differs; regenerate it: featmond --print-default-config > config/featmon.yaml";
    line_a.clear(), line_b.clear();
  }
}

// Reading the printed defaults back gives the defaults: every key parses,
// and no default prints as something that reads differently.
TEST(ConfigTest, ThePrintedDefaultsReadBackAsTheDefaults) {
  auto printed = LoadConfigString(DefaultConfigYaml(), "featmon.yaml");
  ASSERT_TRUE(printed.ok()) << printed.status().ToString();
  auto defaults = LoadDefaultConfig();
  ASSERT_TRUE(defaults.ok());
  // Printing both again must give the same text: a round trip through every table.
  Config a = *printed, b = *defaults;
  EXPECT_EQ(a.features.size(), b.features.size());
  EXPECT_EQ(a.kafka.dead_letter_topic, b.kafka.dead_letter_topic);
  EXPECT_EQ(a.ingest.pipeline.commit_interval_ms, b.ingest.pipeline.commit_interval_ms);
  EXPECT_EQ(a.store.block_cache_bytes, b.store.block_cache_bytes);
  EXPECT_EQ(a.store.path, b.store.path);
  EXPECT_EQ(a.http.server.port, b.http.server.port);
  EXPECT_EQ(a.monitoring.pipeline.defaults.page_hinkley.alpha, b.monitoring.pipeline.defaults.page_hinkley.alpha);
  EXPECT_EQ(a.monitoring.pipeline.defaults.retrain_detectors, b.monitoring.pipeline.defaults.retrain_detectors);
  EXPECT_EQ(a.monitoring.webhooks.attempts, b.monitoring.webhooks.attempts);
}

// Values bf86bbb accepted and failed on later: an overflowing skew that
// rejected every event, a cache size that wrapped, a listen address the
// server could not bind, topics librdkafka refused with "Invalid argument".
TEST(ConfigTest, ValuesAreCheckedWhenTheFileIsRead) {
  ExpectError("ingest: {max_future_skew: 15250284452w}", "ingest.max_future_skew: must be at most 1d");
  ExpectError("ingest: {max_future_skew: 99999999999999999999w}", "ingest.max_future_skew");
  ExpectError("store: {block_cache: 99999999999GB}", "store.block_cache: '99999999999GB' is more than 1024GB");
  ExpectError("store: {memtable_memory: 1KB}", "store.memtable_memory: '1KB' is less than 64KB");
  ExpectError("http: {listen: no-such-host.invalid:1234}", "http.listen: 'no-such-host.invalid' does not resolve");
  ExpectError("kafka: {topics: {views: events, clicks: events}}",
              "kafka.topics.clicks: 'events' is also kafka.topics.views; each role needs its own topic");
  ExpectError("kafka: {topics: {views: \"\"}}", "kafka.topics.views: '' is not a Kafka topic name");
  ExpectError("kafka: {dead_letter_topic: views}", "kafka.dead_letter_topic: 'views' is also kafka.topics.views");
  ExpectError("kafka: {topics: {predictions: a b}}", "kafka.topics.predictions: 'a b' is not a Kafka topic name");
  // The changelog is optional (empty), but never another role's topic.
  ExpectError("kafka: {changelog_topic: clicks}", "kafka.changelog_topic: 'clicks' is also kafka.topics.clicks");
  ExpectError("kafka: {changelog_topic: a/b}", "kafka.changelog_topic: 'a/b' is not a Kafka topic name");
  EXPECT_TRUE(LoadConfigString("kafka: {changelog_topic: \"\"}", "c.yaml").ok());
  ExpectError("monitoring: {defaults: {cooldown: 400d}}", "monitoring.defaults.cooldown: must be at most 365d");
  ExpectError("kafka: {dead_letter_max_payload: 2MB}", "kafka.dead_letter_max_payload: '2MB' is more than 900KB");
  // A name that resolves is taken as its address.
  auto cfg = LoadConfigString("http: {listen: localhost:1234}", "l.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_TRUE(cfg->http.server.host == "127.0.0.1" || cfg->http.server.host == "::1") << cfg->http.server.host;
  EXPECT_EQ(cfg->http.server.port, 1234);
}

// bf86bbb let kafka.properties.bootstrap.servers silently beat --kafka-brokers.
TEST(ConfigTest, PropertiesCannotSetWhatFeatmondOwns) {
  ExpectError("kafka: {properties: {bootstrap.servers: k9:9092}}",
              "kafka.properties.bootstrap.servers: set by kafka.brokers (or --kafka-brokers)");
  ExpectError("kafka: {properties: {group.id: g}}", "kafka.properties.group.id: set by kafka.group_id");
  ExpectError("kafka: {properties: {group.instance.id: pod-0}}", "kafka.properties.group.instance.id: set by kafka.group_instance_id");
  ExpectError("kafka: {properties: {enable.auto.commit: \"true\"}}", "kafka.properties.enable.auto.commit");
  ExpectError("kafka: {properties: {security.protocol: [SSL]}}", "kafka.properties.security.protocol: expected a string");
  EXPECT_TRUE(LoadConfigString("kafka: {properties: {security.protocol: SSL}}", "p.yaml").ok());
  auto static_member = LoadConfigString("kafka: {group_instance_id: featmond-0}", "p.yaml");
  ASSERT_TRUE(static_member.ok()) << static_member.status().ToString();
  EXPECT_EQ(static_member->kafka.group_instance_id, "featmond-0");
}

TEST(ConfigTest, HostPort) {
  std::string host;
  uint16_t port;
  ASSERT_TRUE(ParseHostPort("0.0.0.0:80", &host, &port).ok());
  EXPECT_EQ(host, "0.0.0.0");
  EXPECT_EQ(port, 80);
  ASSERT_TRUE(ParseHostPort("[::1]:0", &host, &port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_FALSE(ParseHostPort("host:99999", &host, &port).ok());
  EXPECT_FALSE(ParseHostPort(":80", &host, &port).ok());
}

}  // namespace
}  // namespace featmon
