// StateStore on RocksDB. Entity states live in the default column family,
// whose compaction filter drops entities idle for longer than `entity_ttl_ms`
// (by the injected clock), so expiry costs no scan. Checkpoints and the shard
// registry live in the "meta" column family.
#pragma once

#include <memory>
#include <mutex>
#include <shared_mutex>
#include <atomic>
#include <map>

#include <rocksdb/db.h>

#include "common/clock.h"
#include "daemon/store/shard_filter.h"
#include "daemon/store/state_store.h"

namespace featmon {

struct RocksDbStoreOptions {
  std::string path;                        // data directory; created if missing. Required.
  size_t block_cache_bytes = 256u << 20;   // LRU block cache shared by reads. Default: 256MB
  int64_t entity_ttl_ms = 0;               // idle entities expire after this; 0 keeps them forever. Default: 0
  const Clock* clock = nullptr;            // time for expiry. Default: SystemClock
  bool sync_writes = false;                // fsync each commit (survives power loss, not only a process kill). Default: false
  // In-memory Bloom filter bits per shard, so lookups read only the shards
  // that may hold an entity. 2^23 bits (1 MiB) keeps false positives near 3%
  // at a million entities per shard. Default: 8388608
  size_t shard_filter_bits = 1u << 23;
  // Memory budget of the entity memtables (RocksDB's
  // OptimizeLevelStyleCompaction: memtables of a quarter of it, up to six).
  // More memory, fewer and larger flushes. Default: 64MB
  size_t memtable_memory_bytes = 64u << 20;
  // Commits are refused (NoSpace, offsets held) while the data directory's
  // filesystem has less free space than this, so RocksDB never meets a full
  // disk itself: RocksDB 7.8 cannot recover from a failed WAL append (its
  // next write to that WAL asserts; fixed upstream in 9.x, rocksdb#12448).
  // Keep it above a few write buffers plus the largest compaction. 0 turns
  // the check off. Default: 256MB
  uint64_t min_free_bytes = 256u << 20;
  // Bytes per second flushes and compactions may write (RocksDB's rate
  // limiter), to keep background I/O from starving lookups. 0: unlimited.
  // Default: 0
  uint64_t background_write_rate = 0;
};

class RocksDbStore final : public StateStore {
 public:
  // Opens or creates the store. A directory holding something that is not a
  // featmon store is refused, never wiped.
  static Result<std::unique_ptr<RocksDbStore>> Open(const RocksDbStoreOptions& options);
  ~RocksDbStore() override;

  Result<ShardId> RegisterShard(const TopicPartition& tp) override;
  std::vector<ShardId> Shards() const override;
  Result<std::optional<Checkpoint>> LoadCheckpoint(const TopicPartition& tp) override;
  Result<std::optional<std::string>> Get(ShardId shard, EntityKind kind, std::string_view id) override;
  Status GetAllShards(EntityKind kind, std::string_view id, std::vector<std::string>* values) override;
  Status Commit(const CommitBatch& batch) override;
  Status ScanMonitor(const std::function<Status(std::string_view, std::string_view)>& visit) override;
  uint64_t ApproximateEntityCount() const override;
  uint64_t DiskBytes() const override;
  std::pair<uint64_t, uint64_t> CompactionBacklog() const override;

  // Runs a full manual compaction (tests of expiry; operators).
  Status CompactAll();

 private:
  RocksDbStore() = default;
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* entities_ = nullptr;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  rocksdb::ColumnFamilyHandle* monitor_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::WriteOptions write_options_;
  // Set by a failed write: the next commit first asks RocksDB to resume from
  // its background error (a full disk stops all writes until then).
  std::atomic<bool> write_failed_{false};
  std::string path_;
  uint64_t min_free_bytes_ = 0;
  mutable std::shared_mutex shards_mu_;
  std::map<TopicPartition, ShardId> shards_;
  std::vector<ShardId> shard_list_;
  std::shared_ptr<void> filter_;  // keeps the compaction filter alive
  std::unique_ptr<ShardFilter> shard_filter_;
};

}  // namespace featmon
