#include "daemon/pipeline/partition_table.h"

#include <gtest/gtest.h>

#include "daemon/store/rocksdb_store.h"
#include "tests/daemon/scripted_source.h"
#include "tests/daemon/temp_dir.h"

namespace featmon {
namespace {

struct Part {
  PartitionCheckpoint cp;
};

std::unique_ptr<Part> MakePart(const std::string& topic, int32_t partition) {
  auto p = std::make_unique<Part>();
  p->cp.tp = {topic, partition};
  return p;
}

TEST(PartitionTableTest, FindsRemovesAndCommitsWhatWasProcessed) {
  Metrics metrics("test");
  PartitionTable<Part> table;
  Part* v0 = table.Add(MakePart("views", 0));
  Part* c0 = table.Add(MakePart("clicks", 0));
  v0->cp.lag = &metrics.ConsumerLag("views", 0);
  v0->cp.event_time_lag = &metrics.EventTimeLag("views", 0);
  EXPECT_EQ(table.Find("views", 0), v0);
  EXPECT_EQ(table.Find("views", 0), v0);  // the last one found
  EXPECT_EQ(table.Find("clicks", 0), c0);
  EXPECT_EQ(table.Find("views", 1), nullptr);

  EXPECT_FALSE(v0->cp.Done(0));
  v0->cp.Processed(41);
  v0->cp.stream_time_ms = 7;
  EXPECT_TRUE(v0->cp.Done(41));
  EXPECT_FALSE(v0->cp.Done(42));
  auto cps = table.DirtyCheckpoints([](const TopicPartition& tp) { return TopicPartition{"x:" + tp.topic, tp.partition}; });
  ASSERT_EQ(cps.size(), 1u);
  EXPECT_EQ(cps[0].first.topic, "x:views");
  EXPECT_EQ(cps[0].second.next_offset, 42);
  EXPECT_EQ(cps[0].second.stream_time_ms, 7);
  auto offsets = table.MarkCommitted();
  ASSERT_EQ(offsets.size(), 1u);
  EXPECT_EQ(offsets[0].second, 42);
  EXPECT_EQ(v0->cp.committed_offset, 42);
  EXPECT_TRUE(table.DirtyCheckpoints([](const TopicPartition& tp) { return tp; }).empty());

  testing::ScriptedSource source;
  source.report_high_watermarks = true;
  for (int i = 0; i < 50; ++i) source.Append("views", 0, "x");
  table.RefreshEnds(&source, 2'507);
  EXPECT_EQ(v0->cp.high_watermark, 50);
  EXPECT_EQ(metrics.ConsumerLag("views", 0).Value(), 8);
  EXPECT_DOUBLE_EQ(metrics.EventTimeLag("views", 0).Value(), 2.5);  // wall clock 2,507 ms, stream time 7 ms
  EXPECT_EQ(c0->cp.high_watermark, 0);

  EXPECT_EQ(table.Remove({{"views", 0}, {"views", 9}}, &metrics), 1u);
  EXPECT_EQ(table.size(), 1u);
  EXPECT_EQ(table.Find("views", 0), nullptr);
  EXPECT_EQ(metrics.Serialize().find("featmon_consumer_lag_messages{partition=\"0\",topic=\"views\"}"), std::string::npos);
  EXPECT_EQ(metrics.Serialize().find("featmon_event_time_lag_seconds{partition=\"0\",topic=\"views\"}"), std::string::npos);
}

TEST(PartitionTableTest, LoadsAStoredCheckpoint) {
  testing::TempDir dir;
  auto store = RocksDbStore::Open({dir.path()});
  ASSERT_TRUE(store.ok());
  PartitionCheckpoint cp;
  auto none = LoadCheckpoint(store->get(), {"views", 3}, &cp);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(*none);
  EXPECT_EQ(cp.next_offset, -1);
  CommitBatch batch;
  batch.checkpoints.push_back({{"views", 3}, {120, 99}});
  ASSERT_TRUE((*store)->Commit(batch).ok());
  auto some = LoadCheckpoint(store->get(), {"views", 3}, &cp);
  ASSERT_TRUE(some.ok());
  EXPECT_TRUE(*some);
  EXPECT_EQ(cp.next_offset, 120);
  EXPECT_EQ(cp.committed_offset, 120);
  EXPECT_EQ(cp.stream_time_ms, 99);
}

}  // namespace
}  // namespace featmon
