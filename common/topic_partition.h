// A Kafka topic partition, shared by the Kafka adapter and the store.
#pragma once

#include <compare>
#include <cstdint>
#include <string>

namespace featmon {

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  bool operator==(const TopicPartition&) const = default;
  auto operator<=>(const TopicPartition&) const = default;
};

}  // namespace featmon
