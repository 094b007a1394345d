// Which partition a key lands in under Kafka's default partitioner: the
// Java client's (murmur2 of the key's bytes, sign bit cleared, modulo the
// partition count), which librdkafka offers as partitioner=murmur2 and
// murmur2_random. featmond's inputs are keyed by user_id, so a user's events,
// and so its state, live in task KafkaDefaultPartition(user_id, tasks) when
// the producers use that partitioner; a model server can route a user's
// lookups by the same rule (README, "Routing a lookup").
#pragma once

#include <cstdint>
#include <string_view>

namespace featmon {

// Kafka's murmur2 (MurmurHash2 with seed 0x9747b28c over the bytes as
// little-endian 32-bit words), as a signed 32-bit value as Java has it.
int32_t KafkaMurmur2(std::string_view key);

// The partition of `key` among `partitions` (> 0).
int32_t KafkaDefaultPartition(std::string_view key, int32_t partitions);

}  // namespace featmon
