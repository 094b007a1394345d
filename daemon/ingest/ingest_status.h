// What the rest of featmond may read about feature ingestion (the HTTP API's
// /v1/status, /readyz and lookups): a snapshot of every assigned partition,
// the pipeline's counters and the tasks held, without reaching into Kafka or
// the pipelines.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cluster/serving_policy.h"
#include "common/topic_partition.h"
#include "daemon/store/entity_key.h"

namespace featmon {

struct PartitionStatus {
  TopicPartition tp;
  int64_t committed_offset = -1;  // next offset persisted in the store
  int64_t processed_offset = -1;  // next offset processed (committed or not)
  int64_t high_watermark = -1;
  int64_t stream_time_ms = 0;
  // Restoring until processed_offset reaches it; -1: serving;
  // kRestoreToPartitionEnd: until the partition's end, once the broker says
  // where that is (the group could not say what the previous owner stored).
  int64_t restore_until = -1;
  static constexpr int64_t kRestoreToPartitionEnd = INT64_MAX;
  // Restoring its task's state from the changelog; its input is paused.
  static constexpr int64_t kRestoreFromChangelog = INT64_MAX - 1;
  uint64_t consumed = 0;          // messages taken since assignment
};

// A copy of a task read from its changelog partition: a warm standby's
// (cluster.standby_replicas), or an assigned task's while it restores.
struct StandbyStatus {
  int32_t task = 0;
  int64_t next_offset = 0;  // of its changelog partition: read up to here
  int64_t end_offset = -1;  // the partition's end as last fetched; -1: not known yet
};

struct IngestSnapshot {
  std::vector<PartitionStatus> partitions;
  uint64_t consumed_total = 0;
  uint64_t rejected_total = 0;
  uint64_t late_dropped_total = 0;
  uint64_t commits = 0;
  std::vector<StandbyStatus> standbys;  // by task
  std::vector<StandbyStatus> changelog_restores;  // assigned tasks restoring from the changelog, by task
  std::string last_error;         // why state commits are failing; empty when they succeed
};

// Thread-safety: every method may be called from any thread.
class IngestStatus {
 public:
  virtual ~IngestStatus() = default;
  virtual IngestSnapshot Snapshot() const = 0;
  virtual bool has_assignment() const = 0;
  virtual bool healthy() const = 0;
  // The group's tasks this instance holds (cluster/serving_policy.h).
  virtual TaskHoldings Holdings() const = 0;
  // Tasks held but restoring: their local state is behind what their
  // previous owner processed (IngestPipeline::RestoringTasks). Sorted.
  virtual std::vector<int32_t> RestoringTasks() const = 0;
  // The shards of the tasks held and not restoring, each with its task: what
  // this instance answers for when another member gathers an entity's
  // shards from the whole cluster.
  virtual std::vector<std::pair<ShardId, int32_t>> ServingShards() const = 0;
  // Events seen since start that break the routing rule (a user's events on
  // Kafka's default partition of its user_id). While none has, a user whose
  // task is served here and has no state here has no events at all.
  virtual uint64_t OffPartitionEvents() const = 0;
  // Removes from `shards` all but those ServingShards lists: stale copies
  // left by a rebalance, and tasks restoring here.
  virtual void KeepServingShards(std::vector<ShardId>* shards) const = 0;
};

}  // namespace featmon
