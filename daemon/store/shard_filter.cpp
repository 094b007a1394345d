#include "daemon/store/shard_filter.h"

#include <xxhash.h>

#include <mutex>

namespace featmon {

ShardFilter::ShardFilter(size_t bits_per_shard) : shards_(new std::atomic<Bits*>[65536]) {
  size_t bits = 64;
  while (bits < bits_per_shard) bits <<= 1;
  mask_ = bits - 1;
  for (size_t i = 0; i < 65536; ++i) shards_[i].store(nullptr, std::memory_order_relaxed);
}

void ShardFilter::Add(uint16_t shard, std::string_view key) {
  Bits* bits = shards_[shard].load(std::memory_order_acquire);
  if (!bits) {
    std::lock_guard lock(grow_mu_);
    bits = shards_[shard].load(std::memory_order_acquire);
    if (!bits) {
      owned_.push_back(std::make_unique<Bits>((mask_ + 1) / 64));
      bits = owned_.back().get();
      shards_[shard].store(bits, std::memory_order_release);
    }
  }
  const uint64_t h = XXH3_64bits(key.data(), key.size());
  const uint64_t h1 = h, h2 = (h >> 32) | 1;
  for (int i = 0; i < kHashes; ++i) {
    const uint64_t bit = (h1 + i * h2) & mask_;
    bits->words[bit >> 6].fetch_or(uint64_t{1} << (bit & 63), std::memory_order_relaxed);
  }
}

bool ShardFilter::MayContain(uint16_t shard, std::string_view key) const {
  if (!complete()) return true;
  const Bits* bits = shards_[shard].load(std::memory_order_acquire);
  if (!bits) return false;
  const uint64_t h = XXH3_64bits(key.data(), key.size());
  const uint64_t h1 = h, h2 = (h >> 32) | 1;
  for (int i = 0; i < kHashes; ++i) {
    const uint64_t bit = (h1 + i * h2) & mask_;
    if (!(bits->words[bit >> 6].load(std::memory_order_relaxed) & (uint64_t{1} << (bit & 63)))) return false;
  }
  return true;
}

}  // namespace featmon
