#include "cluster/key_partitioner.h"

namespace featmon {

int32_t KafkaMurmur2(std::string_view key) {
  constexpr uint32_t kSeed = 0x9747b28c, kM = 0x5bd1e995;
  constexpr int kR = 24;
  const auto* bytes = reinterpret_cast<const unsigned char*>(key.data());
  size_t n = key.size();
  uint32_t h = kSeed ^ static_cast<uint32_t>(n);
  for (; n >= 4; n -= 4, bytes += 4) {
    uint32_t k = uint32_t{bytes[0]} | uint32_t{bytes[1]} << 8 | uint32_t{bytes[2]} << 16 | uint32_t{bytes[3]} << 24;
    k *= kM;
    k ^= k >> kR;
    k *= kM;
    h = h * kM ^ k;
  }
  // The last one to three bytes, as Java's switch falls through them.
  if (n == 3) h ^= uint32_t{bytes[2]} << 16;
  if (n >= 2) h ^= uint32_t{bytes[1]} << 8;
  if (n >= 1) {
    h ^= uint32_t{bytes[0]};
    h *= kM;
  }
  h ^= h >> 13;
  h *= kM;
  h ^= h >> 15;
  return static_cast<int32_t>(h);
}

int32_t KafkaDefaultPartition(std::string_view key, int32_t partitions) {
  // Java's Utils.toPositive: the sign bit cleared, not the absolute value.
  return static_cast<int32_t>((static_cast<uint32_t>(KafkaMurmur2(key)) & 0x7fffffffu) %
                              static_cast<uint32_t>(partitions));
}

}  // namespace featmon
