// The persistent state of featmond behind a narrow interface: entity states
// sharded by input partition, and per-partition checkpoints (next offset and
// stream time). A Commit writes both atomically, which is what makes the
// state exactly-once: after a crash, state and offsets agree.
//
// Entity states are keyed as daemon/store/entity_key.h says; a shard is one
// input (topic, partition), numbered in a persistent registry, so a
// partition's state is one contiguous key range that a later version can hand
// to another instance.
//
// Thread-safety: Get/MultiGet/Shards may run concurrently with one writer
// calling Commit/RegisterShard.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/changelog_fold.h"
#include "common/status.h"
#include "common/topic_partition.h"
#include "daemon/store/entity_key.h"
#include "features/event.h"

namespace featmon {

struct Checkpoint {
  int64_t next_offset = 0;     // first offset not yet reflected in the state
  int64_t stream_time_ms = 0;  // largest event time seen on the partition
};

struct EntityWrite {
  std::string key;     // EntityKey(...)
  std::string value;   // EncodeEntityState(...), or EncodeEntityDelta(...) when `delta`
  bool delta = false;  // merged into the stored state (which must exist) instead of replacing it
  bool erase = false;  // deletes the state instead (a restore from the changelog)
};

using ChangelogPosition = changelog::Position;
// The task number the monitoring state's changelog position is stored under
// (kafka.monitor_changelog_topic; daemon/monitor/monitor_changelog.h): no
// input partition has it.
inline constexpr int32_t kMonitorChangelogTask = -1;
// The monitoring pipeline's checkpoints are stored under its partitions'
// topics with this prefix, apart from the ingest pipeline's.
inline constexpr char kMonitorCheckpointTopicPrefix[] = "monitor:";

// Monitoring state (column family "monitor"): per-model state and pending
// labels, keyed by the monitor.
struct MonitorWrite {
  std::string key;
  std::optional<std::string> value;  // nullopt deletes the key
};

// Bytes RocksDB has written to disk since the store opened, by what wrote
// them: together, the write amplification of the state layout.
struct WrittenBytes {
  uint64_t wal = 0;         // the write-ahead log: every commit's batch
  uint64_t flush = 0;       // memtables flushed to level-0 files
  uint64_t compaction = 0;  // files rewritten by compactions
  uint64_t total() const { return wal + flush + compaction; }
};

struct CommitBatch {
  std::vector<EntityWrite> entities;
  std::vector<MonitorWrite> monitor;
  std::vector<std::pair<TopicPartition, Checkpoint>> checkpoints;
  std::vector<std::pair<int32_t, ChangelogPosition>> changelog_positions;  // by task
  // Whether this instance now holds every task of its consumer group: set
  // when its holdings change (IngestWorkers), read at the next start.
  std::optional<bool> holds_every_task;
};

class StateStore {
 public:
  virtual ~StateStore() = default;

  // The shard of an input partition, registering (and persisting) a new one.
  virtual Result<ShardId> RegisterShard(const TopicPartition& tp) = 0;
  // Every shard known to this store.
  virtual std::vector<ShardId> Shards() const = 0;
  // Every input partition that has a shard here (whether or not its state
  // is still kept).
  virtual std::vector<TopicPartition> RegisteredPartitions() const = 0;

  virtual Result<std::optional<Checkpoint>> LoadCheckpoint(const TopicPartition& tp) = 0;
  virtual Result<std::optional<ChangelogPosition>> LoadChangelogPosition(int32_t task) {
    return std::optional<ChangelogPosition>();
  }
  // The last holds_every_task committed; nullopt before any (a new store,
  // or one written before it was recorded).
  virtual Result<std::optional<bool>> LoadHoldsEveryTask() { return std::optional<bool>(); }
  // Deletes, in one write, the entity states of `shards`, the checkpoints of
  // `partitions` and the changelog position of `task`: a task's local state
  // that a restore from the changelog replaces, or that of a task revoked
  // long ago. The next restore of that task then reads its whole changelog.
  virtual Status DropState(const std::vector<ShardId>& shards, const std::vector<TopicPartition>& partitions,
                           int32_t task) {
    return Status::Internal("this store cannot drop state");
  }

  // One entity's state in one shard; nullopt when absent.
  virtual Result<std::optional<std::string>> Get(ShardId shard, EntityKind kind, std::string_view id) = 0;
  // The shards that may hold the entity (committed, or announced below);
  // never one short, sometimes one too many.
  virtual std::vector<ShardId> ShardsThatMayHold(EntityKind kind, std::string_view id) const = 0;
  // An entity an ingest pipeline holds before its first commit: lookups that
  // read the pipelines' caches must not skip its shard.
  virtual void AnnounceEntity(ShardId, EntityKind, std::string_view) {}
  // One entity's state in each of `shards`, present ones only.
  virtual Status GetShards(EntityKind kind, std::string_view id, const std::vector<ShardId>& shards,
                           std::vector<std::string>* values) = 0;
  // ... in every shard that may hold it.
  Status GetAllShards(EntityKind kind, std::string_view id, std::vector<std::string>* values) {
    return GetShards(kind, id, ShardsThatMayHold(kind, id), values);
  }

  // Keeps aside a stored entity state that does not decode, with when and
  // why, so that nothing is reset silently; the caller then starts the entity
  // afresh. Its bytes stay until an operator removes them.
  virtual Status Quarantine(std::string_view key, std::string_view value, std::string_view reason) = 0;
  // Entity states kept aside so far (an estimate).
  virtual uint64_t QuarantinedCount() const { return 0; }

  // Writes entity states, monitoring state and checkpoints in one atomic batch.
  virtual Status Commit(const CommitBatch& batch) = 0;
  // Every monitoring key and value, in key order; stops at the first error
  // the visitor returns.
  virtual Status ScanMonitor(const std::function<Status(std::string_view key, std::string_view value)>& visit) = 0;
  // One monitoring key's value; nullopt when absent.
  virtual Result<std::optional<std::string>> GetMonitor(std::string_view key) {
    return Status::Internal("this store cannot read one monitoring key");
  }
  // Deletes, in one write, every monitoring key, the checkpoints of the
  // monitoring's partitions (topics named "monitor:<topic>") and the
  // monitoring changelog's position: local monitoring state that a restore
  // from the monitoring changelog replaces.
  virtual Status DropMonitorState() { return Status::Internal("this store cannot drop monitoring state"); }

  // Approximate numbers for /metrics: live keys and bytes on disk.
  virtual uint64_t ApproximateEntityCount() const = 0;
  virtual uint64_t DiskBytes() const = 0;
  virtual WrittenBytes Written() const { return {}; }
  // Background work still to do: compactions running and bytes waiting for one.
  virtual std::pair<uint64_t, uint64_t> CompactionBacklog() const { return {0, 0}; }
  // Whether lookups can skip shards yet (the shard filters, rebuilt after a
  // start, are complete); until then they read every shard.
  virtual bool ShardFiltersComplete() const { return true; }
};

}  // namespace featmon
