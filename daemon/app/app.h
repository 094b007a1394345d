// The composition root: builds every adapter from the config, wires them,
// runs the ingest thread, and stops them in reverse order. No logic lives
// here beyond that.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/heartbeats.h"
#include "daemon/config/config.h"

namespace featmon {

class EmbeddedBroker;
struct KafkaClientOptions;
class RocksDbStore;
class KafkaConsumer;
class KafkaTopicProducer;
class RepartitionProducer;
class KafkaOutboxProducer;
class MonitorPipeline;
class MonitoringOwner;
class RetrainPublisher;
class WebhookNotifier;
class Metrics;
class IngestWorkers;
class FeatureApi;
class ClusterMembership;
class HttpServer;
class FeatureSet;

struct AppOptions {
  Config config;                 // validated configuration
  bool embedded_kafka = false;   // start an in-process broker and use it
  const Clock* clock = nullptr;  // Default: SystemClock
};

class App {
 public:
  static Result<std::unique_ptr<App>> Start(AppOptions options);
  ~App();

  // Asks the ingest loop to finish; Stop() then persists and shuts down.
  void RequestStop() { stop_.store(true); }
  // Persists state and offsets, leaves the group, stops HTTP. Idempotent.
  // Takes a few seconds at most: a consumer close that a silent broker holds
  // up is left running after KafkaConsumer::kCloseTimeoutMs (see
  // kafka_close_abandoned), and producers get kFinalFlushMs together.
  Status Stop();
  // True when Stop left a consumer's close running. librdkafka's threads
  // then still run, so the process should end with _exit rather than run
  // static destructors under them; nothing stored is at risk.
  bool kafka_close_abandoned() const;
  static constexpr int kFinalFlushMs = 2'000;

  // The daemon's loops (ingest workers, group events, monitoring) silent for
  // longer than max_silence_ns: wedged, for the service watchdog.
  std::vector<std::string> StalledLoops(int64_t max_silence_ns) const { return heartbeats_->Stalled(max_silence_ns); }

  uint16_t http_port() const;
  const std::string& kafka_bootstrap() const { return bootstrap_; }

 private:
  App() = default;
  void ServeGroupEvents(LoopHeartbeats::Heartbeat heartbeat);
  // A full copy (not a cluster member) whose group has committed past its
  // stored offsets while it was down starts as a cluster member instead
  // (IngestWorkers::CheckCopyAgainstGroup). Before anything is served.
  Status CheckStoredCopy(const Config& cfg);
  // How long that waits for the group's answer (one round trip when the
  // brokers are up) before serving the copy anyway, saying so in the log.
  static constexpr int kStoredCopyCheckTimeoutMs = 2'000;
  Status StartMonitoring(const KafkaClientOptions& kafka);
  void RunMonitoring(LoopHeartbeats::Heartbeat heartbeat);

  AppOptions options_;
  std::string bootstrap_;
  std::unique_ptr<EmbeddedBroker> broker_;
  std::unique_ptr<LoopHeartbeats> heartbeats_;
  std::unique_ptr<FeatureSet> features_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<RocksDbStore> store_;
  std::vector<std::unique_ptr<KafkaTopicProducer>> dead_letters_;  // one per worker: flush failures stay theirs
  std::vector<std::unique_ptr<RepartitionProducer>> repartition_;   // one per worker, with an item repartition topic
  std::unique_ptr<IngestWorkers> workers_;
  std::unique_ptr<KafkaConsumer> consumer_;
  std::unique_ptr<FeatureApi> api_;
  std::unique_ptr<HttpServer> http_;
  // With http.advertised_url: announces this instance, routes lookups to owners.
  std::unique_ptr<ClusterMembership> membership_;
  // Model monitoring: its own consumer, pipeline and thread.
  std::unique_ptr<KafkaTopicProducer> monitor_dead_letters_;
  std::unique_ptr<KafkaTopicProducer> retrain_producer_;
  std::unique_ptr<WebhookNotifier> webhooks_;
  std::unique_ptr<RetrainPublisher> retrain_publisher_;
  std::unique_ptr<KafkaOutboxProducer> examples_producer_;
  std::unique_ptr<MonitorPipeline> monitor_;
  std::unique_ptr<KafkaConsumer> monitor_consumer_;
  // Instead of the two above, with kafka.monitor_changelog_topic: monitoring
  // once per group, on the instance the group elects.
  std::unique_ptr<MonitoringOwner> monitoring_owner_;
  std::thread monitor_thread_;
  std::thread group_thread_;  // serves rebalances; the workers have their own threads
  std::atomic<bool> stop_{false};
  Status final_status_;
  bool stopped_ = false;
};

const char* FeatmonVersion();

}  // namespace featmon
