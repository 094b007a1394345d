// Co-partitioned topics and the tasks they form. featmond joins a user's
// views with their clicks (and predictions with clicks) partition by
// partition, so partition p of each such topic must hold the same users:
// the topics need the same partition count and the same key. The unit of
// assignment is then a task, partition p of every topic of the group, as in
// Kafka Streams: the consumer group assigns partitions of the first topic and
// the others follow their partition number.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "common/topic_partition.h"

namespace featmon {

struct CoPartitionedTopic {
  std::string setting;  // the config key that names it, e.g. kafka.topics.views
  std::string topic;
  int partitions = 0;   // as the broker reports them
};

// Ok when every topic has the first one's partition count; otherwise an
// error naming both settings, both counts and what to do.
Status CheckCoPartitioned(const std::vector<CoPartitionedTopic>& topics);

// The tasks of `assigned` (partitions of topics[0]): partition p of every
// topic in `topics`, task by task, in the order given.
std::vector<TopicPartition> TaskPartitions(const std::vector<std::string>& topics,
                                           const std::vector<TopicPartition>& assigned);

}  // namespace featmon
