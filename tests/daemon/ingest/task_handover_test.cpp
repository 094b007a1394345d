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

#include "daemon/kafka/embedded_broker.h"
#include "tests/daemon/ingest/workers_fixture.h"

namespace featmon {
namespace {

using namespace featmon::testing;

class TaskHandoverTest : public WorkersFixture {
 protected:
  static constexpr int kTasks = 4;
  static constexpr int64_t kDelayMs = 1'000;

  void SetUp() override {
    auto broker = EmbeddedBroker::Start({1, kTasks, {"views", "clicks", "featmon.changelog"}});
    ASSERT_TRUE(broker.ok()) << broker.status().ToString();
    broker_ = std::move(*broker);
    OpenStore();
  }
  void TearDown() override { workers_.reset(); }  // before the broker their changelogs write to

  // A start of featmond's ingest side on the same store: workers with a changelog.
  void Start() {
    IngestPipelineOptions options;
    options.state_cleanup_delay_ms = kDelayMs;
    StartWorkers(options, [&](IngestPipeline& p) { p.set_changelog(Changelog(store_.get(), "test")); });
  }
  std::unique_ptr<StateChangelog> Changelog(StateStore* store, const std::string& owner) {
    KafkaClientOptions kafka;
    kafka.brokers = broker_->bootstrap();
    auto topic = ChangelogTopic::Open(kafka, "featmon.changelog");
    EXPECT_TRUE(topic.ok()) << topic.status().ToString();
    if (!topic.ok()) return nullptr;
    return std::make_unique<StateChangelog>(std::move(*topic), owner, "views", "clicks", store);
  }
  void Assign(const std::vector<int32_t>& tasks) {
    std::vector<TopicPartition> tps;
    for (int32_t t : tasks) tps.insert(tps.end(), {{"views", t}, {"clicks", t}});
    std::vector<int64_t> starts;
    ASSERT_TRUE(workers_->OnAssigned(tps, &starts).ok());
  }
  // A view of user "u<task>" at `offset` of views/<task>.
  void AddView(int32_t task, int64_t offset) { AddEvent(EventType::kView, task, offset, "u" + std::to_string(task)); }
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

  std::unique_ptr<EmbeddedBroker> broker_;
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
  EXPECT_EQ(workers_->Holdings().held, 2);
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
  IngestPipeline other_instance(IngestPipelineOptions{}, set_.get(), other_store->get(), &sink_, &metrics_, &clock_);
  other_instance.set_changelog(Changelog(other_store->get(), "other"));
  std::vector<int64_t> starts;
  ASSERT_TRUE(other_instance.OnAssigned({{"views", 3}, {"clicks", 3}}, &starts).ok()) << "restores and claims task 3";

  AddView(1, 1);
  AddView(3, 1);
  RunAll();
  ASSERT_TRUE(pipelines_[1]->Commit().ok()) << "task 1's commit failed with task 3's";
  EXPECT_EQ(StoredOffset({"views", 1}), 2);
  EXPECT_EQ(StoredOffset({"views", 3}), 1) << "work on a task taken over was committed";
  EXPECT_EQ(ServedTasks(), (std::vector<int32_t>{1, 1})) << "a task taken over is still served here";
  EXPECT_EQ(workers_->Holdings().held, 1) << "a task given up still counts as held (/readyz, item coverage)";
  EXPECT_TRUE(pipelines_[1]->healthy());

  AddView(1, 2);
  AddView(3, 2);  // still delivered until the revoke: ignored
  RunAll();
  ASSERT_TRUE(pipelines_[1]->Commit().ok());
  EXPECT_EQ(StoredOffset({"views", 1}), 3);
  EXPECT_EQ(StoredOffset({"views", 3}), 1);
  workers_->OnRevoked({{"views", 3}, {"clicks", 3}});  // the revoke, at last
  EXPECT_TRUE(pipelines_[1]->healthy());
  EXPECT_EQ(workers_->Holdings().held, 1);
  EXPECT_EQ(ServedTasks(), (std::vector<int32_t>{1, 1}));
}

}  // namespace
}  // namespace featmon
