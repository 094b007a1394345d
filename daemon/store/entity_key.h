// The one owner of the entity-state key format:
//
//   shard (u16, big-endian) | entity kind (u8) | id bytes
//
// A shard is one input (topic, partition), so one partition's state is one
// contiguous key range; the kind byte and the id together (the key without
// its shard) name an entity across shards, which is what the shard filters
// hash.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "features/event.h"

namespace featmon {

using ShardId = uint16_t;

inline constexpr size_t kEntityKeyShardBytes = 2;
inline constexpr size_t kEntityKeyPrefixBytes = kEntityKeyShardBytes + 1;  // shard and kind

struct EntityKeyParts {
  ShardId shard = 0;
  EntityKind kind = EntityKind::kUser;
  std::string_view id;  // points into the parsed key
};

std::string EntityKey(ShardId shard, EntityKind kind, std::string_view id);
// Rewrites the shard of a key made by EntityKey, to look one entity up in many shards.
void SetEntityKeyShard(ShardId shard, std::string* key);
// kind | id: the key minus its shard, for the shard filters.
std::string EntityKeyWithoutShard(EntityKind kind, std::string_view id);
// nullopt when the key is too short or names no entity kind.
std::optional<EntityKeyParts> ParseEntityKey(std::string_view key);

}  // namespace featmon
