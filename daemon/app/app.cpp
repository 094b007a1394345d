#include "daemon/app/app.h"

#include "daemon/logging/log.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "daemon/api/feature_api.h"
#include "daemon/ingest/ingest_workers.h"
#include "daemon/ingest/task_checkpoints.h"
#include "daemon/monitor/monitor_pipeline.h"
#include "daemon/monitor/monitoring_owner.h"
#include "daemon/monitor/retrain_publisher.h"
#include "daemon/http/webhook_notifier.h"
#include "daemon/http/http_server.h"
#include "daemon/kafka/embedded_broker.h"
#include "daemon/kafka/kafka_client.h"
#include "daemon/kafka/changelog_follower.h"
#include "daemon/kafka/changelog_topic.h"
#include "daemon/kafka/members_topic.h"
#include "daemon/kafka/outbox_producer.h"
#include "daemon/kafka/repartition_producer.h"
#include "daemon/membership/cluster_membership.h"
#include "daemon/metrics/metrics.h"
#include "daemon/pipeline/run_loop.h"
#include "daemon/store/rocksdb_store.h"

#ifndef FEATMON_VERSION
#define FEATMON_VERSION "0.0.0"
#endif

namespace featmon {

const char* FeatmonVersion() { return FEATMON_VERSION; }

namespace {
// librdkafka rejects a property only when a client is created; say which file it came from.
Status InConfig(const Config& cfg, const Status& st) {
  if (st.code() != StatusCode::kInvalidArgument) return st;
  return Status::InvalidArgument(cfg.source + ": kafka.properties: " + st.message());
}
// Features serve models now; monitoring works in event time and can lag a
// burst, so on saturated cores its threads get the leftovers.
void LowerThreadPriority(int nice) {
  if (nice > 0 && setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), nice) != 0)
    Log(Component::kMonitor).warn("cannot lower the thread's priority: {}", std::strerror(errno));
}
// How this instance signs its claims in the changelog, for people reading
// the log: its advertised URL, else its static member id, else host and pid.
std::string ChangelogOwner(const Config& cfg) {
  if (!cfg.http.advertised_url.empty()) return cfg.http.advertised_url;
  if (!cfg.kafka.group_instance_id.empty()) return cfg.kafka.group_instance_id;
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  return std::string(host) + ":" + std::to_string(getpid());
}

}  // namespace

Result<std::unique_ptr<App>> App::Start(AppOptions options) {
  std::unique_ptr<App> app(new App());
  app->options_ = std::move(options);
  const Config& cfg = app->options_.config;
  const Clock* clock = app->options_.clock ? app->options_.clock : &SystemClock::Instance();
  app->options_.clock = clock;
  app->heartbeats_ = std::make_unique<LoopHeartbeats>(clock);

  auto features = FeatureSet::Compile(cfg.features);
  if (!features.ok()) return Status::InvalidArgument(cfg.source + ": features: " + features.status().message());
  app->features_ = std::make_unique<FeatureSet>(std::move(*features));
  app->metrics_ = std::make_unique<Metrics>(FeatmonVersion());

  app->bootstrap_ = cfg.kafka.brokers;
  if (app->options_.embedded_kafka) {
    std::vector<std::string> topics = {cfg.kafka.views_topic,       cfg.kafka.clicks_topic,
                                       cfg.kafka.predictions_topic, cfg.kafka.dead_letter_topic,
                                       cfg.kafka.retrain_topic,     cfg.kafka.examples_topic,
                                       cfg.kafka.members_topic};
    if (!cfg.kafka.changelog_topic.empty()) topics.push_back(cfg.kafka.changelog_topic);  // a partition per task
    if (!cfg.kafka.monitor_changelog_topic.empty()) topics.push_back(cfg.kafka.monitor_changelog_topic);  // uses 0
    if (!cfg.kafka.item_repartition_topic.empty()) topics.push_back(cfg.kafka.item_repartition_topic);
    auto broker = EmbeddedBroker::Start({1, cfg.kafka.embedded_partitions, topics});
    if (!broker.ok()) return broker.status();
    app->broker_ = std::move(*broker);
    app->bootstrap_ = app->broker_->bootstrap();
    Log(Component::kApp).info("embedded Kafka broker at {}", app->bootstrap_);
  }

  // Standbys follow changelogs, and find the tasks to follow from the members' announcements.
  if (cfg.cluster.standby_replicas > 0 && (cfg.kafka.changelog_topic.empty() || cfg.http.advertised_url.empty()))
    return Status::InvalidArgument(cfg.source + ": cluster.standby_replicas: " +
                                   std::to_string(cfg.cluster.standby_replicas) +
                                   " needs kafka.changelog_topic and http.advertised_url (or --advertised-url); set "
                                   "both, or 0 for no standbys");

  RocksDbStoreOptions store_options = cfg.store;
  store_options.entity_ttl_ms = app->features_->LongestWindowMs() + cfg.ingest.entity_ttl_grace_ms;
  store_options.clock = clock;
  store_options.features = app->features_.get();
  const int64_t open_started_ns = clock->MonotonicNs();
  auto store = RocksDbStore::Open(store_options);
  if (!store.ok()) return store.status();
  app->store_ = std::move(*store);
  // After a crash, RocksDB replays its write-ahead log here: a restart's cost.
  Log(Component::kApp).info("store {} open in {:.2f} s", store_options.path,
                            static_cast<double>(clock->MonotonicNs() - open_started_ns) / 1e9);

  KafkaClientOptions kafka;
  kafka.brokers = app->bootstrap_;
  kafka.group_id = cfg.kafka.group_id;
  kafka.group_instance_id = cfg.kafka.group_instance_id;
  // A user's views and clicks are joined per partition: one task each.
  kafka.topics = {cfg.kafka.views_topic, cfg.kafka.clicks_topic};
  kafka.topic_settings = {"kafka.topics.views", "kafka.topics.clicks"};
  // Items partition n holds the items whose events task n's state takes.
  if (!cfg.kafka.item_repartition_topic.empty()) {
    kafka.topics.push_back(cfg.kafka.item_repartition_topic);
    kafka.topic_settings.push_back("kafka.item_repartition_topic");
  }
  kafka.properties = cfg.kafka.properties;

  IngestPipelineOptions ingest = cfg.ingest.pipeline;
  ingest.views_topic = cfg.kafka.views_topic;
  ingest.clicks_topic = cfg.kafka.clicks_topic;
  ingest.items_topic = cfg.kafka.item_repartition_topic;
  // The setting is the process total; each worker keeps its share.
  ingest.cache_max_entities = std::max<size_t>(1000, cfg.ingest.cache_max_entities / cfg.ingest.workers);
  ingest.cache_max_bytes = cfg.ingest.cache_max_bytes / static_cast<size_t>(cfg.ingest.workers);
  ingest.lookups_read_cache = cfg.http.read_uncommitted;
  std::vector<std::unique_ptr<IngestPipeline>> pipelines;
  for (int w = 0; w < cfg.ingest.workers; ++w) {
    auto dlq = KafkaTopicProducer::Create(kafka, cfg.kafka.dead_letter_topic, cfg.kafka.dead_letter_max_payload_bytes);
    if (!dlq.ok()) return InConfig(cfg, dlq.status());
    app->dead_letters_.push_back(std::move(*dlq));
    pipelines.push_back(std::make_unique<IngestPipeline>(ingest, app->features_.get(), app->store_.get(),
                                                         app->dead_letters_.back().get(), app->metrics_.get(), clock));
    if (!ingest.items_topic.empty()) {
      auto rekey = RepartitionProducer::Create(kafka, ingest.items_topic);
      if (!rekey.ok()) return InConfig(cfg, rekey.status());
      app->repartition_.push_back(std::move(*rekey));
      pipelines.back()->set_repartition(app->repartition_.back().get());
    }
    if (!cfg.kafka.changelog_topic.empty()) {
      auto changelog = ChangelogTopic::Open(kafka, cfg.kafka.changelog_topic);
      if (!changelog.ok()) return InConfig(cfg, changelog.status());
      auto state_changelog = std::make_unique<StateChangelog>(std::move(*changelog), ChangelogOwner(cfg),
                                                              cfg.kafka.views_topic, cfg.kafka.clicks_topic,
                                                              app->store_.get(), ingest.items_topic);
      // It reads assigned tasks' restores between batches, and standbys.
      auto follower = ChangelogFollower::Open(kafka, cfg.kafka.changelog_topic);
      if (!follower.ok()) return InConfig(cfg, follower.status());
      state_changelog->set_follower(std::move(*follower));
      pipelines.back()->set_changelog(std::move(state_changelog));
    }
  }
  app->workers_ = std::make_unique<IngestWorkers>(std::move(pipelines), clock, app->store_.get());
  if (Status st = app->workers_->ScheduleCleanupOfStoredTasks(); !st.ok()) return st;
  // A full copy (a group of its own) needs neither an advertised URL nor a changelog.
  const bool configured_cluster = !cfg.http.advertised_url.empty() || !cfg.kafka.changelog_topic.empty();
  if (Status st = app->workers_->RecallHoldings(configured_cluster); !st.ok()) return st;
  auto consumer = KafkaConsumer::Create(kafka, app->workers_.get(), cfg.ingest.workers);
  if (!consumer.ok()) return InConfig(cfg, consumer.status());
  app->consumer_ = std::move(*consumer);
  // Before the join: the group answers at once now, and only after the
  // join (seconds) once subscribed (KafkaConsumer::CommittedOffsets).
  if (Status st = app->CheckStoredCopy(cfg); !st.ok()) return st;
  if (Status st = app->consumer_->Subscribe(); !st.ok()) return InConfig(cfg, st);

  FeatureApiOptions api_options;
  api_options.version = FeatmonVersion();
  api_options.items_keyed = !cfg.kafka.item_repartition_topic.empty();
  if (app->broker_) api_options.embedded_kafka_bootstrap = app->bootstrap_;
  api_options.max_id_bytes = cfg.ingest.pipeline.decoder.max_id_bytes;
  api_options.bearer_token = cfg.http.bearer_token;
  app->api_ = std::make_unique<FeatureApi>(api_options, app->features_.get(), app->store_.get(), app->workers_.get(),
                                           app->metrics_.get(), clock);
  if (cfg.http.read_uncommitted) app->api_->set_live_states(app->workers_.get());
  if (cfg.monitoring.enabled) {
    Status monitoring = app->StartMonitoring(kafka);
    if (!monitoring.ok()) return monitoring;
    if (app->monitoring_owner_) app->api_->set_monitoring(app->monitoring_owner_.get());
    else app->api_->set_monitoring(app->monitor_.get());
  }

  // Before the server starts, so every request sees the routing; its first
  // announcement waits until the server answers at the advertised URL.
  if (!cfg.http.advertised_url.empty()) {
    auto members = MembersTopic::Start(kafka, cfg.kafka.members_topic);
    if (!members.ok()) return InConfig(cfg, members.status());
    ClusterMembershipOptions membership;
    membership.advertised_url = cfg.http.advertised_url;
    membership.bearer_token = cfg.http.bearer_token;
    membership.proxy_timeout_ms = cfg.http.proxy_timeout_ms;
    app->membership_ = ClusterMembership::Start(membership, std::move(*members), app->workers_.get(), clock);
    app->api_->set_peer_routing(app->membership_.get());
    if (app->monitoring_owner_) app->membership_->set_monitoring_owner(&app->monitoring_owner_->owning());
    if (cfg.cluster.standby_replicas > 0)
      app->workers_->SetStandbyTasks([m = app->membership_.get(), replicas = cfg.cluster.standby_replicas] {
        return m->StandbyTasks(replicas);
      });
  }

  auto server = HttpServer::Start(cfg.http.server, [api = app->api_.get()](const HttpRequest& r) { return api->Handle(r); });
  if (!server.ok()) return server.status();
  app->http_ = std::move(*server);

  app->workers_->Start(app->consumer_.get(), app->heartbeats_.get());
  app->group_thread_ = std::thread([a = app.get(), beat = app->heartbeats_->Register("kafka group events")] {
    a->ServeGroupEvents(beat);
  });
  if (app->monitor_ || app->monitoring_owner_)
    app->monitor_thread_ = std::thread([a = app.get(), beat = app->heartbeats_->Register("monitoring")] {
      a->RunMonitoring(beat);
    });
  return app;
}

Status App::CheckStoredCopy(const Config& cfg) {
  if (workers_->Holdings().cluster_member) return Status::Ok();
  const int tasks = workers_->Holdings().total;
  std::vector<TopicPartition> tps;
  const TaskCheckpoints inputs(cfg.kafka.views_topic, cfg.kafka.clicks_topic, cfg.kafka.item_repartition_topic);
  for (int32_t task = 0; task < tasks; ++task)
    for (const std::string& topic : inputs.inputs()) tps.push_back({topic, task});
  const auto asked = std::chrono::steady_clock::now();
  auto committed = tps.empty() ? Result<std::vector<int64_t>>(Status::Unavailable("the topics' partitions are not known"))
                               : consumer_->CommittedOffsets(tps, kStoredCopyCheckTimeoutMs);
  Log(Component::kApp).info("the group's committed offsets of {} partitions, to compare with the stored copy: {} in {} ms",
                            tps.size(), committed.ok() ? "answered" : "no answer",
                            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - asked).count());
  if (!committed.ok()) {
    Log(Component::kApp).warn("{}: cannot tell whether another member of the group processed this instance's "
                              "tasks while it was down, so its stored copy is served until the group assigns it",
                              committed.status().message());
    return Status::Ok();
  }
  return workers_->CheckCopyAgainstGroup(tps, *committed);
}

Status App::StartMonitoring(const KafkaClientOptions& kafka) {
  const Config& cfg = options_.config;
  auto dlq = KafkaTopicProducer::Create(kafka, cfg.kafka.dead_letter_topic, cfg.kafka.dead_letter_max_payload_bytes);
  if (!dlq.ok()) return InConfig(cfg, dlq.status());
  monitor_dead_letters_ = std::move(*dlq);
  auto retrain = KafkaTopicProducer::Create(kafka, cfg.kafka.retrain_topic);
  if (!retrain.ok()) return InConfig(cfg, retrain.status());
  retrain_producer_ = std::move(*retrain);
  if (!cfg.monitoring.webhooks.urls.empty()) {
    WebhookOptions hooks = cfg.monitoring.webhooks;
    hooks.on_give_up = [m = metrics_.get()] { m->WebhookFailures().Increment(); };
    auto notifier = WebhookNotifier::Start(hooks);
    if (!notifier.ok()) return Status::InvalidArgument(cfg.source + ": monitoring.webhooks: " + notifier.status().message());
    webhooks_ = std::move(*notifier);
  }
  retrain_publisher_ = std::make_unique<RetrainPublisher>(retrain_producer_.get(), webhooks_.get());
  auto examples = KafkaOutboxProducer::Create(kafka, cfg.kafka.examples_topic);
  if (!examples.ok()) return InConfig(cfg, examples.status());
  examples_producer_ = std::move(*examples);

  MonitorPipelineOptions options = cfg.monitoring.pipeline;
  options.predictions_topic = cfg.kafka.predictions_topic;
  options.clicks_topic = cfg.kafka.clicks_topic;
  options.poll_batch = cfg.ingest.pipeline.poll_batch;
  options.decoder = cfg.ingest.pipeline.decoder;
  if (!cfg.kafka.monitor_changelog_topic.empty()) {
    // One instance of the group monitors at a time, elected by the group.
    MonitoringOwnerOptions owner;
    owner.pipeline = options;
    owner.kafka = kafka;
    owner.group_id = cfg.kafka.group_id;
    owner.changelog_topic = cfg.kafka.monitor_changelog_topic;
    owner.owner = ChangelogOwner(cfg);
    MonitoringSinks sinks{store_.get(), monitor_dead_letters_.get(), retrain_publisher_.get(), examples_producer_.get(),
                          metrics_.get(), options_.clock};
    // librdkafka's threads inherit the niceness of the thread that creates the client.
    Result<std::unique_ptr<MonitoringOwner>> started = Status::Internal("not started");
    std::thread([&] {
      LowerThreadPriority(cfg.monitoring.nice);
      started = MonitoringOwner::Start(owner, sinks);
    }).join();
    if (!started.ok()) return InConfig(cfg, started.status());
    monitoring_owner_ = std::move(*started);
    return Status::Ok();
  }
  monitor_ = std::make_unique<MonitorPipeline>(options, store_.get(), monitor_dead_letters_.get(),
                                               retrain_publisher_.get(), examples_producer_.get(), metrics_.get(),
                                               options_.clock);
  Status loaded = monitor_->Load();
  if (!loaded.ok()) return loaded;

  KafkaClientOptions monitor_kafka = kafka;
  monitor_kafka.group_id = cfg.kafka.group_id + ".monitor";
  // The label join needs a prediction and its click in one task.
  monitor_kafka.topics = {cfg.kafka.predictions_topic, cfg.kafka.clicks_topic};
  monitor_kafka.topic_settings = {"kafka.topics.predictions", "kafka.topics.clicks"};
  // librdkafka's threads (fetching, decompressing) inherit the niceness of
  // the thread that creates the client, so create it on a lowered one.
  Result<std::unique_ptr<KafkaConsumer>> consumer = Status::Internal("not created");
  std::thread([&] {
    LowerThreadPriority(cfg.monitoring.nice);
    consumer = KafkaConsumer::Create(monitor_kafka, monitor_.get(), 1);
  }).join();
  if (!consumer.ok()) return InConfig(cfg, consumer.status());
  if (Status st = (*consumer)->Subscribe(); !st.ok()) return InConfig(cfg, st);
  monitor_consumer_ = std::move(*consumer);
  monitor_->set_source(monitor_consumer_->worker_source(0));
  return Status::Ok();
}

// The monitor's group events and its pipeline share this thread, so a
// rebalance never races a batch.
void App::RunMonitoring(LoopHeartbeats::Heartbeat heartbeat) {
  LowerThreadPriority(options_.config.monitoring.nice);
  if (monitoring_owner_) {
    RunUntilStopped(stop_, heartbeat, options_.clock, Component::kMonitor, "monitoring",
                    [this] { return monitoring_owner_->RunOnce(100); });
    monitoring_owner_->Stop();
    return;
  }
  RunUntilStopped(stop_, heartbeat, options_.clock, Component::kMonitor, "monitoring", [this] {
    Status st = monitor_consumer_->ServeEvents(0);
    return st.ok() ? monitor_->RunOnce(100) : st;
  });
  Status st = monitor_->Commit();
  // The first commit stores the last examples and produces them; the second
  // records their delivery, so a clean stop leaves none to read back.
  if (st.ok()) st = monitor_->Commit();
  if (!st.ok()) Log(Component::kMonitor).error("final commit failed: {}", st.ToString());
  Status closed = monitor_consumer_->Close();
  if (!closed.ok()) Log(Component::kMonitor).warn("consumer: {}", closed.ToString());
}

// Serves group events (rebalances) while the workers consume.
void App::ServeGroupEvents(LoopHeartbeats::Heartbeat heartbeat) {
  RunUntilStopped(stop_, heartbeat, options_.clock, Component::kKafka, "group",
                  [this] { return consumer_->ServeEvents(100); });
  // Workers stop after their batch and commit; then leaving the group runs
  // the revoke callback, which finds nothing left to write.
  final_status_ = workers_->StopAndCommit();
  Status closed = consumer_->Close();
  if (!closed.ok()) Log(Component::kKafka).warn("{}", closed.ToString());
}

Status App::Stop() {
  if (stopped_) return final_status_;
  stopped_ = true;
  // Others stop sending lookups here before the group moves the tasks.
  if (membership_) membership_->Leave(1'000);
  RequestStop();
  if (group_thread_.joinable()) group_thread_.join();
  if (monitor_thread_.joinable()) monitor_thread_.join();
  if (http_) http_->Stop();
  // What is still queued was sent before offsets that are already stored, so
  // it gets one shared, short wait; anything undelivered is replayed with its
  // messages after the restart.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kFinalFlushMs);
  auto left = [&] {
    return static_cast<int>(std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(
                                                     deadline - std::chrono::steady_clock::now()).count()));
  };
  for (auto& dlq : dead_letters_) (void)dlq->Flush(left());
  if (monitor_dead_letters_) (void)monitor_dead_letters_->Flush(left());
  if (retrain_producer_) (void)retrain_producer_->Flush(left());
  if (webhooks_) (void)webhooks_->WaitIdle(std::min(left(), 1000));  // a little time for a last retrain notification
  return final_status_;
}

bool App::kafka_close_abandoned() const {
  return (consumer_ && consumer_->abandoned()) || (monitor_consumer_ && monitor_consumer_->abandoned()) ||
         (monitoring_owner_ && monitoring_owner_->close_abandoned());
}

App::~App() { (void)Stop(); }

uint16_t App::http_port() const { return http_->port(); }

}  // namespace featmon
