#include "cluster/co_partitioning.h"

#include <gtest/gtest.h>

namespace featmon {
namespace {

TEST(CoPartitioningTest, TopicsWithTheSamePartitionCountPass) {
  EXPECT_TRUE(CheckCoPartitioned({}).ok());
  EXPECT_TRUE(CheckCoPartitioned({{"kafka.topics.views", "views", 8}, {"kafka.topics.clicks", "clicks", 8}}).ok());
}

TEST(CoPartitioningTest, ADifferentCountNamesBothSettingsAndCounts) {
  Status st = CheckCoPartitioned({{"kafka.topics.predictions", "preds", 12},
                                  {"kafka.topics.clicks", "clicks", 12},
                                  {"kafka.topics.views", "views", 8}});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  for (const char* part : {"kafka.topics.views 'views' has 8 partitions", "kafka.topics.predictions 'preds' has 12",
                           "as many partitions", "repartitioned to 12"})
    EXPECT_NE(st.message().find(part), std::string::npos) << part << " in: " << st.message();
}

TEST(CoPartitioningTest, EachAssignedPartitionBringsItsTask) {
  const std::vector<TopicPartition> task =
      TaskPartitions({"views", "clicks"}, {{"views", 3}, {"views", 0}});
  const std::vector<TopicPartition> expected = {{"views", 3}, {"clicks", 3}, {"views", 0}, {"clicks", 0}};
  EXPECT_EQ(task, expected);
  EXPECT_TRUE(TaskPartitions({"views", "clicks"}, {}).empty());
  EXPECT_EQ(TaskPartitions({"views"}, {{"views", 5}}), (std::vector<TopicPartition>{{"views", 5}}));
}

}  // namespace
}  // namespace featmon
