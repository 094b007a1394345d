// Which shards may hold an entity: one Bloom filter per shard over the keys
// written to it. A lookup then reads the one or two shards a user lives in
// instead of all of them (items live in many). False positives only cost a
// read; there are no false negatives because a key's bits are set before the
// write that makes it visible. Expired entities keep their bits until the
// next start, which rebuilds the filters from the store.
//
// A filter starts incomplete: until MarkComplete, MayContain answers true
// for every key, so a store can serve at once while a background scan adds
// the keys already on disk (commits add theirs meanwhile, to the same bits).
//
// Thread-safety: Add, MayContain and MarkComplete may run concurrently
// (atomic words).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

namespace featmon {

class ShardFilter {
 public:
  // bits_per_shard is rounded up to a power of two.
  explicit ShardFilter(size_t bits_per_shard);
  // `key_without_shard` is kind | id (the entity key minus its 2-byte shard prefix).
  void Add(uint16_t shard, std::string_view key_without_shard);
  bool MayContain(uint16_t shard, std::string_view key_without_shard) const;
  // Every key on disk has been added: MayContain starts answering from the bits.
  void MarkComplete() { complete_.store(true, std::memory_order_release); }
  bool complete() const { return complete_.load(std::memory_order_acquire); }

 private:
  struct Bits {
    explicit Bits(size_t words) : words(words) {}
    std::vector<std::atomic<uint64_t>> words;
  };
  static constexpr int kHashes = 3;
  size_t mask_;
  std::atomic<bool> complete_{false};
  // Indexed by shard id; a shard's bits are created once (under grow_mu_) and
  // published with release, so readers never lock.
  std::unique_ptr<std::atomic<Bits*>[]> shards_;
  std::vector<std::unique_ptr<Bits>> owned_;
  std::mutex grow_mu_;
};

}  // namespace featmon
