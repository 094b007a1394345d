// After a restart with a changelog, the tasks whose local state was kept
// from the earlier run are handled as if just revoked: one given back within
// ingest.state_cleanup_delay keeps its state; one that moved to another
// instance while this one was down has its state deleted then, by the
// worker it is routed to and no other (the workers share one store).
// Against real pipelines, RocksDB and the in-process mock cluster; not
// labelled `concurrent`: librdkafka's threads cannot run under TSan.
#include <gtest/gtest.h>

#include "daemon/ingest/ingest_workers.h"
#include "daemon/kafka/embedded_broker.h"
#include "daemon/store/rocksdb_store.h"
#include "tests/daemon/null_dead_letters.h"
#include "tests/daemon/scripted_source.h"
#include "tests/daemon/temp_dir.h"
#include "tests/features/test_specs.h"
#include "tools/traffic.h"

namespace featmon {
namespace {

using namespace featmon::testing;

class StoredTasksCleanupTest : public ::testing::Test {
 protected:
  static constexpr int kWorkers = 2;
  static constexpr int64_t kNow = 1'700'000'000'000;
  static constexpr int64_t kDelayMs = 1'000;

  void SetUp() override {
    auto broker = EmbeddedBroker::Start({1, 2, {"views", "clicks", "featmon.changelog"}});
    ASSERT_TRUE(broker.ok()) << broker.status().ToString();
    broker_ = std::move(*broker);
    set_ = std::make_unique<FeatureSet>(*FeatureSet::Compile(DefaultSpecs()));
    RocksDbStoreOptions store_options;
    store_options.path = dir_.path();
    store_options.features = set_.get();
    store_ = std::move(*RocksDbStore::Open(store_options));
  }
  void TearDown() override { workers_.reset(); }  // before the broker their changelogs write to

  // A start of featmond's ingest side on the same store: workers with a changelog.
  void Start() {
    workers_.reset();
    std::vector<std::unique_ptr<IngestPipeline>> pipelines;
    IngestPipelineOptions options;
    options.commit_interval_ms = 1'000'000;  // commit only when the test says so
    options.state_cleanup_delay_ms = kDelayMs;
    for (int w = 0; w < kWorkers; ++w) {
      pipelines.push_back(
          std::make_unique<IngestPipeline>(options, set_.get(), store_.get(), &sink_, &metrics_, &clock_));
      pipelines.back()->set_source(&sources_[w]);
      pipelines_[w] = pipelines.back().get();
      KafkaClientOptions kafka;
      kafka.brokers = broker_->bootstrap();
      auto topic = ChangelogTopic::Open(kafka, "featmon.changelog");
      ASSERT_TRUE(topic.ok()) << topic.status().ToString();
      pipelines.back()->set_changelog(
          std::make_unique<StateChangelog>(std::move(*topic), "test", "views", "clicks", store_.get()));
    }
    workers_ = std::make_unique<IngestWorkers>(std::move(pipelines), &clock_);
  }
  void Assign(const std::vector<int32_t>& tasks) {
    std::vector<TopicPartition> tps;
    for (int32_t t : tasks) tps.insert(tps.end(), {{"views", t}, {"clicks", t}});
    std::vector<int64_t> starts;
    ASSERT_TRUE(workers_->OnAssigned(tps, &starts).ok());
  }
  // A view of user "u<task>" at `offset` of views/<task>.
  void AddView(int32_t task, int64_t offset) {
    Event e;
    e.type = EventType::kView;
    e.user_id = "u" + std::to_string(task);
    e.item_id = "i";
    e.ts_ms = kNow - 100;
    sources_[KafkaConsumer::WorkerOf({"views", task}, kWorkers)].queue.push_back(
        {"views", task, offset, EncodeEvent(e, WireFormat::kProtobuf)});
  }
  void RunAll() {
    for (IngestPipeline* p : pipelines_) ASSERT_TRUE(p->RunOnce(0).ok());
  }
  // Whether anything of the task is left: its changelog position, its views
  // checkpoint, its user's state.
  bool Stored(int32_t task) {
    auto position = store_->LoadChangelogPosition(task);
    auto checkpoint = store_->LoadCheckpoint({"views", task});
    std::vector<std::string> states;
    EXPECT_TRUE(position.ok() && checkpoint.ok());
    EXPECT_TRUE(store_->GetAllShards(EntityKind::kUser, "u" + std::to_string(task), &states).ok());
    const int parts = position->has_value() + checkpoint->has_value() + !states.empty();
    EXPECT_TRUE(parts == 0 || parts == 3) << "task " << task << " half deleted: " << parts << " of 3 parts left";
    return parts > 0;
  }

  TempDir dir_;
  ManualClock clock_{kNow};
  Metrics metrics_{"test"};
  NullDeadLetters sink_;
  ScriptedSource sources_[kWorkers];
  std::unique_ptr<EmbeddedBroker> broker_;
  std::unique_ptr<FeatureSet> set_;
  std::unique_ptr<RocksDbStore> store_;
  IngestPipeline* pipelines_[kWorkers] = {};  // owned by workers_; run by hand, no worker threads
  std::unique_ptr<IngestWorkers> workers_;
};

TEST_F(StoredTasksCleanupTest, ATaskNotGivenBackAfterARestartIsDeletedAfterTheDelay) {
  ASSERT_NO_FATAL_FAILURE(Start());
  ASSERT_NO_FATAL_FAILURE(Assign({0, 1}));
  AddView(0, 0);
  AddView(1, 0);
  RunAll();
  for (IngestPipeline* p : pipelines_) ASSERT_TRUE(p->Commit().ok());
  ASSERT_TRUE(Stored(0) && Stored(1));

  // The restart: task 1 (worker 1's) comes back; task 0 went elsewhere.
  ASSERT_NO_FATAL_FAILURE(Start());
  ASSERT_TRUE(workers_->ScheduleCleanupOfStoredTasks().ok());
  ASSERT_NO_FATAL_FAILURE(Assign({1}));
  clock_.AdvanceMs(kDelayMs - 1);
  RunAll();
  EXPECT_TRUE(Stored(0)) << "deleted before ingest.state_cleanup_delay was up";
  clock_.AdvanceMs(2);
  RunAll();
  EXPECT_FALSE(Stored(0)) << "task 0 was not given back";
  EXPECT_TRUE(Stored(1)) << "worker 0 deleted the task worker 1 was given back";
}

}  // namespace
}  // namespace featmon
