// A Kafka topic partition, shared by the Kafka adapter and the store.
#pragma once

#include <charconv>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace featmon {

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  bool operator==(const TopicPartition&) const = default;
  auto operator<=>(const TopicPartition&) const = default;
};

// "<topic>/<partition>", as logs and stored names spell a partition.
inline std::string TopicPartitionName(const TopicPartition& tp) {
  return tp.topic + "/" + std::to_string(tp.partition);
}

// The partition TopicPartitionName spelled; nullopt for anything else.
inline std::optional<TopicPartition> ParseTopicPartitionName(std::string_view name) {
  const size_t slash = name.rfind('/');
  if (slash == std::string_view::npos) return std::nullopt;
  TopicPartition tp{std::string(name.substr(0, slash)), 0};
  const char* end = name.data() + name.size();
  auto [ptr, ec] = std::from_chars(name.data() + slash + 1, end, tp.partition);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return tp;
}

}  // namespace featmon
