// featmond's configuration: one YAML file, validated in one place. Errors
// name the file, the key path and the problem:
//   "featmon.yaml: features.user[3].window: unknown duration unit 'x' in '5x'"
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "features/feature_spec.h"

namespace featmon {

struct KafkaOptions {
  std::string brokers = "localhost:9092";      // bootstrap servers. Default: localhost:9092
  std::string group_id = "featmond";           // consumer group. Default: featmond
  std::string views_topic = "views";           // ViewEvent topic. Default: views
  std::string clicks_topic = "clicks";         // ClickEvent topic. Default: clicks
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
};

struct HttpOptions {
  std::string listen = "127.0.0.1:8080";  // host:port. Default: 127.0.0.1:8080 (loopback)
  int threads = 2;                        // I/O threads. Default: 2
};

struct Config {
  std::string source = "<embedded default>";  // where it was read from, for messages
  KafkaOptions kafka;
  IngestOptions ingest;
  StoreOptions store;
  HttpOptions http;
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
