#include "daemon/store/entity_key.h"

namespace featmon {

std::string EntityKey(ShardId shard, EntityKind kind, std::string_view id) {
  std::string key;
  key.reserve(kEntityKeyPrefixBytes + id.size());
  key.append(kEntityKeyShardBytes, '\0');
  key.push_back(static_cast<char>(kind));
  key.append(id);
  SetEntityKeyShard(shard, &key);
  return key;
}

void SetEntityKeyShard(ShardId shard, std::string* key) {
  (*key)[0] = static_cast<char>(shard >> 8);
  (*key)[1] = static_cast<char>(shard & 0xff);
}

std::string EntityKeyWithoutShard(EntityKind kind, std::string_view id) {
  std::string key;
  key.reserve(1 + id.size());
  key.push_back(static_cast<char>(kind));
  key.append(id);
  return key;
}

std::optional<EntityKeyParts> ParseEntityKey(std::string_view key) {
  if (key.size() < kEntityKeyPrefixBytes) return std::nullopt;
  const auto kind = static_cast<uint8_t>(key[2]);
  if (kind >= kEntityKindCount) return std::nullopt;
  EntityKeyParts parts;
  parts.shard = static_cast<ShardId>((static_cast<uint8_t>(key[0]) << 8) | static_cast<uint8_t>(key[1]));
  parts.kind = static_cast<EntityKind>(kind);
  parts.id = key.substr(kEntityKeyPrefixBytes);
  return parts;
}

}  // namespace featmon
