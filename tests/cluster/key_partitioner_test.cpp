// KafkaDefaultPartition must put every key where a Java producer and
// librdkafka's murmur2 partitioner put it, or a model server routing by it
// would ask the wrong instance.
#include "cluster/key_partitioner.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <random>
#include <string>

namespace featmon {
namespace {

TEST(KeyPartitionerTest, JavaClientHashes) {
  // Java's org.apache.kafka.common.utils.Utils.murmur2 of these keys' bytes
  // (the values librdkafka's own unit test checks against).
  const std::string unaligned = "PreAmbleWillBeRemoved,ThePrePartThatIs";
  const std::pair<std::string, uint32_t> cases[] = {
      {"kafka", 0xd067cf64},          {"giberish123456789", 0x8f552b0c}, {"1234", 0x9fc97b14},
      {"234", 0xe7c009ca},            {"34", 0x873930da},                {"4", 0x5a4b5ca1},
      {unaligned, 0x78424f1c},        {unaligned.substr(1), 0x4a62b377}, {unaligned.substr(2), 0xe0e4e09e},
      {unaligned.substr(3), 0x62b8b43f}, {"", 0x106e08d9},
  };
  for (const auto& [key, java] : cases) EXPECT_EQ(static_cast<uint32_t>(KafkaMurmur2(key)), java) << "'" << key << "'";
}

TEST(KeyPartitionerTest, SameAsLibrdkafkasMurmur2Partitioner) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20'000; ++i) {
    std::string key(std::uniform_int_distribution<size_t>(0, 40)(rng), '\0');
    for (char& c : key) c = static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng));
    if (i % 2) key = "u" + std::to_string(i);  // ids as featmon-gen writes them
    const int32_t partitions = std::uniform_int_distribution<int32_t>(1, 256)(rng);
    // The murmur2 partitioner reads neither the topic nor the opaques.
    const int32_t expected = rd_kafka_msg_partitioner_murmur2(nullptr, key.data(), key.size(), partitions, nullptr,
                                                              nullptr);
    ASSERT_EQ(KafkaDefaultPartition(key, partitions), expected) << "key of " << key.size() << " bytes, " << partitions;
  }
}

TEST(KeyPartitionerTest, SignBitClearedNotAbsoluteValue) {
  // "kafka" hashes negative (0xd067cf64): Java's toPositive clears the sign
  // bit (0x5067cf64 = 1348980580), where abs() would give 798503068.
  EXPECT_LT(KafkaMurmur2("kafka"), 0);
  EXPECT_EQ(KafkaDefaultPartition("kafka", 1'000'000'007), 1348980580 % 1'000'000'007);
  EXPECT_EQ(KafkaDefaultPartition("kafka", 16), 1348980580 % 16);
}

}  // namespace
}  // namespace featmon
