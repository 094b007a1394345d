// What RocksDbStore can be told: the `store:` section of the config file
// (daemon/config) is this struct, so every default below is the only one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/clock.h"
#include "features/feature_spec.h"

namespace featmon {

struct RocksDbStoreOptions {
  std::string path = "featmon-data";       // data directory; created (with its parents) if missing. Default: featmon-data
  size_t block_cache_bytes = 256u << 20;   // LRU block cache shared by reads. Default: 256MB
  int64_t entity_ttl_ms = 0;               // idle entities expire after this; 0 keeps them forever. Default: 0
  const Clock* clock = nullptr;            // time for expiry. Default: SystemClock
  // The feature set whose deltas (EntityWrite::delta) the store merges into
  // full states; without it, commits may only write full states. Default: none
  const FeatureSet* features = nullptr;
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

}  // namespace featmon
