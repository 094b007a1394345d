// The pipeline against a scripted message source, a recording dead-letter
// sink and a real RocksDB: the exactly-once rules without a broker.
#include "daemon/ingest/ingest_pipeline.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "cluster/key_partitioner.h"
#include "daemon/ingest/rekeyed_event.h"
#include "daemon/store/rocksdb_store.h"
#include "tests/daemon/scripted_source.h"
#include "tests/daemon/temp_dir.h"
#include "tests/features/test_specs.h"
#include "tools/traffic.h"

namespace featmon {
namespace {

using namespace featmon::testing;

class RecordingSink : public DeadLetterSink {
 public:
  std::vector<std::string> reasons;
  bool fail_flush = false, fail_send = false;
  Status Send(const InputMessage&, std::string_view reason, std::string_view) override {
    if (fail_send) return Status::Unavailable("producer queue full");
    reasons.emplace_back(reason);
    return Status::Ok();
  }
  Status Flush(int) override { return fail_flush ? Status::Unavailable("broker down") : Status::Ok(); }
};

// Fails every commit while `fail` is set, every entity read while `fail_reads` is.
class FlakyStore : public StateStore {
 public:
  explicit FlakyStore(StateStore* inner) : inner_(inner) {}
  bool fail = false, fail_reads = false;
  int reads = 0;
  Result<ShardId> RegisterShard(const TopicPartition& tp) override { return inner_->RegisterShard(tp); }
  std::vector<ShardId> Shards() const override { return inner_->Shards(); }
  std::vector<TopicPartition> RegisteredPartitions() const override { return inner_->RegisteredPartitions(); }
  Result<std::optional<Checkpoint>> LoadCheckpoint(const TopicPartition& tp) override { return inner_->LoadCheckpoint(tp); }
  Result<std::optional<std::string>> Get(ShardId s, EntityKind k, std::string_view id) override {
    ++reads;
    if (fail_reads) return Status::IOError("reading entity: IO error: sst file unreadable");
    return inner_->Get(s, k, id);
  }
  Status Quarantine(std::string_view key, std::string_view value, std::string_view reason) override {
    return inner_->Quarantine(key, value, reason);
  }
  uint64_t QuarantinedCount() const override { return inner_->QuarantinedCount(); }
  std::vector<ShardId> ShardsThatMayHold(EntityKind k, std::string_view id) const override {
    return inner_->ShardsThatMayHold(k, id);
  }
  void AnnounceEntity(ShardId s, EntityKind k, std::string_view id) override { inner_->AnnounceEntity(s, k, id); }
  Status GetShards(EntityKind k, std::string_view id, const std::vector<ShardId>& shards,
                   std::vector<std::string>* v) override {
    return inner_->GetShards(k, id, shards, v);
  }
  Status Commit(const CommitBatch& b) override { return fail ? Status::IOError("No space left on device") : inner_->Commit(b); }
  Status ScanMonitor(const std::function<Status(std::string_view, std::string_view)>& v) override { return inner_->ScanMonitor(v); }
  uint64_t ApproximateEntityCount() const override { return 0; }
  uint64_t DiskBytes() const override { return 0; }

 private:
  StateStore* inner_;
};

// The repartition topic as a broker would keep it: what was sent, by partition.
class RecordingRepartition : public RepartitionSink {
 public:
  struct Record {
    int32_t partition;
    std::string key, value;
  };
  std::vector<Record> sent;
  bool fail_send = false;
  Status Send(int32_t partition, std::string_view key, std::string_view value) override {
    if (fail_send) return Status::Unavailable("producer queue full");
    sent.push_back({partition, std::string(key), std::string(value)});
    return Status::Ok();
  }
  Status Flush(int) override { return Status::Ok(); }
};

class IngestPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    set_ = std::make_unique<FeatureSet>(*FeatureSet::Compile(DefaultSpecs()));
    Open();
  }
  void Open() {
    pipeline_.reset();
    store_.reset();
    RocksDbStoreOptions store_options;
    store_options.path = dir_.path();
    store_options.features = set_.get();
    store_ = std::move(*RocksDbStore::Open(store_options));
    flaky_ = std::make_unique<FlakyStore>(store_.get());
    MakePipeline(TestOptions());
  }
  static IngestPipelineOptions TestOptions() {
    IngestPipelineOptions options;
    options.commit_interval_ms = 1'000'000;  // commit only when the test says so
    return options;
  }
  void MakePipeline(const IngestPipelineOptions& options) {
    pipeline_ = std::make_unique<IngestPipeline>(options, set_.get(), flaky_.get(), &sink_, &metrics_, &clock_);
    pipeline_->set_source(&source_);
  }
  void Assign() {
    std::vector<int64_t> starts;
    ASSERT_TRUE(pipeline_->OnAssigned({{"views", 0}, {"clicks", 0}}, &starts).ok());
    resume_ = starts;
  }
  void Add(EventType type, const std::string& user, const std::string& item, int64_t ts, int64_t offset,
           int32_t partition = 0) {
    Event e;
    e.type = type;
    e.user_id = user;
    e.item_id = item;
    e.ts_ms = ts;
    source_.queue.push_back({type == EventType::kView ? "views" : "clicks", partition, offset, EncodeEvent(e, WireFormat::kProtobuf)});
  }
  // views_24h of a user as lookups under read_uncommitted see it in the pipeline's cache; -1 when not cached.
  int64_t CachedViews24h(const IngestPipeline& pipeline, const std::string& user) {
    std::vector<std::pair<ShardId, EntityState>> cached;
    pipeline.CopyCached(EntityKind::kUser, user, store_->Shards(), &cached);
    if (cached.empty()) return -1;
    std::vector<const EntityState*> ptrs;
    for (const auto& c : cached) ptrs.push_back(&c.second);
    return FeatureEngine(set_.get()).Read(EntityKind::kUser, ptrs, kNow)[2].i;
  }
  // The next offset stored for a partition; -1 when none is.
  int64_t StoredOffset(const TopicPartition& tp) {
    auto cp = store_->LoadCheckpoint(tp);
    EXPECT_TRUE(cp.ok());
    return cp.ok() && cp->has_value() ? (*cp)->next_offset : -1;
  }
  uint64_t ReadToVisibleCount() { return metrics_.ReadToVisible().Collect().histogram.sample_count; }
  // views_24h of an entity over every shard of the store.
  int64_t Views24h(const std::string& id, EntityKind kind = EntityKind::kUser) {
    std::vector<std::string> raw;
    EXPECT_TRUE(store_->GetAllShards(kind, id, &raw).ok());
    std::vector<EntityState> states(raw.size());
    std::vector<const EntityState*> ptrs;
    for (size_t i = 0; i < raw.size(); ++i) {
      EXPECT_TRUE(DecodeEntityState(*set_, kind, raw[i], &states[i]).ok());
      ptrs.push_back(&states[i]);
    }
    return FeatureEngine(set_.get()).Read(kind, ptrs, kNow)[2].i;
  }


  static constexpr int64_t kNow = 1'700'000'000'000;
  TempDir dir_;
  ManualClock clock_{kNow};
  Metrics metrics_{"test"};
  RecordingSink sink_;
  ScriptedSource source_;
  std::unique_ptr<FeatureSet> set_;
  std::unique_ptr<RocksDbStore> store_;
  std::unique_ptr<FlakyStore> flaky_;
  std::unique_ptr<IngestPipeline> pipeline_;
  std::vector<int64_t> resume_;
};

TEST_F(IngestPipelineTest, ResumesFromStoredOffsetsAndSkipsRedelivery) {
  Assign();
  EXPECT_EQ(resume_, (std::vector<int64_t>{-1, -1}));
  for (int i = 0; i < 10; ++i) Add(EventType::kView, "u1", "i" + std::to_string(i), kNow - 1000 + i, i);
  ASSERT_TRUE(pipeline_->RunOnce(0).ok());
  ASSERT_TRUE(pipeline_->Commit().ok());
  EXPECT_EQ(Views24h("u1"), 10);

  // A restart resumes at offset 10; Kafka redelivering 5..14 must count only 10..14.
  Open();
  Assign();
  EXPECT_EQ(resume_[0], 10);
  for (int i = 5; i < 15; ++i) Add(EventType::kView, "u1", "i", kNow - 500 + i, i);
  ASSERT_TRUE(pipeline_->RunOnce(0).ok());
  ASSERT_TRUE(pipeline_->Commit().ok());
  EXPECT_EQ(Views24h("u1"), 15);
}

TEST_F(IngestPipelineTest, UncommittedWorkIsReplayedNotLost) {
  Assign();
  for (int i = 0; i < 5; ++i) Add(EventType::kView, "u2", "i", kNow - 100, i);
  ASSERT_TRUE(pipeline_->RunOnce(0).ok());
  ASSERT_TRUE(pipeline_->Commit().ok());
  for (int i = 5; i < 8; ++i) Add(EventType::kView, "u2", "i", kNow - 100, i);
  ASSERT_TRUE(pipeline_->RunOnce(0).ok());  // processed, not committed: a crash here...
  Open();
  Assign();
  EXPECT_EQ(resume_[0], 5);  // ...resumes where the state ends
  EXPECT_EQ(Views24h("u2"), 5);
}

TEST_F(IngestPipelineTest, BadInputGoesToDeadLettersAndLateEventsAreDropped) {
  Assign();
  source_.queue.push_back({"views", 0, 0, "garbage\xff"});
  Add(EventType::kView, "", "i", kNow, 1);
  Add(EventType::kView, "u3", "i", kNow, 2);
  Add(EventType::kView, "u3", "i", kNow - 8 * kDay, 3);  // older than the 7d window at stream time
  Add(EventType::kView, "u3", "i", kNow + 3600'000, 4);  // an hour ahead of the clock
  ASSERT_TRUE(pipeline_->RunOnce(0).ok());
  ASSERT_TRUE(pipeline_->Commit().ok());
  EXPECT_EQ(sink_.reasons, (std::vector<std::string>{"decode_error", "missing_user_id", "future_timestamp"}));
  auto snap = pipeline_->Snapshot();
  EXPECT_EQ(snap.late_dropped_total, 1u);
  EXPECT_EQ(snap.rejected_total, 3u);
  EXPECT_EQ(snap.consumed_total, 5u);
  EXPECT_EQ(Views24h("u3"), 1);
  EXPECT_EQ(snap.partitions[0].committed_offset, 5);
}

// Events on a partition other than their user's under Kafka's default
// partitioner are counted (routing by that rule would miss them), and still
// applied: where they came from does not change what they mean.
TEST_F(IngestPipelineTest, EventsOffTheirUsersDefaultPartitionAreCountedNotDropped) {
  Assign();
  std::vector<std::string> on, off;  // users whose default partition of 4 is 0, and some whose is not
  for (int i = 0; on.size() < 3 || off.size() < 2; ++i) {
    const std::string user = "u" + std::to_string(i);
    (KafkaDefaultPartition(user, 4) == 0 ? on : off).push_back(user);
  }
  int64_t offset = 0;
  auto views = [&] {
    for (const auto* users : {&on, &off})
      for (size_t u = 0; u < (users == &on ? 3 : 2); ++u) Add(EventType::kView, (*users)[u], "i", kNow, offset++);
  };
  views();  // the task count is not known yet: nothing to check against
  ASSERT_TRUE(pipeline_->RunOnce(0).ok());
  EXPECT_EQ(metrics_.EventsOffPartition("views").Value(), 0);
  pipeline_->SetTaskCount(4);
  views();
  views();
  ASSERT_TRUE(pipeline_->RunOnce(0).ok());
  EXPECT_EQ(metrics_.EventsOffPartition("views").Value(), 4);  // the two off-partition users, twice
  ASSERT_TRUE(pipeline_->Commit().ok());
  EXPECT_EQ(Views24h(off[0]), 3);
  EXPECT_EQ(Views24h(on[0]), 3);
}

TEST_F(IngestPipelineTest, FailingCommitsHoldOffsetsUntilTheStoreRecovers) {
  Assign();
  for (int i = 0; i < 3; ++i) Add(EventType::kClick, "u4", "i", kNow, i);
  ASSERT_TRUE(pipeline_->RunOnce(0).ok());
  flaky_->fail = true;
  EXPECT_FALSE(pipeline_->Commit().ok());
  EXPECT_FALSE(pipeline_->healthy());
  const std::string stalled = "featmon_commits_stalled{reason=\"io_error\"} ";
  EXPECT_NE(metrics_.Serialize().find(stalled + "1\n"), std::string::npos) << metrics_.Serialize();
  Add(EventType::kClick, "u4", "i", kNow, 3);
  EXPECT_FALSE(pipeline_->RunOnce(0).ok());  // retries the commit, polls nothing
  EXPECT_EQ(source_.queue.size(), 1u);
  EXPECT_FALSE((*store_->LoadCheckpoint({"clicks", 0})).has_value());
  flaky_->fail = false;
  ASSERT_TRUE(pipeline_->RunOnce(0).ok());
  ASSERT_TRUE(pipeline_->Commit().ok());
  EXPECT_TRUE(pipeline_->healthy());
  EXPECT_NE(metrics_.Serialize().find(stalled + "0\n"), std::string::npos);
  EXPECT_EQ((*store_->LoadCheckpoint({"clicks", 0}))->next_offset, 4);
}

TEST_F(IngestPipelineTest, DeadLetterFailureBlocksTheCommitThatWouldSkipThem) {
  Assign();
  source_.queue.push_back({"views", 0, 0, "garbage\xff"});
  ASSERT_TRUE(pipeline_->RunOnce(0).ok());
  sink_.fail_flush = true;
  EXPECT_FALSE(pipeline_->Commit().ok());
  EXPECT_FALSE((*store_->LoadCheckpoint({"views", 0})).has_value());
  sink_.fail_flush = false;
  ASSERT_TRUE(pipeline_->Commit().ok());
  EXPECT_EQ((*store_->LoadCheckpoint({"views", 0}))->next_offset, 1);
}

// A failed read must not drop the event (bf86bbb applied nothing to that
// entity and moved the offset on): the message waits, the pipeline is unready,
// and once the store answers the event counts exactly once.
TEST_F(IngestPipelineTest, AFailedReadHoldsTheEventUntilTheStoreAnswers) {
  Assign();
  for (int i = 0; i < 3; ++i) Add(EventType::kView, "u6", "i", kNow - 100, i);
  ASSERT_TRUE(pipeline_->RunOnce(0).ok());
  ASSERT_TRUE(pipeline_->Commit().ok());
  Open();  // an empty cache: the next event of u6 must read its state
  Assign();
  for (int i = 3; i < 6; ++i) Add(EventType::kView, "u6", "i", kNow - 100, i);
  flaky_->fail_reads = true;
  Status st = pipeline_->RunOnce(0);
  EXPECT_EQ(st.code(), StatusCode::kIOError) << st.ToString();
  EXPECT_FALSE(pipeline_->healthy());
  const std::string error = pipeline_->Snapshot().last_error;
  EXPECT_NE(error.find("a message is held"), std::string::npos) << error;
  EXPECT_NE(error.find("sst file unreadable"), std::string::npos) << error;
  EXPECT_EQ(metrics_.StoreReadFailures().Value(), 1);
  EXPECT_FALSE(pipeline_->RunOnce(0).ok());  // retried, still failing
  ASSERT_TRUE(pipeline_->Commit().ok());
  EXPECT_EQ((*store_->LoadCheckpoint({"views", 0}))->next_offset, 3) << "the offset moved past an unread entity";
  flaky_->fail_reads = false;
  ASSERT_TRUE(pipeline_->RunOnce(0).ok());
  EXPECT_TRUE(pipeline_->healthy());
  ASSERT_TRUE(pipeline_->Commit().ok());
  EXPECT_EQ(Views24h("u6"), 6);
  EXPECT_EQ((*store_->LoadCheckpoint({"views", 0}))->next_offset, 6);
  EXPECT_EQ(pipeline_->Snapshot().consumed_total, 3u);  // each message counted once, however often it was tried
}

// A stored state that does not decode is kept aside, counted, and the entity
// starts afresh; bf86bbb replaced it without a trace.
TEST_F(IngestPipelineTest, AStateThatDoesNotDecodeIsKeptAsideNotSilentlyReset) {
  Assign();
  const ShardId shard = *store_->RegisterShard({"views", 0});
  CommitBatch garbage;
  garbage.entities.push_back({EntityKey(shard, EntityKind::kUser, "u7"), "\x07not a state"});
  ASSERT_TRUE(store_->Commit(garbage).ok());
  Add(EventType::kView, "u7", "i", kNow - 100, 0);
  ASSERT_TRUE(pipeline_->RunOnce(0).ok());
  ASSERT_TRUE(pipeline_->Commit().ok());
  EXPECT_EQ(metrics_.StateQuarantined().Value(), 1);
  EXPECT_EQ(store_->QuarantinedCount(), 1u);
  EXPECT_EQ(Views24h("u7"), 1);  // afresh, from this event on
}

// The dead letter of a rejected message must be queued before its offset
// moves: a sink that refuses it holds the message, which then goes out once.
TEST_F(IngestPipelineTest, ADeadLetterThatCannotBeQueuedHoldsItsMessage) {
  Assign();
  source_.queue.push_back({"views", 0, 0, "garbage\xff"});
  Add(EventType::kView, "u8", "i", kNow - 100, 1);
  sink_.fail_send = true;
  EXPECT_FALSE(pipeline_->RunOnce(0).ok());
  ASSERT_TRUE(pipeline_->Commit().ok());
  EXPECT_FALSE((*store_->LoadCheckpoint({"views", 0})).has_value());
  EXPECT_EQ(pipeline_->Snapshot().rejected_total, 0u);
  EXPECT_FALSE(pipeline_->healthy());
  EXPECT_EQ(metrics_.StoreReadFailures().Value(), 0) << "a dead letter is not a store read";
  sink_.fail_send = false;
  ASSERT_TRUE(pipeline_->RunOnce(0).ok());
  ASSERT_TRUE(pipeline_->Commit().ok());
  EXPECT_EQ(sink_.reasons, (std::vector<std::string>{"decode_error"}));
  EXPECT_EQ(pipeline_->Snapshot().rejected_total, 1u);
  EXPECT_EQ(Views24h("u8"), 1);
  EXPECT_EQ((*store_->LoadCheckpoint({"views", 0}))->next_offset, 2);
}

TEST_F(IngestPipelineTest, CacheGaugeIsTheSumOverPipelinesSharingTheMetrics) {
  Assign();
  for (int i = 0; i < 5; ++i) Add(EventType::kView, "ua" + std::to_string(i), "i", kNow, i);
  ASSERT_TRUE(pipeline_->RunOnce(0).ok());
  ASSERT_TRUE(pipeline_->Commit().ok());  // 5 users + 1 item
  {
    ScriptedSource other_source;
    IngestPipelineOptions options;
    options.commit_interval_ms = 1'000'000;
    IngestPipeline other(options, set_.get(), flaky_.get(), &sink_, &metrics_, &clock_);
    other.set_source(&other_source);
    std::vector<int64_t> starts;
    ASSERT_TRUE(other.OnAssigned({{"views", 1}}, &starts).ok());
    Event e;
    e.type = EventType::kView;
    e.user_id = "ub";
    e.item_id = "j";
    e.ts_ms = kNow;
    other_source.queue.push_back({"views", 1, 0, EncodeEvent(e, WireFormat::kProtobuf)});
    ASSERT_TRUE(other.RunOnce(0).ok());
    ASSERT_TRUE(other.Commit().ok());  // 1 user + 1 item
    EXPECT_EQ(metrics_.CacheEntities().Value(), 8);
  }
  EXPECT_EQ(metrics_.CacheEntities().Value(), 6);  // a pipeline that goes away takes its share along
}

// The cache is bounded in bytes too (issue 12, target 9), and an entity used
// since the last sweep is spared: the hot one stays, idle ones go.
TEST_F(IngestPipelineTest, TheCacheKeepsToItsByteBudgetAndSparesWhatWasJustUsed) {
  IngestPipelineOptions options = TestOptions();
  options.cache_max_bytes = 64 << 10;
  MakePipeline(options);
  Assign();
  int64_t offset = 0;
  for (int round = 0; round < 5; ++round) {
    for (int u = 0; u < 200; ++u) {
      Add(EventType::kView, "cold-" + std::to_string(round) + "-" + std::to_string(u), "i", kNow - 100, offset++);
      Add(EventType::kView, "hot", "i", kNow - 100, offset++);
    }
    ASSERT_TRUE(pipeline_->RunOnce(0).ok());
    ASSERT_TRUE(pipeline_->Commit().ok());
    EXPECT_LE(metrics_.CacheBytes().Value(), 0.9 * options.cache_max_bytes) << "round " << round;
    EXPECT_GT(metrics_.CacheBytes().Value(), 0);
    EXPECT_EQ(CachedViews24h(*pipeline_, "hot"), 200 * (round + 1)) << "round " << round;
  }
  EXPECT_EQ(CachedViews24h(*pipeline_, "cold-0-0"), -1);
  EXPECT_EQ(Views24h("cold-0-0"), 1);  // evicted after its commit, not lost
  EXPECT_LT(metrics_.CacheEntities().Value(), 1000);
}

// Freshness (issue 12): an applied event is in the cache lookups read before
// any commit, and a revoke takes the cache away with the partitions.
TEST_F(IngestPipelineTest, AnAppliedEventIsVisibleInTheCacheBeforeItsCommit) {
  Assign();
  for (int i = 0; i < 3; ++i) Add(EventType::kView, "u1", "i", kNow - 100, i);
  ASSERT_TRUE(pipeline_->RunOnce(0).ok());
  ASSERT_TRUE(pipeline_->Commit().ok());
  for (int i = 3; i < 5; ++i) Add(EventType::kView, "u1", "i", kNow - 100, i);
  ASSERT_TRUE(pipeline_->RunOnce(0).ok());
  EXPECT_EQ(Views24h("u1"), 3);  // committed
  EXPECT_EQ(CachedViews24h(*pipeline_, "u1"), 5);
  EXPECT_EQ(CachedViews24h(*pipeline_, "nobody"), -1);
  std::vector<std::pair<ShardId, EntityState>> cached;
  pipeline_->CopyCached(EntityKind::kUser, "u1", store_->Shards(), &cached);
  ASSERT_EQ(cached.size(), 1u);
  EXPECT_EQ(cached[0].first, *store_->RegisterShard({"views", 0}));
  EXPECT_EQ(ReadToVisibleCount(), 5u);  // every applied event, visible once applied

  pipeline_->OnRevoked({{"views", 0}, {"clicks", 0}});
  EXPECT_EQ(CachedViews24h(*pipeline_, "u1"), -1);
  EXPECT_EQ(Views24h("u1"), 5);  // the revoke committed first
}

TEST_F(IngestPipelineTest, UnderReadCommittedAnEventIsVisibleAtItsCommit) {
  IngestPipelineOptions options = TestOptions();
  options.lookups_read_cache = false;
  MakePipeline(options);
  Assign();
  for (int i = 0; i < 4; ++i) Add(EventType::kView, "u1", "i", kNow - 100, i);
  ASSERT_TRUE(pipeline_->RunOnce(0).ok());
  EXPECT_EQ(ReadToVisibleCount(), 0u);
  clock_.AdvanceMs(150);
  ASSERT_TRUE(pipeline_->Commit().ok());
  const auto h = metrics_.ReadToVisible().Collect().histogram;
  EXPECT_EQ(h.sample_count, 4u);
  EXPECT_DOUBLE_EQ(h.sample_sum, 4 * 0.150);
}

// Lookups copy states while the worker applies events and commits (run under
// TSan in CI): every copy is a whole state, and counts only grow.
TEST_F(IngestPipelineTest, LookupsReadTheCacheWhileTheWorkerWrites) {
  IngestPipelineOptions options = TestOptions();
  options.poll_batch = 100;
  MakePipeline(options);
  Assign();
  constexpr int kEvents = 4000;
  for (int i = 0; i < kEvents; ++i) Add(EventType::kView, "u" + std::to_string(i % 3), "i" + std::to_string(i % 50), kNow - 100, i);
  std::atomic<bool> done{false};
  std::atomic<int> regressions{0};
  std::thread reader([&] {
    int64_t last = 0;
    while (!done.load()) {
      const int64_t v = CachedViews24h(*pipeline_, "u0");
      if (v >= 0 && v < last) ++regressions;
      last = std::max(last, v);
    }
  });
  while (!source_.queue.empty()) {
    ASSERT_TRUE(pipeline_->RunOnce(0).ok());
    ASSERT_TRUE(pipeline_->Commit().ok());
  }
  done = true;
  reader.join();
  EXPECT_EQ(regressions.load(), 0);
  EXPECT_EQ(CachedViews24h(*pipeline_, "u0"), (kEvents + 2) / 3);
}

// Cooperative rebalancing revokes some partitions and keeps the others. A
// commit that fails on revoke must not take the kept partitions' work along:
// their offsets have moved past it and Kafka will not hand it over again.
TEST_F(IngestPipelineTest, ARevokeWhoseCommitFailsKeepsTheOtherPartitionsWork) {
  std::vector<int64_t> starts;
  ASSERT_TRUE(pipeline_->OnAssigned({{"views", 0}, {"views", 1}}, &starts).ok());
  for (int i = 0; i < 3; ++i) {
    Add(EventType::kView, "u1", "i", kNow - 100, i, 0);
    Add(EventType::kView, "u2", "i", kNow - 100, i, 1);
  }
  ASSERT_TRUE(pipeline_->RunOnce(0).ok());
  flaky_->fail = true;
  pipeline_->OnRevoked({{"views", 1}});
  EXPECT_FALSE(pipeline_->healthy()) << "the kept partition's commit is still owed";
  EXPECT_EQ(CachedViews24h(*pipeline_, "u1"), 3);
  EXPECT_EQ(CachedViews24h(*pipeline_, "u2"), -1) << "a revoked partition's state is served by its next owner";
  flaky_->fail = false;
  ASSERT_TRUE(pipeline_->RunOnce(0).ok());  // retries the commit first
  EXPECT_TRUE(pipeline_->healthy());
  EXPECT_EQ(Views24h("u1"), 3);
  EXPECT_EQ(StoredOffset({"views", 0}), 3);
  EXPECT_EQ(Views24h("u2"), 0);
  EXPECT_EQ(StoredOffset({"views", 1}), -1) << "replayed from the start by its next owner";
}

// A held batch keeps the kept partitions' messages through a revoke; only the
// revoked partitions' are dropped (their next owner replays them).
TEST_F(IngestPipelineTest, ARevokeDropsOnlyTheRevokedPartitionsMessagesFromAHeldBatch) {
  std::vector<int64_t> starts;
  ASSERT_TRUE(pipeline_->OnAssigned({{"views", 0}, {"views", 1}}, &starts).ok());
  Add(EventType::kView, "u2", "i", kNow - 100, 0, 1);
  Add(EventType::kView, "u1", "i", kNow - 100, 0, 0);
  Add(EventType::kView, "u2", "i", kNow - 100, 1, 1);
  Add(EventType::kView, "u1", "i", kNow - 100, 1, 0);
  flaky_->fail_reads = true;
  EXPECT_FALSE(pipeline_->RunOnce(0).ok());  // holds views/1@0
  EXPECT_FALSE(pipeline_->healthy());
  pipeline_->OnRevoked({{"views", 1}});
  EXPECT_TRUE(pipeline_->healthy()) << "the held message went with its partition";
  flaky_->fail_reads = false;
  ASSERT_TRUE(pipeline_->RunOnce(0).ok());
  ASSERT_TRUE(pipeline_->Commit().ok());
  EXPECT_EQ(Views24h("u1"), 2);
  EXPECT_EQ(StoredOffset({"views", 0}), 2);
  EXPECT_EQ(Views24h("u2"), 0);
  EXPECT_EQ(pipeline_->Snapshot().consumed_total, 2u);
}


// With a repartition topic the views update their users and are re-keyed;
// the items partition applies each source offset once, whatever is sent
// again (a restart resending from its commit, a zombie), across a restart of
// its own; the item counts are those of the events.
TEST_F(IngestPipelineTest, ItemStateComesOnceFromTheRepartitionTopic) {
  IngestPipelineOptions options = TestOptions();
  options.items_topic = "items";
  RecordingRepartition items;
  auto make = [&] {
    MakePipeline(options);
    pipeline_->set_repartition(&items);
    pipeline_->SetTaskCount(1);
    std::vector<int64_t> starts;
    EXPECT_TRUE(pipeline_->OnAssigned({{"views", 0}, {"clicks", 0}, {"items", 0}}, &starts).ok());
    return starts;
  };
  make();
  for (int i = 0; i < 10; ++i) Add(EventType::kView, "u1", i % 3 ? "iA" : "iB", kNow - 1000 + i, i);
  ASSERT_TRUE(pipeline_->RunOnce(0).ok());
  ASSERT_EQ(items.sent.size(), 10u);
  EXPECT_EQ(items.sent[0].key, "iB");
  EXPECT_EQ(items.sent[0].partition, 0);
  // The items partition: all ten, then the first four again (sent again
  // after a crash), then the rest again.
  int64_t offset = 0;
  auto deliver = [&](size_t from, size_t to) {
    for (size_t k = from; k < to; ++k) source_.queue.push_back({"items", 0, offset++, items.sent[k].value});
  };
  deliver(0, 10);
  deliver(0, 4);
  ASSERT_TRUE(pipeline_->RunOnce(0).ok());
  ASSERT_TRUE(pipeline_->Commit().ok());
  EXPECT_EQ(Views24h("u1"), 10);
  EXPECT_EQ(Views24h("iA", EntityKind::kItem), 6);
  EXPECT_EQ(Views24h("iB", EntityKind::kItem), 4);
  // The user's shard holds no item state: one task holds each item.
  std::vector<std::string> raw;
  ASSERT_TRUE(store_->GetAllShards(EntityKind::kItem, "iA", &raw).ok());
  EXPECT_EQ(raw.size(), 1u);

  // A restart reads its marks back: a resend is skipped still.
  Open();
  EXPECT_EQ(make(), (std::vector<int64_t>{10, -1, 14}));
  deliver(4, 10);
  ASSERT_TRUE(pipeline_->RunOnce(0).ok());
  ASSERT_TRUE(pipeline_->Commit().ok());
  EXPECT_EQ(Views24h("iA", EntityKind::kItem), 6);
  EXPECT_EQ(Views24h("iB", EntityKind::kItem), 4);
  // A record nothing of featmond wrote is a dead letter, not a stall; so is
  // one from a source partition the inputs did not have (one task here).
  source_.queue.push_back({"items", 0, offset++, "not re-keyed"});
  std::string beyond;
  EncodeRekeyedEvent(EventType::kView, 1, 0, DecodeRekeyedEvent(items.sent[0].value)->payload, &beyond);
  source_.queue.push_back({"items", 0, offset++, beyond});
  ASSERT_TRUE(pipeline_->RunOnce(0).ok());
  EXPECT_EQ(sink_.reasons, (std::vector<std::string>{"decode_error", "decode_error"}));
  ASSERT_TRUE(pipeline_->Commit().ok());
  EXPECT_EQ(Views24h("iB", EntityKind::kItem), 4) << "a rejected record applies nothing";
  EXPECT_EQ(StoredOffset({"items", 0}), offset) << "and does not stall its partition";
}

// A view whose re-keyed record cannot be queued is held, and its user is
// not counted until it is: nothing of it happens twice or is skipped.
TEST_F(IngestPipelineTest, AViewThatCannotBeRekeyedIsHeld) {
  IngestPipelineOptions options = TestOptions();
  options.items_topic = "items";
  RecordingRepartition items;
  MakePipeline(options);
  pipeline_->set_repartition(&items);
  pipeline_->SetTaskCount(1);
  std::vector<int64_t> starts;
  ASSERT_TRUE(pipeline_->OnAssigned({{"views", 0}, {"clicks", 0}, {"items", 0}}, &starts).ok());
  Add(EventType::kView, "u1", "iA", kNow - 1000, 0);
  items.fail_send = true;
  EXPECT_FALSE(pipeline_->RunOnce(0).ok());
  EXPECT_LE(CachedViews24h(*pipeline_, "u1"), 0);  // loaded perhaps, not counted
  EXPECT_TRUE(items.sent.empty());
  items.fail_send = false;
  ASSERT_TRUE(pipeline_->RunOnce(0).ok());
  EXPECT_EQ(items.sent.size(), 1u);
  EXPECT_EQ(CachedViews24h(*pipeline_, "u1"), 1);
}

}  // namespace
}  // namespace featmon
