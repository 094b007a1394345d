#include "cluster/co_partitioning.h"

namespace featmon {

Status CheckCoPartitioned(const std::vector<CoPartitionedTopic>& topics) {
  if (topics.empty()) return Status::Ok();
  const CoPartitionedTopic& first = topics.front();
  for (const CoPartitionedTopic& t : topics) {
    if (t.partitions == first.partitions) continue;
    return Status::InvalidArgument(
        t.setting + " '" + t.topic + "' has " + std::to_string(t.partitions) + " partitions and " + first.setting +
        " '" + first.topic + "' has " + std::to_string(first.partitions) +
        ": featmond joins them partition by partition (both keyed by user_id), so they need as many partitions. "
        "Give them the same count, or point " + t.setting + " at a copy of the topic repartitioned to " +
        std::to_string(first.partitions));
  }
  return Status::Ok();
}

std::vector<TopicPartition> TaskPartitions(const std::vector<std::string>& topics,
                                           const std::vector<TopicPartition>& assigned) {
  std::vector<TopicPartition> out;
  out.reserve(assigned.size() * topics.size());
  for (const TopicPartition& driver : assigned)
    for (const std::string& topic : topics) out.push_back({topic, driver.partition});
  return out;
}

}  // namespace featmon
