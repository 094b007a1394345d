// The repartition topic's record format and the names its marks are stored under.
#include "daemon/ingest/rekeyed_event.h"

#include <gtest/gtest.h>

namespace featmon {
namespace {

TEST(RekeyedEventTest, RoundTripsTheSourceAndThePayloadUnchanged) {
  std::string value;
  const std::string payload("\x00\x01proto bytes\xff", 15);
  EncodeRekeyedEvent(EventType::kClick, 7, 1'234'567'890'123, payload, &value);
  auto e = DecodeRekeyedEvent(value);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->type, EventType::kClick);
  EXPECT_EQ(e->partition, 7);
  EXPECT_EQ(e->offset, 1'234'567'890'123);
  EXPECT_EQ(e->payload, payload);
}

TEST(RekeyedEventTest, AnythingElseIsNotOne) {
  EXPECT_FALSE(DecodeRekeyedEvent("").has_value());
  EXPECT_FALSE(DecodeRekeyedEvent("{\"user_id\":\"u1\"}").has_value());  // a plain event
  std::string value;
  EncodeRekeyedEvent(EventType::kView, 1, 2, "", &value);
  EXPECT_TRUE(DecodeRekeyedEvent(value).has_value());
  EXPECT_FALSE(DecodeRekeyedEvent(value.substr(0, value.size() - 1)).has_value());  // truncated
  EncodeRekeyedEvent(EventType::kView, -1, 2, "x", &value);
  EXPECT_FALSE(DecodeRekeyedEvent(value).has_value());  // no such partition
}

TEST(RekeyedEventTest, MarkNamesCarryTheTaskAndGiveBackTheirSource) {
  const TopicPartition name = RekeyMarkName("featmon.items", {"views", 3}, 5);
  EXPECT_EQ(name.topic, "featmon.items@views/3");
  EXPECT_EQ(name.partition, 5);
  EXPECT_EQ(RekeyMarkSource("featmon.items", name.topic), (TopicPartition{"views", 3}));
  EXPECT_FALSE(RekeyMarkSource("featmon.items", "views").has_value());
  EXPECT_FALSE(RekeyMarkSource("featmon.items", "featmon.items").has_value());
  EXPECT_FALSE(RekeyMarkSource("featmon.item", name.topic).has_value());  // another topic's prefix
}

}  // namespace
}  // namespace featmon
