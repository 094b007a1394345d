#include "daemon/store/rocksdb_store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include <fstream>

#include "features/feature_engine.h"
#include "tests/daemon/temp_dir.h"
#include "tests/features/test_specs.h"

namespace featmon {
namespace {

using testing::TempDir;

TEST(RocksDbStoreTest, CommitsStatesAndCheckpointsTogetherAndReopens) {
  TempDir dir;
  TopicPartition tp{"views", 3};
  {
    auto store = RocksDbStore::Open({dir.path()});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto shard = (*store)->RegisterShard(tp);
    ASSERT_TRUE(shard.ok());
    EXPECT_EQ(*(*store)->RegisterShard(tp), *shard);
    CommitBatch batch;
    batch.entities.push_back({EntityKey(*shard, EntityKind::kUser, "u1"), "state-u1"});
    batch.checkpoints.push_back({tp, {42, 1000}});
    ASSERT_TRUE((*store)->Commit(batch).ok());
  }
  auto store = RocksDbStore::Open({dir.path()});
  ASSERT_TRUE(store.ok());
  auto cp = (*store)->LoadCheckpoint(tp);
  ASSERT_TRUE(cp.ok() && cp->has_value());
  EXPECT_EQ((*cp)->next_offset, 42);
  EXPECT_EQ((*cp)->stream_time_ms, 1000);
  EXPECT_FALSE((*(*store)->LoadCheckpoint({"views", 4})).has_value());
  ShardId second = *(*store)->RegisterShard({"clicks", 0});
  EXPECT_NE(second, *(*store)->RegisterShard(tp));
  CommitBatch batch;
  batch.entities.push_back({EntityKey(second, EntityKind::kUser, "u1"), "clicks-u1"});
  ASSERT_TRUE((*store)->Commit(batch).ok());
  std::vector<std::string> values;
  ASSERT_TRUE((*store)->GetAllShards(EntityKind::kUser, "u1", &values).ok());
  EXPECT_EQ(values.size(), 2u);
  ASSERT_TRUE((*store)->GetAllShards(EntityKind::kItem, "u1", &values).ok());
  EXPECT_TRUE(values.empty());
}

TEST(RocksDbStoreTest, OnlyTheShardsAskedForAreReadAndWrittenBytesAreCounted) {
  TempDir dir;
  auto store = RocksDbStore::Open({dir.path()});
  ASSERT_TRUE(store.ok());
  const ShardId a = *(*store)->RegisterShard({"views", 0}), b = *(*store)->RegisterShard({"clicks", 0});
  const WrittenBytes before = (*store)->Written();  // the format marker and the shard registry
  CommitBatch batch;
  const std::string big(100'000, 'x');
  batch.entities.push_back({EntityKey(a, EntityKind::kUser, "u1"), "in-a" + big});
  batch.entities.push_back({EntityKey(b, EntityKind::kUser, "u1"), "in-b" + big});
  ASSERT_TRUE((*store)->Commit(batch).ok());
  std::vector<std::string> values;
  EXPECT_EQ((*store)->ShardsThatMayHold(EntityKind::kUser, "u1"), (std::vector<ShardId>{a, b}));
  ASSERT_TRUE((*store)->GetShards(EntityKind::kUser, "u1", {b}, &values).ok());
  ASSERT_EQ(values.size(), 1u);
  EXPECT_EQ(values[0].substr(0, 4), "in-b");

  const WrittenBytes logged = (*store)->Written();
  EXPECT_GE(logged.wal - before.wal, 200'000u);  // both values went through the WAL
  EXPECT_EQ(logged.flush, 0u);
  ASSERT_TRUE((*store)->CompactAll().ok());  // flushes the memtable, then rewrites the files
  const WrittenBytes compacted = (*store)->Written();
  EXPECT_GT(compacted.flush, 0u);
  EXPECT_GT(compacted.compaction, 0u);
  EXPECT_EQ(compacted.total(), compacted.wal + compacted.flush + compacted.compaction);
}

TEST(RocksDbStoreTest, MonitorStateCommitsWithCheckpointsAndScansBack) {
  TempDir dir;
  TopicPartition tp{"monitor:predictions", 0};
  {
    auto store = RocksDbStore::Open({dir.path()});
    ASSERT_TRUE(store.ok());
    CommitBatch batch;
    batch.monitor = {{"mctr", "model-state"}, {"pr|1|i", "pending"}, {"pr|2|i", "pending-2"}};
    batch.checkpoints.push_back({tp, {7, 70}});
    ASSERT_TRUE((*store)->Commit(batch).ok());
    CommitBatch second;
    second.monitor = {{"pr|1|i", std::nullopt}, {"mctr", "model-state-2"}};
    ASSERT_TRUE((*store)->Commit(second).ok());
  }
  auto store = RocksDbStore::Open({dir.path()});
  ASSERT_TRUE(store.ok());
  std::vector<std::pair<std::string, std::string>> seen;
  ASSERT_TRUE((*store)->ScanMonitor([&](std::string_view k, std::string_view v) {
    seen.emplace_back(k, v);
    return Status::Ok();
  }).ok());
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], (std::pair<std::string, std::string>("mctr", "model-state-2")));
  EXPECT_EQ(seen[1], (std::pair<std::string, std::string>("pr|2|i", "pending-2")));
  EXPECT_EQ((*(*store)->LoadCheckpoint(tp))->next_offset, 7);
  // A visitor's error stops the scan and is returned.
  Status st = (*store)->ScanMonitor([](std::string_view, std::string_view) { return Status::Corruption("bad"); });
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
}

TEST(RocksDbStoreTest, RefusesCommitsBelowTheFreeSpaceFloorWithoutWriting) {
  TempDir dir;
  RocksDbStoreOptions options{dir.path()};
  options.min_free_bytes = uint64_t{1} << 62;  // more than any disk has
  auto store = RocksDbStore::Open(options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  CommitBatch batch;
  batch.checkpoints.push_back({{"views", 0}, {7, 1000}});
  Status st = (*store)->Commit(batch);
  EXPECT_EQ(st.code(), StatusCode::kNoSpace) << st.ToString();
  EXPECT_NE(st.message().find("store.min_free_space"), std::string::npos) << st.ToString();
  EXPECT_FALSE((*(*store)->LoadCheckpoint({"views", 0})).has_value());
}

TEST(RocksDbStoreTest, ExpiryFilterDropsIdleEntitiesOnCompaction) {
  TempDir dir;
  auto set = FeatureSet::Compile(testing::DefaultSpecs());
  ASSERT_TRUE(set.ok());
  FeatureEngine engine(&*set);
  ManualClock clock(100 * testing::kDay);
  RocksDbStoreOptions options{dir.path()};
  options.entity_ttl_ms = 8 * testing::kDay;
  options.clock = &clock;
  auto store = RocksDbStore::Open(options);
  ASSERT_TRUE(store.ok());
  ShardId shard = *(*store)->RegisterShard({"views", 0});
  CommitBatch batch;
  for (auto [id, age] : {std::pair{"old", 9 * testing::kDay}, {"fresh", testing::kDay}}) {
    EntityState s;
    Event e;
    e.user_id = id;
    e.item_id = "i";
    e.ts_ms = clock.NowMs() - age;
    engine.Apply(e, EntityKind::kUser, &s);
    batch.entities.push_back({EntityKey(shard, EntityKind::kUser, id), ""});
    EncodeEntityState(*set, EntityKind::kUser, s, &batch.entities.back().value);
  }
  ASSERT_TRUE((*store)->Commit(batch).ok());
  ASSERT_TRUE((*store)->CompactAll().ok());
  EXPECT_FALSE((*(*store)->Get(shard, EntityKind::kUser, "old")).has_value());
  EXPECT_TRUE((*(*store)->Get(shard, EntityKind::kUser, "fresh")).has_value());
}

// Deltas (issue 12, target 5): merged into the stored state when read, and
// the same after a reopen and a full compaction; a delta that cannot be
// merged reads as a corrupt state (quarantined by the pipeline), not as an error.
TEST(RocksDbStoreTest, DeltasMergeIntoTheStoredStateAcrossReopenAndCompaction) {
  TempDir dir;
  auto set = FeatureSet::Compile(testing::DefaultSpecs());
  ASSERT_TRUE(set.ok());
  FeatureEngine engine(&*set);
  RocksDbStoreOptions options{dir.path()};
  options.features = &*set;
  EntityState state;
  std::string expected;
  {
    auto store = RocksDbStore::Open(options);
    ASSERT_TRUE(store.ok());
    const ShardId shard = *(*store)->RegisterShard({"views", 0});
    const std::string key = EntityKey(shard, EntityKind::kItem, "i1");
    Event e;
    e.user_id = "u0";
    e.item_id = "i1";
    e.ts_ms = 100 * testing::kDay;
    engine.Apply(e, EntityKind::kItem, &state);
    CommitBatch full;
    full.entities.push_back({key, ""});
    EncodeEntityState(*set, EntityKind::kItem, state, &full.entities.back().value);
    ASSERT_TRUE((*store)->Commit(full).ok());
    for (int commit = 1; commit <= 5; ++commit) {
      StateChanges changes;
      for (int i = 0; i < 10; ++i) {
        e.user_id = "u" + std::to_string(commit * 10 + i);
        e.ts_ms += 7 * testing::kMin;
        engine.Apply(e, EntityKind::kItem, &state, &changes);
      }
      CommitBatch delta;
      delta.entities.push_back({key, "", true});
      EncodeEntityDelta(*set, EntityKind::kItem, state, changes, &delta.entities.back().value);
      ASSERT_TRUE((*store)->Commit(delta).ok());
    }
    EncodeEntityState(*set, EntityKind::kItem, state, &expected);
    EXPECT_EQ(**(*store)->Get(shard, EntityKind::kItem, "i1"), expected);

    CommitBatch bad;  // onto another stored item
    bad.entities.push_back({EntityKey(shard, EntityKind::kItem, "i2"), expected});
    bad.entities.push_back({EntityKey(shard, EntityKind::kItem, "i2"), std::string("\x02garbage"), true});
    ASSERT_TRUE((*store)->Commit(bad).ok());
    auto read = (*store)->Get(shard, EntityKind::kItem, "i2");
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    EntityState out;
    EXPECT_EQ(DecodeEntityState(*set, EntityKind::kItem, **read, &out).code(), StatusCode::kCorruption);
  }
  auto store = RocksDbStore::Open(options);
  ASSERT_TRUE(store.ok());
  const ShardId shard = *(*store)->RegisterShard({"views", 0});
  EXPECT_EQ(**(*store)->Get(shard, EntityKind::kItem, "i1"), expected);
  ASSERT_TRUE((*store)->CompactAll().ok());
  EXPECT_EQ(**(*store)->Get(shard, EntityKind::kItem, "i1"), expected);
  std::vector<std::string> values;
  ASSERT_TRUE((*store)->GetAllShards(EntityKind::kItem, "i1", &values).ok());
  EXPECT_EQ(values, std::vector<std::string>{expected});
}

// A directory written before deltas (format v1) is read as it is and marked
// v2, so that an older featmond refuses it from then on; an unknown format is refused.
TEST(RocksDbStoreTest, ReadsAVersion1DirectoryAndRefusesAnUnknownFormat) {
  TempDir dir;
  {
    rocksdb::Options db_options;
    db_options.create_if_missing = true;
    db_options.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {{rocksdb::kDefaultColumnFamilyName, {}}, {"meta", {}},
                                                        {"monitor", {}}, {"quarantine", {}}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(db_options, dir.path(), cfs, &handles, &db).ok());
    ASSERT_TRUE(db->Put({}, handles[1], "format", "featmon-state-v1").ok());
    ASSERT_TRUE(db->Put({}, handles[1], "shard/views/0", std::string("\0\0", 2)).ok());
    ASSERT_TRUE(db->Put({}, handles[0], EntityKey(0, EntityKind::kUser, "u1"), "v1-state").ok());
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    delete db;
  }
  {
    auto store = RocksDbStore::Open({dir.path()});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    EXPECT_EQ(**(*store)->Get(0, EntityKind::kUser, "u1"), "v1-state");
  }
  {
    rocksdb::DB* db = nullptr;
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {{rocksdb::kDefaultColumnFamilyName, {}}, {"meta", {}},
                                                        {"monitor", {}}, {"quarantine", {}}};
    ASSERT_TRUE(rocksdb::DB::Open({}, dir.path(), cfs, &handles, &db).ok());
    std::string format;
    ASSERT_TRUE(db->Get({}, handles[1], "format", &format).ok());
    EXPECT_EQ(format, "featmon-state-v2");
    ASSERT_TRUE(db->Put({}, handles[1], "format", "featmon-state-v9").ok());
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    delete db;
  }
  auto store = RocksDbStore::Open({dir.path()});
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("has format 'featmon-state-v9', this featmond reads 'featmon-state-v1' and 'featmon-state-v2'"),
            std::string::npos) << store.status().message();
}

TEST(RocksDbStoreTest, RefusesForeignDirectoryWithoutTouchingIt) {
  TempDir dir;
  std::ofstream(dir.sub("notes.txt")) << "precious";
  auto store = RocksDbStore::Open({dir.path()});
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("refusing"), std::string::npos);
  std::ifstream in(dir.sub("notes.txt"));
  std::string content;
  in >> content;
  EXPECT_EQ(content, "precious");
}

}  // namespace
}  // namespace featmon

namespace featmon {
namespace {

TEST(ShardFilterTest, NoFalseNegativesFewFalsePositives) {
  ShardFilter filter(1 << 20);
  for (int i = 0; i < 50000; ++i) filter.Add(static_cast<uint16_t>(i % 7), "u" + std::to_string(i));
  filter.MarkComplete();
  for (int i = 0; i < 50000; ++i) EXPECT_TRUE(filter.MayContain(static_cast<uint16_t>(i % 7), "u" + std::to_string(i)));
  int false_positives = 0;
  for (int i = 50000; i < 100000; ++i) false_positives += filter.MayContain(3, "u" + std::to_string(i));
  EXPECT_LT(false_positives, 500);  // ~7k keys in 1M bits: well under 1%
  EXPECT_FALSE(filter.MayContain(9, "u1"));  // a shard never written
}

TEST(ShardFilterTest, AnIncompleteFilterMayContainEveryKey) {
  ShardFilter filter(1 << 10);
  filter.Add(1, "u1");
  EXPECT_TRUE(filter.MayContain(1, "u2"));
  EXPECT_TRUE(filter.MayContain(9, "u1"));  // a shard never written
  filter.MarkComplete();
  EXPECT_TRUE(filter.MayContain(1, "u1"));
  EXPECT_FALSE(filter.MayContain(9, "u1"));
}

bool WaitForShardFilters(const RocksDbStore& store) {
  for (int i = 0; i < 3000 && !store.ShardFiltersComplete(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return store.ShardFiltersComplete();
}

// The filters are built from disk in the background while the store serves
// and commits: a key committed during the build is found once it ends.
TEST(RocksDbStoreTest, ShardFiltersBuiltInTheBackgroundMissNoKeyCommittedMeanwhile) {
  testing::TempDir dir;
  constexpr int kStored = 200'000;
  {
    auto store = RocksDbStore::Open({dir.path()});
    ASSERT_TRUE(store.ok());
    ShardId shard = *(*store)->RegisterShard({"views", 0});
    CommitBatch batch;
    for (int i = 0; i < kStored; ++i) batch.entities.push_back({EntityKey(shard, EntityKind::kUser, "u" + std::to_string(i)), "v"});
    ASSERT_TRUE((*store)->Commit(batch).ok());
  }
  auto store = RocksDbStore::Open({dir.path()});
  ASSERT_TRUE(store.ok());
  const bool complete_at_open = (*store)->ShardFiltersComplete();
  CommitBatch late;
  late.entities.push_back({EntityKey(0, EntityKind::kUser, "late"), "w"});
  ASSERT_TRUE((*store)->Commit(late).ok());
  auto value = (*store)->Get(0, EntityKind::kUser, "u12345");  // served before the filters are complete
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(value->value_or("absent"), "v");
  ASSERT_TRUE(WaitForShardFilters(**store));
  std::printf("filters were %s when Open returned\n", complete_at_open ? "complete" : "still being built");
  for (const char* id : {"late", "u0", "u199999"}) {
    value = (*store)->Get(0, EntityKind::kUser, id);
    ASSERT_TRUE(value.ok());
    EXPECT_TRUE(value->has_value()) << id;
  }
  value = (*store)->Get(0, EntityKind::kUser, "never");
  ASSERT_TRUE(value.ok());
  EXPECT_FALSE(value->has_value());
}

TEST(RocksDbStoreTest, LookupsFindEntitiesAfterReopenThroughTheShardFilter) {
  testing::TempDir dir;
  {
    auto store = RocksDbStore::Open({dir.path()});
    ASSERT_TRUE(store.ok());
    CommitBatch batch;
    for (int s = 0; s < 20; ++s) {
      ShardId shard = *(*store)->RegisterShard({"views", s});
      if (s % 3 == 0) batch.entities.push_back({EntityKey(shard, EntityKind::kItem, "x"), "v" + std::to_string(s)});
    }
    ASSERT_TRUE((*store)->Commit(batch).ok());
    std::vector<std::string> values;
    ASSERT_TRUE((*store)->GetAllShards(EntityKind::kItem, "x", &values).ok());
    EXPECT_EQ(values.size(), 7u);
  }
  auto store = RocksDbStore::Open({dir.path()});  // filters rebuilt from disk
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE(WaitForShardFilters(**store));
  std::vector<std::string> values;
  ASSERT_TRUE((*store)->GetAllShards(EntityKind::kItem, "x", &values).ok());
  EXPECT_EQ(values.size(), 7u);
  ASSERT_TRUE((*store)->GetAllShards(EntityKind::kUser, "x", &values).ok());
  EXPECT_TRUE(values.empty());
}

}  // namespace
}  // namespace featmon
