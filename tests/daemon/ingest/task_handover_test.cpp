// The ingest side of tasks moving between instances through the changelog,
// against real pipelines, RocksDB and the in-process mock cluster (not
// labelled `concurrent`: librdkafka's threads cannot run under TSan):
// - after a restart, the tasks whose local state was kept from the earlier
//   run are handled as if just revoked: one given back within
//   ingest.state_cleanup_delay keeps its state; one that moved to another
//   instance while this one was down has its state deleted then, by the
//   worker it is routed to and no other (the workers share one store);
// - a task another instance has claimed before this one saw the revoke is
//   given up at the next commit, and the worker's other tasks commit.
#include <gtest/gtest.h>

#include <algorithm>

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

class TaskHandoverTest : public ::testing::Test {
 protected:
  static constexpr int kWorkers = 2;
  static constexpr int kTasks = 4;
  static constexpr int64_t kNow = 1'700'000'000'000;
  static constexpr int64_t kDelayMs = 1'000;

  void SetUp() override {
    auto broker = EmbeddedBroker::Start({1, kTasks, {"views", "clicks", "featmon.changelog"}});
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
      ASSERT_NO_FATAL_FAILURE(pipelines.push_back(NewPipeline(options, store_.get(), "test")));
      pipelines.back()->set_source(&sources_[w]);
      pipelines_[w] = pipelines.back().get();
    }
    workers_ = std::make_unique<IngestWorkers>(std::move(pipelines), &clock_);
  }
  std::unique_ptr<IngestPipeline> NewPipeline(const IngestPipelineOptions& options, StateStore* store,
                                              const std::string& owner) {
    auto pipeline = std::make_unique<IngestPipeline>(options, set_.get(), store, &sink_, &metrics_, &clock_);
    KafkaClientOptions kafka;
    kafka.brokers = broker_->bootstrap();
    auto topic = ChangelogTopic::Open(kafka, "featmon.changelog");
    EXPECT_TRUE(topic.ok()) << topic.status().ToString();
    if (topic.ok())
      pipeline->set_changelog(std::make_unique<StateChangelog>(std::move(*topic), owner, "views", "clicks", store));
    return pipeline;
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
  int64_t StoredOffset(const TopicPartition& tp) {
    auto cp = store_->LoadCheckpoint(tp);
    EXPECT_TRUE(cp.ok());
    return cp.ok() && cp->has_value() ? (*cp)->next_offset : -1;
  }
  std::vector<int32_t> ServedTasks() const {
    std::vector<int32_t> tasks;
    for (const auto& [shard, task] : workers_->ServingShards()) tasks.push_back(task);
    std::sort(tasks.begin(), tasks.end());
    return tasks;
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

TEST_F(TaskHandoverTest, ATaskNotGivenBackAfterARestartIsDeletedAfterTheDelay) {
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

// Another instance claims a task (the group moved it) before this one has
// seen the revoke: this one's next commit finds the claim, gives that task
// up and commits its worker's other task, instead of failing every commit
// until the revoke comes.
TEST_F(TaskHandoverTest, ATaskTakenOverIsGivenUpAndTheWorkersOtherTasksCommit) {
  ASSERT_NO_FATAL_FAILURE(Start());
  ASSERT_NO_FATAL_FAILURE(Assign({1, 3}));  // both worker 1's
  AddView(1, 0);
  AddView(3, 0);
  RunAll();
  ASSERT_TRUE(pipelines_[1]->Commit().ok());

  TempDir other_dir;
  RocksDbStoreOptions other_options;
  other_options.path = other_dir.path();
  other_options.features = set_.get();
  auto other_store = RocksDbStore::Open(other_options);
  ASSERT_TRUE(other_store.ok()) << other_store.status().ToString();
  std::unique_ptr<IngestPipeline> other = NewPipeline(IngestPipelineOptions{}, other_store->get(), "other");
  std::vector<int64_t> starts;
  ASSERT_TRUE(other->OnAssigned({{"views", 3}, {"clicks", 3}}, &starts).ok()) << "restores and claims task 3";

  AddView(1, 1);
  AddView(3, 1);
  RunAll();
  ASSERT_TRUE(pipelines_[1]->Commit().ok()) << "task 1's commit failed with task 3's";
  EXPECT_EQ(StoredOffset({"views", 1}), 2);
  EXPECT_EQ(StoredOffset({"views", 3}), 1) << "work on a task taken over was committed";
  EXPECT_EQ(ServedTasks(), (std::vector<int32_t>{1, 1})) << "a task taken over is still served here";
  EXPECT_TRUE(pipelines_[1]->healthy());

  AddView(1, 2);
  AddView(3, 2);  // still delivered until the revoke: ignored
  RunAll();
  ASSERT_TRUE(pipelines_[1]->Commit().ok());
  EXPECT_EQ(StoredOffset({"views", 1}), 3);
  EXPECT_EQ(StoredOffset({"views", 3}), 1);
  workers_->OnRevoked({{"views", 3}, {"clicks", 3}});  // the revoke, at last
  EXPECT_TRUE(pipelines_[1]->healthy());
  EXPECT_EQ(ServedTasks(), (std::vector<int32_t>{1, 1}));
  other.reset();
}

}  // namespace
}  // namespace featmon
