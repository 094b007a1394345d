// The ingest side of tasks moving between instances through the changelog,
// against real pipelines, RocksDB and the in-process mock cluster (not
// labelled `concurrent`: librdkafka's threads cannot run under TSan):
// - after a restart, the tasks whose local state was kept from the earlier
//   run are handled as if just revoked: one given back within
//   ingest.state_cleanup_delay keeps its state; one that moved to another
//   instance while this one was down has its state deleted then, by the
//   worker it is routed to and no other (the workers share one store);
// - a task another instance has claimed before this one saw the revoke is
//   given up at the next commit, and the worker's other tasks commit;
// - a warm standby follows the owner's changelog, and its failover reads
//   only its own claim;
// - an assigned task restores between the batches of the worker's other
//   tasks, its input paused until it resumes where the restored state stands.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

#include "daemon/kafka/changelog_follower.h"
#include "daemon/kafka/embedded_broker.h"
#include "daemon/store/entity_key.h"
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
  // Another instance's RocksDB, in `dir`.
  std::unique_ptr<RocksDbStore> OpenStoreIn(const TempDir& dir) {
    RocksDbStoreOptions options;
    options.path = dir.path();
    options.features = set_.get();
    auto store = RocksDbStore::Open(options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(*store) : nullptr;
  }
  // A changelog that restores in the background and can keep standbys.
  std::unique_ptr<StateChangelog> FollowingChangelog(StateStore* store, const std::string& owner) {
    auto changelog = Changelog(store, owner);
    KafkaClientOptions kafka;
    kafka.brokers = broker_->bootstrap();
    auto follower = ChangelogFollower::Open(kafka, "featmon.changelog");
    EXPECT_TRUE(follower.ok()) << follower.status().ToString();
    if (changelog && follower.ok()) changelog->set_follower(std::move(*follower));
    return changelog;
  }
  // Another instance's pipeline on `store`, fed by `source`, with a
  // FollowingChangelog; `changelog` (when given) is set to it.
  std::unique_ptr<IngestPipeline> FollowingPipeline(StateStore* store, const IngestPipelineOptions& options,
                                                    ScriptedSource* source, const std::string& owner,
                                                    StateChangelog** changelog = nullptr) {
    auto pipeline = std::make_unique<IngestPipeline>(options, set_.get(), store, &sink_, &metrics_, &clock_);
    pipeline->set_source(source);
    auto following = FollowingChangelog(store, owner);
    EXPECT_TRUE(following);
    if (changelog) *changelog = following.get();
    pipeline->set_changelog(std::move(following));
    return pipeline;
  }
  // Runs `pipeline` until its source has resumed `tp` (a background restore
  // has finished), and returns where.
  int64_t RunUntilResumed(IngestPipeline& pipeline, ScriptedSource& source, const TopicPartition& tp) {
    for (int i = 0; i < 500; ++i) {
      EXPECT_TRUE(pipeline.RunOnce(0).ok());
      if (auto it = source.resumed.find(tp); it != source.resumed.end()) return it->second;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << tp.topic << "/" << tp.partition << " was never resumed: its restore did not finish";
    return -2;
  }
  // The owner (task 2 on this fixture's workers) commits ten views, one per
  // commit: on changelog partition 2, a claim, then per commit two states
  // (user u2, item i) and a marker: 31 records.
  void CommitViewsOfTask2() {
    ASSERT_NO_FATAL_FAILURE(Assign({2}));
    for (int64_t offset = 0; offset < 10; ++offset) {
      AddView(2, offset);
      RunAll();
      ASSERT_TRUE(pipelines_[0]->Commit().ok());
    }
  }
  // User u2's stored state in `store`.
  static std::string UserOfTask2(StateStore* store) {
    auto v = store->Get(*store->RegisterShard({"views", 2}), EntityKind::kUser, "u2");
    return v.ok() && *v ? **v : std::string();
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
  auto other_store = OpenStoreIn(other_dir);
  ASSERT_TRUE(other_store);
  IngestPipeline other_instance(IngestPipelineOptions{}, set_.get(), other_store.get(), &sink_, &metrics_, &clock_);
  other_instance.set_changelog(Changelog(other_store.get(), "other"));
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

// A warm standby (cluster.standby_replicas) on another instance follows the
// owner's changelog into its own store, never deleted by the cleanup; when
// the owner dies and the task is assigned to it, the restore reads only the
// claim it appends, where an instance without the standby reads the whole
// partition, and both resume the input where the owner's last commit stood.
TEST_F(TaskHandoverTest, AStandbyFollowsTheChangelogAndItsFailoverReadsNothingAgain) {
  ASSERT_NO_FATAL_FAILURE(Start());
  ASSERT_NO_FATAL_FAILURE(Assign({2}));
  for (int64_t offset = 0; offset < 10; ++offset) AddView(2, offset);
  RunAll();
  ASSERT_TRUE(pipelines_[0]->Commit().ok());

  TempDir standby_dir;
  auto standby_store = OpenStoreIn(standby_dir);
  ASSERT_TRUE(standby_store);
  IngestPipelineOptions options;
  options.state_cleanup_delay_ms = kDelayMs;
  ScriptedSource standby_source;
  StateChangelog* standby_changelog = nullptr;
  auto standby_pipeline = FollowingPipeline(standby_store.get(), options, &standby_source, "standby", &standby_changelog);
  IngestPipeline& standby = *standby_pipeline;
  standby.set_standby_tasks([] { return std::set<int32_t>{2}; });

  auto owner_state = [&] {
    auto v = store_->Get(*store_->RegisterShard({"views", 2}), EntityKind::kUser, "u2");
    EXPECT_TRUE(v.ok() && v->has_value());
    return v.ok() && *v ? **v : std::string();
  };
  auto standby_state = [&]() -> std::string {
    auto v = standby_store->Get(*standby_store->RegisterShard({"views", 2}), EntityKind::kUser, "u2");
    return v.ok() && *v ? **v : std::string();
  };
  // Follows until its copy equals the owner's, with the position stored.
  auto catch_up = [&] {
    for (int i = 0; i < 200; ++i) {
      clock_.AdvanceMs(600);  // past the half second between asks
      ASSERT_TRUE(standby.RunOnce(0).ok());
      auto position = standby_store->LoadChangelogPosition(2);
      ASSERT_TRUE(position.ok());
      if (*position && standby_state() == owner_state()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    FAIL() << "the standby did not catch up with the owner's changelog";
  };
  ASSERT_NO_FATAL_FAILURE(catch_up());
  EXPECT_FALSE(owner_state().empty());
  // As after a restart: the stored copy is due for cleanup unless in use.
  ASSERT_TRUE(standby.ScheduleCleanupOfStoredTasks([](int32_t) { return true; }).ok());
  clock_.AdvanceMs(10 * kDelayMs);
  ASSERT_TRUE(standby.RunOnce(0).ok());
  EXPECT_FALSE(standby_state().empty()) << "the cleanup deleted a standby copy";
  EXPECT_TRUE(standby_store->LoadChangelogPosition(2)->has_value()) << "the cleanup deleted a standby copy";
  for (int64_t offset = 10; offset < 15; ++offset) AddView(2, offset);
  RunAll();
  ASSERT_TRUE(pipelines_[0]->Commit().ok());
  ASSERT_NO_FATAL_FAILURE(catch_up());

  // The owner dies; the group gives task 2 to the standby, which restores
  // it in its loop with the input paused meanwhile.
  std::vector<int64_t> starts;
  ASSERT_TRUE(standby.OnAssigned({{"views", 2}, {"clicks", 2}}, &starts).ok());
  EXPECT_EQ(starts[0], kStartPaused);
  EXPECT_EQ(standby.RestoringTasks(), std::vector<int32_t>{2});
  EXPECT_EQ(RunUntilResumed(standby, standby_source, {"views", 2}), 15)
      << "views/2 does not resume where the owner's last commit stood";
  EXPECT_EQ(standby_changelog->last_restore().records, 1u) << "read more than its own claim";
  EXPECT_TRUE(standby.RestoringTasks().empty());
  EXPECT_EQ(standby_state(), owner_state());

  // The same failover without a standby (nor a follower: restored in the
  // assignment) reads the whole partition.
  TempDir cold_dir;
  auto cold_store = OpenStoreIn(cold_dir);
  ASSERT_TRUE(cold_store);
  IngestPipeline cold(IngestPipelineOptions{}, set_.get(), cold_store.get(), &sink_, &metrics_, &clock_);
  auto cold_changelog = Changelog(cold_store.get(), "cold");
  StateChangelog* cold_reader = cold_changelog.get();
  cold.set_changelog(std::move(cold_changelog));
  ASSERT_TRUE(cold.OnAssigned({{"views", 2}, {"clicks", 2}}, &starts).ok());
  EXPECT_GT(cold_reader->last_restore().records, 4u);
  EXPECT_EQ(starts[0], 15);
}

// A task assigned where its state is not current restores from the
// changelog in the worker's loop, a bounded step at a time, as Kafka
// Streams restores between batches: the assignment returns at once, the
// worker's other task keeps processing its input meanwhile, and the
// restoring task's keys are refused until its input resumes where the
// restored state stands.
TEST_F(TaskHandoverTest, ARestoreRunsBetweenTheBatchesOfTheWorkersOtherTasks) {
  ASSERT_NO_FATAL_FAILURE(Start());
  ASSERT_NO_FATAL_FAILURE(CommitViewsOfTask2());

  TempDir new_dir;
  auto new_store = OpenStoreIn(new_dir);
  ASSERT_TRUE(new_store);
  IngestPipelineOptions options;
  options.restore_records_per_step = 1;
  ScriptedSource source;
  StateChangelog* reader = nullptr;
  auto pipeline = FollowingPipeline(new_store.get(), options, &source, "new", &reader);
  IngestPipeline& instance = *pipeline;
  std::vector<int64_t> starts;
  ASSERT_TRUE(instance.OnAssigned({{"views", 0}, {"clicks", 0}}, &starts).ok());
  ASSERT_EQ(RunUntilResumed(instance, source, {"views", 0}), -1) << "an empty changelog gives no offset";

  ASSERT_TRUE(instance.OnAssigned({{"views", 2}, {"clicks", 2}}, &starts).ok());
  EXPECT_EQ(starts, (std::vector<int64_t>{kStartPaused, kStartPaused}));
  auto processed = [&](const TopicPartition& tp) {
    for (const PartitionStatus& p : instance.Snapshot().partitions)
      if (p.tp == tp) return p.processed_offset;
    return int64_t{-2};
  };
  // A view of task 0 per loop; /v1/status's snapshot may lag a loop behind.
  int loops_processing_while_restoring = 0;
  int64_t last_processed = processed({"views", 0});
  static constexpr char kRestoreSeries[] = "featmon_changelog_copy_behind_records{role=\"restoring\",task=\"2\"}";
  bool saw_restore_metric = false;
  for (int loop = 0; loop < 500 && !source.resumed.count({"views", 2}); ++loop) {
    source.Append("views", 0, EventPayload(EventType::kView, "u0"));
    ASSERT_TRUE(instance.RunOnce(0).ok());
    const int64_t now_processed = processed({"views", 0});
    if (now_processed > last_processed && !instance.RestoringTasks().empty()) ++loops_processing_while_restoring;
    last_processed = now_processed;
    saw_restore_metric = saw_restore_metric || metrics_.Serialize().find(kRestoreSeries) != std::string::npos;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(source.resumed.count({"views", 2}), 1u) << "task 2's restore never finished";
  EXPECT_TRUE(saw_restore_metric) << "featmon_changelog_copy_behind_records showed no restore of task 2";
  EXPECT_EQ(metrics_.Serialize().find(kRestoreSeries), std::string::npos) << "the finished restore's series stayed";
  EXPECT_EQ(source.resumed.at({"views", 2}), 10);
  EXPECT_GE(loops_processing_while_restoring, 10)
      << "task 0 did not keep processing while task 2 restored one record per loop";
  EXPECT_EQ(reader->last_restore().records, 32u) << "the whole partition, its claim included";
  EXPECT_TRUE(instance.RestoringTasks().empty());
  EXPECT_FALSE(UserOfTask2(new_store.get()).empty());
  EXPECT_EQ(UserOfTask2(new_store.get()), UserOfTask2(store_.get()));
}

// A background restore stores its position wherever its fold is settled: an
// instance stopped halfway through (no commit, no claim) reads on from there
// when it starts again, not from the partition's start. A resume of its
// inputs that fails is tried again, the task refused meanwhile.
TEST_F(TaskHandoverTest, ARestoreCutShortReadsOnFromWhereItStood) {
  ASSERT_NO_FATAL_FAILURE(Start());
  ASSERT_NO_FATAL_FAILURE(CommitViewsOfTask2());
  TempDir new_dir;
  auto new_store = OpenStoreIn(new_dir);
  ASSERT_TRUE(new_store);
  ScriptedSource source;
  std::vector<int64_t> starts;
  int64_t stood_at = -1;
  {
    IngestPipelineOptions options;
    options.restore_records_per_step = 1;
    auto pipeline = FollowingPipeline(new_store.get(), options, &source, "first");
    IngestPipeline& first = *pipeline;
    ASSERT_TRUE(first.OnAssigned({{"views", 2}, {"clicks", 2}}, &starts).ok());
    for (int i = 0; i < 500 && stood_at < 8; ++i) {
      ASSERT_TRUE(first.RunOnce(0).ok());
      auto position = new_store->LoadChangelogPosition(2);
      ASSERT_TRUE(position.ok());
      if (*position) stood_at = (*position)->next_offset;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ASSERT_GE(stood_at, 8) << "the restore stored no position as it read";
    ASSERT_TRUE(first.RestoringTasks() == std::vector<int32_t>{2}) << "finished before it was cut short";
  }  // stopped: nothing committed or claimed on the way out

  StateChangelog* reader = nullptr;
  auto pipeline = FollowingPipeline(new_store.get(), IngestPipelineOptions{}, &source, "second", &reader);
  IngestPipeline& second = *pipeline;
  ASSERT_TRUE(second.OnAssigned({{"views", 2}, {"clicks", 2}}, &starts).ok());
  source.resume_calls = 0;
  source.resume_failures = 1;
  EXPECT_EQ(RunUntilResumed(second, source, {"views", 2}), 10);
  EXPECT_EQ(source.resume_calls, 2) << "the failed resume was not tried again";
  EXPECT_TRUE(second.RestoringTasks().empty());
  EXPECT_EQ(reader->last_restore().from, stood_at) << "did not read on from what the first had stored";
  EXPECT_EQ(reader->last_restore().records, 31u + 1u - static_cast<uint64_t>(stood_at)) << "the rest and its claim";
  EXPECT_EQ(UserOfTask2(new_store.get()), UserOfTask2(store_.get()));
}

// A standby whose fold is not settled (the newest record it read does not
// count: a zombie's state, no marker) stored its position before that
// record. Assigned the task, the restore takes the standby's fold over and
// reads only its own claim, where a restore from the stored position would
// read the zombie's record again; the zombie's state is never stored.
TEST_F(TaskHandoverTest, AFailoverTakesOverAStandbysFoldThatIsNotSettled) {
  ASSERT_NO_FATAL_FAILURE(Start());
  ASSERT_NO_FATAL_FAILURE(CommitViewsOfTask2());  // offsets 0 to 30
  TempDir dir;
  auto store = OpenStoreIn(dir);
  ASSERT_TRUE(store);
  ScriptedSource source;
  StateChangelog* reader = nullptr;
  auto standby = FollowingPipeline(store.get(), IngestPipelineOptions{}, &source, "standby", &reader);
  standby->set_standby_tasks([] { return std::set<int32_t>{2}; });
  auto follow_to = [&](int64_t offset) {
    auto read_to = [&] {
      auto copies = reader->Standbys();
      return copies.size() == 1 ? copies[0].next_offset : -1;
    };
    for (int i = 0; i < 200 && read_to() != offset; ++i) {
      clock_.AdvanceMs(600);
      ASSERT_TRUE(standby->RunOnce(0).ok());
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_EQ(read_to(), offset) << "the standby did not follow";
  };
  ASSERT_NO_FATAL_FAILURE(follow_to(31));
  KafkaClientOptions kafka;
  kafka.brokers = broker_->bootstrap();
  auto topic = ChangelogTopic::Open(kafka, "featmon.changelog");
  ASSERT_TRUE(topic.ok()) << topic.status().ToString();
  const std::string u2_key = "v" + EntityKey(0, EntityKind::kUser, "u2").substr(kEntityKeyShardBytes);
  ASSERT_TRUE((*topic)->Append(2, {changelog::StateRecord{u2_key, {12345, 1}, std::string("a zombie's")}}).ok());
  ASSERT_NO_FATAL_FAILURE(follow_to(32));
  auto position = store->LoadChangelogPosition(2);
  ASSERT_TRUE(position.ok() && position->has_value());
  EXPECT_EQ((*position)->next_offset, 31) << "a position stored where the fold was not settled";

  std::vector<int64_t> starts;
  ASSERT_TRUE(standby->OnAssigned({{"views", 2}, {"clicks", 2}}, &starts).ok());
  EXPECT_EQ(RunUntilResumed(*standby, source, {"views", 2}), 10);
  EXPECT_EQ(reader->last_restore().records, 1u) << "did not read on from the standby's fold";
  EXPECT_EQ(UserOfTask2(store.get()), UserOfTask2(store_.get())) << "a state that does not count was stored";
}

}  // namespace
}  // namespace featmon
