// What an instance may answer a lookup from, given the tasks it holds, so
// that it never serves a wrong value as a right one.
//
// An instance that shares its consumer group holds only some tasks. A user's
// events all live in one task (the inputs are keyed by user), so the user's
// state is whole where that task is held, and elsewhere any local copy is
// stale or missing. An item's events are spread over every task, so an
// instance holding only some tasks has only part of an item's counts.
// Such answers are asked of the owners (daemon/api/peer_routing.h) or
// refused with 503, never given as if they were whole.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace featmon {

struct TaskHoldings {
  bool assigned = false;  // the group has assigned this instance at least once
  int held = 0;           // tasks held now
  int total = 0;          // tasks that exist (the first topic's partitions); 0: not known yet
  // It shares its group, or may: it is configured as a cluster member (an
  // advertised URL, a changelog), or at its last change of holdings before
  // this start it held only some tasks. The group may have moved any of its
  // stored tasks while it was down, so before its first assignment it
  // answers from no local copy.
  bool cluster_member = false;
};

enum class Coverage {
  kEverything,  // all local state: a full copy, or no assignment yet (what it last held)
  kHeldTasks,   // only the state of held tasks; a key found nowhere there is refused
  kNothing,     // refused
};

// `keyed_by_partition_key`: the entity is what the input topics are keyed
// by (the user), so its state lives in exactly one task. Runs on every
// lookup, so it only decides; WhyRefused words a refusal.
Coverage DecideServing(const TaskHoldings& holdings, bool keyed_by_partition_key);

// One input partition of a stored full copy at start, before its first
// assignment: the next offset its checkpoint stores, and the group's
// committed offset for it (-1 for either: none).
struct CopyAgainstGroup {
  int64_t local_next_offset = -1;
  int64_t group_committed = -1;
};
// The first partition the group has committed past the copy, or -1. Such a
// partition was processed by another member while this one was down, so
// the copy is stale there and must not be served as a full copy: the
// instance then starts as a cluster member (TaskHoldings::cluster_member).
int FirstPassedByGroup(const std::vector<CopyAgainstGroup>& partitions);

// What a client refused under DecideServing's answer is told. For a key
// refused as not held, `default_task` (>= 0) is its task under Kafka's
// default partitioner (cluster/key_partitioner.h), to say where to ask.
std::string WhyRefused(const TaskHoldings& holdings, bool keyed_by_partition_key, int default_task = -1);

}  // namespace featmon
