#include "daemon/store/entity_key.h"

#include <gtest/gtest.h>

namespace featmon {
namespace {

TEST(EntityKeyTest, RoundTripsAndSortsByShardFirst) {
  const std::string key = EntityKey(0x0102, EntityKind::kItem, "i\x00x" "9");
  EXPECT_EQ(key.substr(0, 3), std::string("\x01\x02\x01", 3));
  auto parts = ParseEntityKey(key);
  ASSERT_TRUE(parts.has_value());
  EXPECT_EQ(parts->shard, 0x0102);
  EXPECT_EQ(parts->kind, EntityKind::kItem);
  EXPECT_EQ(parts->id, std::string_view("i\x00x" "9"));
  EXPECT_EQ(key.substr(kEntityKeyShardBytes), EntityKeyWithoutShard(EntityKind::kItem, parts->id));
  // One shard's keys are one contiguous range: shard 1's last key sorts before shard 2's first.
  EXPECT_LT(EntityKey(1, EntityKind::kItem, "\xff\xff"), EntityKey(2, EntityKind::kUser, ""));
}

TEST(EntityKeyTest, RefusesShortKeysAndUnknownKinds) {
  EXPECT_FALSE(ParseEntityKey("").has_value());
  EXPECT_FALSE(ParseEntityKey(std::string("\x00\x01", 2)).has_value());
  EXPECT_FALSE(ParseEntityKey(std::string("\x00\x01\x07u1", 5)).has_value());
  EXPECT_TRUE(ParseEntityKey(std::string("\x00\x01\x00", 3)).has_value());  // an empty id parses; the decoder refuses those
}

}  // namespace
}  // namespace featmon
