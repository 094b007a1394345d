// featmond's configuration: one YAML file, validated in one place. Errors
// name the file, the key path and the problem:
//   "featmon.yaml: features.user[3].window: unknown duration unit 'x' in '5x'"
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "drift/model_monitor.h"
#include "features/feature_spec.h"

namespace featmon {

struct KafkaOptions {
  std::string brokers = "localhost:9092";      // bootstrap servers. Default: localhost:9092
  std::string group_id = "featmond";           // consumer group. Default: featmond
  std::string views_topic = "views";           // ViewEvent topic. Default: views
  std::string clicks_topic = "clicks";         // ClickEvent topic. Default: clicks
  std::string predictions_topic = "predictions";  // PredictionEvent topic. Default: predictions
  std::string retrain_topic = "featmon.retrain";  // RetrainRequest output, keyed by model. Default: featmon.retrain
  std::string dead_letter_topic = "featmon.dlq";  // rejected messages. Default: featmon.dlq
  int embedded_partitions = 8;                 // partitions per topic of --embedded-kafka. Default: 8
  std::map<std::string, std::string> properties;  // passed to librdkafka verbatim. Default: none
};

struct IngestOptions {
  int64_t commit_interval_ms = 200;      // state + offsets write period. Default: 200ms
  int64_t max_future_skew_ms = 300'000;  // reject events further ahead of the clock. Default: 5m
  size_t max_id_bytes = 256;             // reject longer ids. Default: 256
  size_t cache_max_entities = 2'000'000; // entity states cached between commits, all workers together. Default: 2,000,000
  int64_t entity_ttl_grace_ms = 86'400'000;  // idle expiry = longest window + this. Default: 1d
  size_t poll_batch = 10'000;            // messages taken from librdkafka per poll. Default: 10,000
  int workers = 2;                       // ingest threads, each owning partition % workers. Default: 2
};

struct StoreOptions {
  std::string data_dir = "featmon-data";  // RocksDB directory. Default: ./featmon-data
  size_t block_cache_bytes = 256u << 20;  // RocksDB block cache. Default: 256MB
  // Memory for the entity memtables together; each is a quarter of it and is
  // flushed to an SST file when full. Default: 64MB
  size_t memtable_memory_bytes = 64u << 20;
  // Commits pause (offsets held, /readyz false) while the data filesystem has
  // less free space than this; they resume by themselves. 0: off. Default: 256MB
  size_t min_free_bytes = 256u << 20;
  // Bytes per second RocksDB flushes and compactions may write. 0: unlimited. Default: 0
  size_t background_write_rate = 0;
};

struct HttpOptions {
  std::string listen = "127.0.0.1:8080";  // host:port. Default: 127.0.0.1:8080 (loopback)
  int threads = 2;                        // I/O threads. Default: 2
  int64_t idle_timeout_ms = 30'000;       // a connection must deliver a whole request this soon. Default: 30s
  int max_connections = 16'384;           // further connections are closed at once. Default: 16,384
  // Bearer token that /v1/status and /v1/monitoring require, read from
  // bearer_token_file (its first line) or the environment variable named by
  // bearer_token_env; empty when neither is set (those routes are open).
  // Never logged, never reported. Default: none
  std::string bearer_token;
};

// Model monitoring: a second consumer (group "<group_id>.monitor") reads the
// predictions and clicks topics; see drift/model_monitor.h for the semantics.
struct MonitoringOptions {
  bool enabled = true;                       // consume predictions and monitor models. Default: true
  size_t max_models = 20;                    // models tracked; predictions of others are counted and skipped. Default: 20
  size_t max_pending_labels = 2'000'000;     // predictions waiting for a label; beyond, no label is tracked. Default: 2,000,000
  int64_t allowed_lateness_ms = 30'000;      // watermark = slowest partition's event time minus this. Default: 30s
  int64_t partition_idle_timeout_ms = 30'000;  // a caught-up partition silent this long stops holding the watermark back. Default: 30s
  int64_t commit_interval_ms = 5'000;        // monitoring state + offsets write period (the state is rewritten whole). Default: 5s
  int nice = 10;                             // CPU niceness of the monitoring thread: it yields to feature ingestion
                                             // when cores are saturated and catches up after. 0 = equal share. Default: 10
  std::vector<std::string> webhooks;         // http://host:port/path URLs POSTed each retrain request. Default: none
  int webhook_attempts = 6;                  // tries per request and URL, with backoff 0.5s, 1s, 2s, ... Default: 6
  int64_t webhook_timeout_ms = 5'000;        // per attempt. Default: 5s
  drift::MonitorOptions defaults;            // every model unless overridden (monitoring.defaults)
  std::map<std::string, drift::MonitorOptions> models;  // per model (monitoring.models.<name>), on top of defaults
};

struct Config {
  std::string source = "<embedded default>";  // where it was read from, for messages
  KafkaOptions kafka;
  IngestOptions ingest;
  StoreOptions store;
  HttpOptions http;
  MonitoringOptions monitoring;
  std::vector<FeatureSpec> features;
};

// The shipped default (config/featmon.yaml, compiled in).
const char* DefaultConfigYaml();

Result<Config> LoadConfigString(const std::string& yaml, const std::string& source_name);
Result<Config> LoadConfigFile(const std::string& path);
inline Result<Config> LoadDefaultConfig() { return LoadConfigString(DefaultConfigYaml(), "<embedded default>"); }

// Splits "host:port"; the port must be 0-65535.
Status ParseHostPort(const std::string& text, std::string* host, uint16_t* port);

}  // namespace featmon
