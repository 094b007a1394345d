// An event re-keyed by item through kafka.item_repartition_topic: the
// source message's payload unchanged, after the input it came from
// (views or clicks, partition, offset). The consuming task applies each
// source offset once: it keeps, per source partition, the next offset it
// expects, and stores those marks with its checkpoints, named after the
// items partition (RekeyMarkName), so they commit, move through the
// changelog and are deleted with the task's state.
//
// Record value: 'v' or 'c', the source partition (int32) and offset (int64),
// little-endian, then the payload. Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/topic_partition.h"
#include "features/event.h"

namespace featmon {

struct RekeyedEvent {
  EventType type = EventType::kView;  // views or clicks
  int32_t partition = 0;              // of the source input
  int64_t offset = 0;
  std::string_view payload;           // the source message's, unchanged
};

void EncodeRekeyedEvent(EventType type, int32_t partition, int64_t offset, std::string_view payload,
                        std::string* out);
// nullopt when the value is not one (truncated, or an unknown source type).
std::optional<RekeyedEvent> DecodeRekeyedEvent(std::string_view value);

// The checkpoint name under which task `task` (its items partition) stores
// the next offset it expects from `source`: "<items_topic>@<topic>/<partition>",
// partition `task`, so every checkpoint of a task has the task's number.
TopicPartition RekeyMarkName(const std::string& items_topic, const TopicPartition& source, int32_t task);
// The source of a mark's name; nullopt for any other checkpoint name.
std::optional<TopicPartition> RekeyMarkSource(const std::string& items_topic, std::string_view name);

}  // namespace featmon
