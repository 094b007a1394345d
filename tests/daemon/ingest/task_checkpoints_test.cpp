// The names a task's state is checkpointed under, and the flat index of its marks.
#include "daemon/ingest/task_checkpoints.h"

#include <set>

#include <gtest/gtest.h>

#include "daemon/ingest/rekeyed_event.h"

namespace featmon {
namespace {

TEST(TaskCheckpointsTest, WithoutARepartitionTopicATaskHasItsTwoInputs) {
  const TaskCheckpoints c("views", "clicks", "");
  EXPECT_FALSE(c.rekeyed());
  EXPECT_EQ(c.inputs(), (std::vector<std::string>{"views", "clicks"}));
  EXPECT_EQ(c.Names(3, 16), (std::vector<TopicPartition>{{"views", 3}, {"clicks", 3}}));
  EXPECT_TRUE(c.IsTaskCheckpoint("clicks"));
  EXPECT_FALSE(c.IsTaskCheckpoint("items@views/3"));
  EXPECT_FALSE(c.IsTaskCheckpoint("monitor:predictions"));
}

TEST(TaskCheckpointsTest, WithOneATaskHasThreeInputsAndAMarkPerSourcePartition) {
  const TaskCheckpoints c("views", "clicks", "items");
  EXPECT_EQ(c.inputs(), (std::vector<std::string>{"views", "clicks", "items"}));
  const auto names = c.Names(2, 4);
  ASSERT_EQ(names.size(), 3u + 8u);
  std::set<TopicPartition> marks(names.begin() + 3, names.end());
  for (int32_t s = 0; s < 4; ++s) {
    EXPECT_TRUE(marks.count(RekeyMarkName("items", {"views", s}, 2))) << s;
    EXPECT_TRUE(marks.count(RekeyMarkName("items", {"clicks", s}, 2))) << s;
  }
  for (const TopicPartition& name : names) {
    EXPECT_EQ(name.partition, 2) << name.topic;
    EXPECT_TRUE(c.IsTaskCheckpoint(name.topic)) << name.topic;
  }
  EXPECT_FALSE(c.IsTaskCheckpoint("other@views/1"));
}

TEST(TaskCheckpointsTest, AMarksIndexNamesItsSourcePartition) {
  const TaskCheckpoints c("views", "clicks", "items");
  std::set<size_t> seen;
  for (EventType type : {EventType::kView, EventType::kClick}) {
    for (int32_t s = 0; s < 5; ++s) {
      const size_t i = TaskCheckpoints::MarkIndex(type, s, 5);
      ASSERT_LT(i, 10u);
      EXPECT_TRUE(seen.insert(i).second) << i;
      const TopicPartition source{type == EventType::kClick ? "clicks" : "views", s};
      EXPECT_EQ(c.MarkName(i, 5, 7), RekeyMarkName("items", source, 7));
      EXPECT_EQ(RekeyMarkSource("items", c.MarkName(i, 5, 7).topic), source);
    }
  }
}

}  // namespace
}  // namespace featmon
