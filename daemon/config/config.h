// featmond's configuration: one YAML file, validated in one place. Errors
// name the file, the key path and the problem:
//   "featmon.yaml: features.user[3].window: unknown duration unit 'x' in '5x'"
//
// Each section is the options struct of the part it configures (the store's
// RocksDbStoreOptions, the ingest pipeline's IngestPipelineOptions, ...), so a
// default is written once, where that struct declares it. config.cpp holds one
// table per section naming each key, its field, its parser, its range and its
// one-line doc; the shipped config/featmon.yaml is printed from those tables
// (`featmond --print-default-config`) and a test keeps the two equal.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "daemon/http/http_server.h"
#include "daemon/http/webhook_notifier.h"
#include "daemon/ingest/ingest_options.h"
#include "daemon/kafka/message_source.h"
#include "daemon/monitor/monitor_options.h"
#include "daemon/store/rocksdb_store_options.h"
#include "features/feature_spec.h"

namespace featmon {

struct KafkaOptions {
  std::string brokers = "localhost:9092";         // bootstrap servers. Default: localhost:9092
  std::string group_id = "featmond";              // consumer group. Default: featmond
  // group.instance.id of both groups' consumers: static membership, so a
  // restarted instance gets its own partitions back. Default: none (dynamic)
  std::string group_instance_id;
  std::string views_topic = "views";              // ViewEvent topic. Default: views
  std::string clicks_topic = "clicks";            // ClickEvent topic. Default: clicks
  std::string predictions_topic = "predictions";  // PredictionEvent topic. Default: predictions
  std::string dead_letter_topic = "featmon.dlq";  // rejected messages. Default: featmon.dlq
  // A dead letter's payload is cut beyond this (headers say so). Default: 256KB
  size_t dead_letter_max_payload_bytes = kDefaultDeadLetterMaxPayloadBytes;
  std::string retrain_topic = "featmon.retrain";  // RetrainRequest output, keyed by model. Default: featmon.retrain
  // LabeledExample output, keyed by user, one per matured label of a model
  // with monitoring `examples: true`. Default: featmon.examples
  std::string examples_topic = "featmon.examples";
  // Where the instances sharing the group announce their advertised URL and
  // tasks (daemon/kafka/members_topic.h); used only with
  // http.advertised_url. One partition, compacted. Default: featmon.members
  std::string members_topic = "featmon.members";
  // Where each commit's entity states also go, partition n for task n, so a
  // task moved to another instance is restored from it instead of replayed
  // from its inputs (daemon/kafka/task_changelog.h). Empty: no changelog.
  // Compacted, one partition per input partition. Default: none
  std::string changelog_topic;
  // Set: the instances of the group monitor once between them, on the one
  // the group "<group_id>.monitor-owner" elects, and the monitoring state
  // goes here (partition 0) to move with the election
  // (daemon/monitor/monitoring_owner.h). Empty: each instance monitors what
  // its "<group_id>.monitor" group gives it. Compacted, one partition.
  // Default: none
  std::string monitor_changelog_topic;
  // Set: item features are computed from the events re-keyed by item_id
  // through this topic, so each item's state lives in one task (the items
  // partition murmur2(item_id) % partitions) and one lookup reads it
  // (daemon/ingest/ingest_pipeline.h). Empty: each task keeps a partial
  // state of the items its users saw, merged at lookup. As many partitions
  // as the inputs; delete-retention of a day or more. Set on a group that ran
  // without it, lookups sum the partial states from before with the re-keyed
  // ones: exact on one instance, short on a cluster (an owner reads only its
  // tasks' shards) until the longest window passes. Default: none
  std::string item_repartition_topic;
  int embedded_partitions = 8;                    // partitions per topic of --embedded-kafka. Default: 8
  std::map<std::string, std::string> properties;  // passed to librdkafka verbatim. Default: none
};

struct IngestOptions {
  // The pipeline's own options; the topics come from `kafka:` and its
  // cache_max_entities is each worker's share of the total below.
  IngestPipelineOptions pipeline;
  size_t cache_max_entities = 2'000'000;     // entity states cached, all workers together. Default: 2,000,000
  size_t cache_max_bytes = size_t{1} << 30;  // their memory, all workers together (an estimate). Default: 1GB
  int64_t entity_ttl_grace_ms = 86'400'000;  // idle expiry = longest window + this. Default: 1d
  int workers = 2;                           // ingest threads, each owning partition % workers. Default: 2
};

struct HttpOptions {
  HttpServerOptions server;  // host and port from http.listen
  // Bearer token that /v1/status and /v1/monitoring require, read from
  // bearer_token_file (its first line) or the environment variable named by
  // bearer_token_env; empty when neither is set (those routes are open).
  // Never logged, never reported. Default: none
  std::string bearer_token;
  // http.isolation, as Kafka's isolation.level: read_uncommitted lookups see
  // an event once it is applied in memory (milliseconds), read_committed once
  // it is committed with its offset (up to ingest.commit_interval later).
  // Default: read_uncommitted
  bool read_uncommitted = true;
  // The URL the other instances of the consumer group reach this one at
  // (http://host:port). Set, lookups of keys another instance owns are
  // proxied to it; empty, they get 503 naming the key's task. Default: none
  std::string advertised_url;
  // How long a lookup proxied to its owner may take. Default: 1s
  int64_t proxy_timeout_ms = 1'000;
};

// Model monitoring: a second consumer (group "<group_id>.monitor") reads the
// predictions and clicks topics; see drift/model_monitor.h for the semantics.
struct MonitoringOptions {
  bool enabled = true;            // consume predictions and monitor models. Default: true
  // The pipeline's own options; the topics come from `kafka:`, the decoder
  // limits and poll batch from `ingest:`.
  MonitorPipelineOptions pipeline;
  // CPU niceness of the monitoring thread: it yields to feature ingestion
  // when cores are saturated and catches up after. 0 = equal share. Default: 10
  int nice = 10;
  WebhookOptions webhooks;        // urls, attempts, timeout_ms; on_give_up is wired by the App
};

// Instances that share a consumer group split its tasks between them.
struct ClusterOptions {
  // Warm standby copies of each task kept by other instances, which follow
  // its changelog so that a failover restores only its newest records; needs
  // kafka.changelog_topic and http.advertised_url. Default: 0
  int standby_replicas = 0;
};

struct Config {
  std::string source = "<embedded default>";  // where it was read from, for messages
  KafkaOptions kafka;
  IngestOptions ingest;
  RocksDbStoreOptions store;
  HttpOptions http;
  ClusterOptions cluster;
  MonitoringOptions monitoring;
  std::vector<FeatureSpec> features;  // Default: the features of DefaultFeaturesYaml()
};

// The default feature definitions, as the `features:` section of a file.
const char* DefaultFeaturesYaml();

// Every key with its default and doc: the shipped config/featmon.yaml.
std::string DefaultConfigYaml();

Result<Config> LoadConfigString(const std::string& yaml, const std::string& source_name);
Result<Config> LoadConfigFile(const std::string& path);
Result<Config> LoadDefaultConfig();

// Sets http.listen from "host:port" (the --http-listen flag uses it too).
Status SetHttpListen(const std::string& text, HttpServerOptions* server);

// Sets http.advertised_url from "http://host:port" (the --advertised-url
// flag uses it too); a trailing slash is dropped, a path refused.
Status SetAdvertisedUrl(const std::string& text, HttpOptions* http);

// Splits "host:port"; the port must be 0-65535.
Status ParseHostPort(const std::string& text, std::string* host, uint16_t* port);

}  // namespace featmon
