// Which instance of a consumer group owns which task, as the instances
// announce it on the members topic (daemon/kafka/members_topic.h), so that
// any instance can send a lookup to the owner of the key's task.
//
// Each instance announces itself under its advertised URL: the tasks it holds
// now, after every assignment and revoke, and a tombstone when it leaves.
// The topic's records are applied in log order (one partition), and a task's
// owner is the member whose latest announcement, of all that claim the task,
// came last. That settles the cases a rebalance produces without any protocol
// of our own:
//   - a clean move: the old owner announces without the task when it is
//     revoked, the new one with it when it is assigned;
//   - a crash: the dead member's last claim stands until the group gives the
//     task to another member, whose claim is later and so wins;
//   - a late announcement of a revoke cannot take a task from its new owner,
//     since it claims nothing.
// The directory can lag the group by the time an announcement takes to
// arrive, so it only says where to ask: the owner checks its own holdings
// before answering (cluster/serving_policy.h), and a lookup sent to the wrong
// instance is refused with 503, never answered wrongly.
//
// Pure: no Kafka, no clock. Thread-safety: none (the adapter locks).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace featmon {

struct MemberAnnouncement {
  std::string url;            // advertised URL: the member's identity in the directory
  std::string run_id;         // random per process start: tells a restarted member from its predecessor
  std::vector<int32_t> tasks; // held now, sorted
  int32_t total_tasks = 0;    // tasks the group has (0: not known yet)
  int64_t at_ms = 0;          // the announcer's wall clock, for people reading /v1/cluster
  std::vector<int32_t> standby_tasks;  // warm standby copies it keeps (cluster.standby_replicas), sorted
  // It runs the group's model monitoring (with kafka.monitor_changelog_topic,
  // one instance at a time does: daemon/monitor/monitoring_owner.h).
  bool monitoring = false;
};

// The JSON value of a members-topic record, and back. Decode names what is
// wrong with a record it cannot read.
std::string EncodeAnnouncement(const MemberAnnouncement& a);
Result<MemberAnnouncement> DecodeAnnouncement(std::string_view json);

class MemberDirectory {
 public:
  // Applies the record at `offset` of the members topic (offsets increase).
  void Announce(MemberAnnouncement a, int64_t offset);
  // A tombstone: the member at `url` left.
  void Leave(const std::string& url);

  // The member that owns `task`, or nullptr when no member claims it.
  const MemberAnnouncement* OwnerOf(int32_t task) const;
  // The member that runs the monitoring, by the same rule as a task: of the
  // members whose latest announcement claims it, the one that came last.
  const MemberAnnouncement* MonitoringOwner() const;

  struct Member {
    MemberAnnouncement announced;
    std::vector<int32_t> owned;  // the tasks it owns: announced, and not claimed later by another
    int64_t offset = 0;          // of its latest announcement
  };
  // Every member that announced itself and has not left, by URL.
  std::vector<Member> Members() const;
  // Tasks 0..total_tasks-1 that no member claims.
  std::vector<int32_t> Unclaimed(int32_t total_tasks) const;

 private:
  struct Entry {
    MemberAnnouncement announced;
    int64_t offset = 0;
  };
  std::map<std::string, Entry> members_;  // by URL
  std::map<int32_t, std::string> owner_;  // task -> URL of the latest claim
  std::string monitoring_owner_;          // URL of the latest claim of the monitoring; empty: none
  // Recomputes owner_ from members_: a member's new announcement may drop
  // tasks that an older claim of another member should then answer for.
  void Resolve();
};

}  // namespace featmon
