// StateStore on RocksDB. Entity states live in the default column family,
// whose compaction filter drops entities idle for longer than `entity_ttl_ms`
// (by the injected clock), so expiry costs no scan. Checkpoints and the shard
// registry live in the "meta" column family, monitoring state in "monitor",
// and entity states that did not decode in "quarantine" (key: the entity key;
// value: fixed64 time kept aside, length-prefixed reason, the original bytes).
#pragma once

#include <memory>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <atomic>
#include <map>

#include <rocksdb/db.h>

#include "common/clock.h"
#include "daemon/store/rocksdb_store_options.h"
#include "daemon/store/shard_filter.h"
#include "daemon/store/state_store.h"

namespace featmon {

class RocksDbStore final : public StateStore {
 public:
  // Opens or creates the store. A directory holding something that is not a
  // featmon store is refused, never wiped.
  static Result<std::unique_ptr<RocksDbStore>> Open(const RocksDbStoreOptions& options);
  ~RocksDbStore() override;

  Result<ShardId> RegisterShard(const TopicPartition& tp) override;
  std::vector<ShardId> Shards() const override;
  std::vector<TopicPartition> RegisteredPartitions() const override;
  Result<std::optional<Checkpoint>> LoadCheckpoint(const TopicPartition& tp) override;
  Result<std::optional<ChangelogPosition>> LoadChangelogPosition(int32_t task) override;
  Result<std::optional<bool>> LoadHoldsEveryTask() override;
  Status DropState(const std::vector<ShardId>& shards, const std::vector<TopicPartition>& partitions,
                   int32_t task) override;
  Result<std::optional<std::string>> Get(ShardId shard, EntityKind kind, std::string_view id) override;
  std::vector<ShardId> ShardsThatMayHold(EntityKind kind, std::string_view id) const override;
  void AnnounceEntity(ShardId shard, EntityKind kind, std::string_view id) override;
  Status GetShards(EntityKind kind, std::string_view id, const std::vector<ShardId>& shards,
                   std::vector<std::string>* values) override;
  Status Quarantine(std::string_view key, std::string_view value, std::string_view reason) override;
  uint64_t QuarantinedCount() const override;
  Status Commit(const CommitBatch& batch) override;
  Status ScanMonitor(const std::function<Status(std::string_view, std::string_view)>& visit) override;
  Result<std::optional<std::string>> GetMonitor(std::string_view key) override;
  Status DropMonitorState() override;
  uint64_t ApproximateEntityCount() const override;
  uint64_t DiskBytes() const override;
  std::pair<uint64_t, uint64_t> CompactionBacklog() const override;
  WrittenBytes Written() const override;
  // False until the background scan that Open starts has added every key on
  // disk to the shard filters (for good, if that scan fails).
  bool ShardFiltersComplete() const override;

  // Runs a full manual compaction (tests of expiry; operators).
  Status CompactAll();

 private:
  RocksDbStore() = default;
  // Adds every entity key on disk to shard_filter_, then marks it complete.
  void BuildShardFilters();
  std::shared_ptr<rocksdb::Statistics> statistics_;  // tickers only: the bytes of Written()
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* entities_ = nullptr;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  rocksdb::ColumnFamilyHandle* monitor_ = nullptr;
  rocksdb::ColumnFamilyHandle* quarantine_ = nullptr;
  const Clock* clock_ = nullptr;
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
  std::atomic<bool> closing_{false};  // stops filter_builder_
  std::thread filter_builder_;        // joined before the DB closes
};

}  // namespace featmon
