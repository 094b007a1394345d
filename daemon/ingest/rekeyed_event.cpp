#include "daemon/ingest/rekeyed_event.h"

#include "common/byte_codec.h"

namespace featmon {

void EncodeRekeyedEvent(EventType type, int32_t partition, int64_t offset, std::string_view payload,
                        std::string* out) {
  out->clear();
  out->reserve(13 + payload.size());
  out->push_back(type == EventType::kClick ? 'c' : 'v');
  PutFixed(out, partition);
  PutFixed(out, offset);
  out->append(payload);
}

std::optional<RekeyedEvent> DecodeRekeyedEvent(std::string_view value) {
  if (value.empty() || (value[0] != 'v' && value[0] != 'c')) return std::nullopt;
  RekeyedEvent e;
  e.type = value[0] == 'c' ? EventType::kClick : EventType::kView;
  ByteReader r(value.substr(1));
  if (!r.ReadFixed(&e.partition) || !r.ReadFixed(&e.offset) || e.partition < 0 || e.offset < 0) return std::nullopt;
  r.ReadBytes(r.remaining(), &e.payload);
  return e;
}

TopicPartition RekeyMarkName(const std::string& items_topic, const TopicPartition& source, int32_t task) {
  return {items_topic + "@" + TopicPartitionName(source), task};
}

std::optional<TopicPartition> RekeyMarkSource(const std::string& items_topic, std::string_view name) {
  if (name.size() <= items_topic.size() + 1 || !name.starts_with(items_topic) || name[items_topic.size()] != '@')
    return std::nullopt;
  return ParseTopicPartitionName(name.substr(items_topic.size() + 1));
}

}  // namespace featmon
