#include "cluster/serving_policy.h"

namespace featmon {

Coverage DecideServing(const TaskHoldings& h, bool keyed_by_partition_key) {
  // Before its first assignment an instance answers from what it last held,
  // as a restarted full copy must (its state is open before the group answers).
  if (!h.assigned) return Coverage::kEverything;
  if (h.total > 0 && h.held >= h.total) return Coverage::kEverything;
  return keyed_by_partition_key ? Coverage::kHeldTasks : Coverage::kNothing;
}

std::string WhyRefused(const TaskHoldings& h, bool keyed_by_partition_key, int default_task) {
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

}  // namespace featmon
