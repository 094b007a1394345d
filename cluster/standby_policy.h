// Which tasks an instance keeps warm standby copies of
// (cluster.standby_replicas), decided by every instance alike from the
// member directory (cluster/member_directory.h), with nothing agreed among
// them: among the members that own tasks, in URL order, a task's standbys
// are the `replicas` members that follow its owner, wrapping around, never
// the owner itself. A member owning nothing (one killed without a
// tombstone stays listed so; one just joined has no tasks yet) keeps no
// standbys. A task no member claims (its owner left or crashed, and the
// group has not reassigned it yet) keeps the standbys it would have as if
// owned by the member at position task % members, so that copies are warm
// wherever it lands.
//
// Members join and leave one at a time, so the set moves little: a new
// member takes over the standbys of the tasks whose owners precede it. Like
// Kafka Streams' standby tasks, a copy is best effort: a task assigned
// where no standby was restores its changelog as it would without one.
//
// Pure: no Kafka, no clock.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cluster/member_directory.h"

namespace featmon::cluster {

// The tasks among 0..total_tasks-1 that the member at `self_url` keeps
// standbys of, sorted. None when `self_url` owns nothing, or replicas <= 0.
std::vector<int32_t> StandbyTasksOf(const std::vector<MemberDirectory::Member>& members, const std::string& self_url,
                                    int32_t total_tasks, int replicas);

}  // namespace featmon::cluster
