#include "cluster/serving_policy.h"

#include <algorithm>

namespace featmon {

Coverage DecideServing(const TaskHoldings& h, bool keyed_by_partition_key) {
  // Before its first assignment a full copy answers from what it last held
  // (its state is open before the group answers); a cluster member holds
  // nothing it can vouch for until the group says what it owns.
  if (!h.assigned && !h.cluster_member) return Coverage::kEverything;
  if (h.assigned && h.total > 0 && h.held >= h.total) return Coverage::kEverything;
  return keyed_by_partition_key ? Coverage::kHeldTasks : Coverage::kNothing;
}

std::string WhyRefused(const TaskHoldings& h, bool keyed_by_partition_key, int default_task) {
  if (!h.assigned)
    return "this instance has not been assigned its tasks since it started, and as a member of a cluster it "
           "answers from no local copy until then (the group may have moved its tasks while it was down); retry "
           "shortly, or ask another member";
  const std::string holds = "this instance holds " + std::to_string(h.held) + " of " +
                            (h.total > 0 ? std::to_string(h.total) : std::string("the")) +
                            " tasks of its consumer group";
  if (keyed_by_partition_key && default_task >= 0)
    return holds + ", and this key's task is not among them: under Kafka's default partitioner (murmur2 of the key) "
                   "it is task " + std::to_string(default_task) + ", so ask the instance whose /v1/status lists "
                   "partition " + std::to_string(default_task) + " in assigned_partitions, or give each instance "
                   "its own kafka.group_id to make it a full copy";
  if (keyed_by_partition_key)
    return holds + ", and this key's task is not among them: ask the instance that holds it, or give each instance "
                   "its own kafka.group_id to make it a full copy";
  return holds + ", so it has only part of this entity's events (they come from every task): give each instance "
                 "its own kafka.group_id to make it a full copy";
}

int FirstPassedByGroup(const std::vector<CopyAgainstGroup>& partitions) {
  for (size_t i = 0; i < partitions.size(); ++i)
    if (partitions[i].group_committed > std::max<int64_t>(partitions[i].local_next_offset, 0)) return static_cast<int>(i);
  return -1;
}

}  // namespace featmon
