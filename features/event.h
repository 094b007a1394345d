// The event model the feature engine works on: a decoded, validated view or
// click. Decoding and validation live in daemon/codec; this is plain data.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace featmon {

// Which stream an event came from. The value is its bit in a source mask.
enum class EventType : uint8_t { kView = 0, kClick = 1 };
inline constexpr int kEventTypeCount = 2;
inline constexpr uint32_t SourceBit(EventType t) { return 1u << static_cast<uint32_t>(t); }
std::string_view EventTypeName(EventType t);  // "views", "clicks"

// Whose features an aggregation keeps.
enum class EntityKind : uint8_t { kUser = 0, kItem = 1 };
inline constexpr int kEntityKindCount = 2;
std::string_view EntityKindName(EntityKind k);  // "user", "item"

struct Event {
  EventType type = EventType::kView;
  std::string event_id;
  std::string user_id;
  std::string item_id;
  std::string request_id;
  std::string category;
  int64_t ts_ms = 0;   // event time, epoch milliseconds
  double value = 0.0;  // optional numeric payload

  const std::string& EntityId(EntityKind k) const { return k == EntityKind::kUser ? user_id : item_id; }
};

}  // namespace featmon
