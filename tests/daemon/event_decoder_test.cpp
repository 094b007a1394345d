#include "daemon/codec/event_decoder.h"

#include <gtest/gtest.h>

#include "featmon/v1/events.pb.h"

namespace featmon {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;

std::string ProtoView(const std::string& user, const std::string& item, int64_t ts) {
  v1::ViewEvent v;
  v.set_user_id(user);
  v.set_item_id(item);
  v.set_ts_ms(ts);
  v.set_request_id("r1");
  return v.SerializeAsString();
}

RejectReason ReasonOf(const std::variant<Event, Rejection>& r) { return std::get<Rejection>(r).reason; }

TEST(EventDecoderTest, DetectsEncodings) {
  EXPECT_EQ(EventDecoder::Detect(ProtoView("u", "i", 1)), Encoding::kProtobuf);
  EXPECT_EQ(EventDecoder::Detect(std::string("\0\0\0\0\1\0", 6) + ProtoView("u", "i", 1)), Encoding::kConfluent);
  EXPECT_EQ(EventDecoder::Detect(" {\"userId\":\"u\"}"), Encoding::kJson);
}

TEST(EventDecoderTest, DecodesAllThreeEncodingsAlike) {
  EventDecoder d({});
  const std::string proto = ProtoView("u1", "i9", kNow - 5);
  for (const std::string& payload :
       {proto, std::string("\0\0\0\0\7\0", 6) + proto,
        std::string("\0\0\0\0\7\x04\x02\x00", 8) + proto,  // explicit index list [1, 0]
        std::string(R"({"user_id":"u1","itemId":"i9","ts_ms":")") + std::to_string(kNow - 5) + R"(","requestId":"r1"})",
        std::string(R"({"userId":"u1","item_id":"i9","tsMs":)") + std::to_string(kNow - 5) + R"(,"request_id":"r1","unknown":3})"}) {
    auto r = d.Decode(EventType::kView, payload, kNow);
    ASSERT_TRUE(std::holds_alternative<Event>(r)) << std::get<Rejection>(r).detail;
    const Event& e = std::get<Event>(r);
    EXPECT_EQ(e.user_id, "u1");
    EXPECT_EQ(e.item_id, "i9");
    EXPECT_EQ(e.ts_ms, kNow - 5);
    EXPECT_EQ(e.request_id, "r1");
    EXPECT_EQ(e.type, EventType::kView);
  }
}

TEST(EventDecoderTest, RejectsWithReasons) {
  EventDecoder d({.max_future_skew_ms = 300'000, .max_id_bytes = 16});
  EXPECT_EQ(ReasonOf(d.Decode(EventType::kView, "", kNow)), RejectReason::kDecodeError);
  EXPECT_EQ(ReasonOf(d.Decode(EventType::kView, "\xff\xff\xff", kNow)), RejectReason::kDecodeError);
  EXPECT_EQ(ReasonOf(d.Decode(EventType::kView, "{not json", kNow)), RejectReason::kDecodeError);
  EXPECT_EQ(ReasonOf(d.Decode(EventType::kView, std::string("\0\0", 2), kNow)), RejectReason::kDecodeError);
  EXPECT_EQ(ReasonOf(d.Decode(EventType::kClick, ProtoView("", "i", kNow), kNow)), RejectReason::kMissingUserId);
  EXPECT_EQ(ReasonOf(d.Decode(EventType::kClick, ProtoView("u", "", kNow), kNow)), RejectReason::kMissingItemId);
  EXPECT_EQ(ReasonOf(d.Decode(EventType::kView, ProtoView("u", "i", 0), kNow)), RejectReason::kInvalidTimestamp);
  EXPECT_EQ(ReasonOf(d.Decode(EventType::kView, ProtoView("u", "i", -5), kNow)), RejectReason::kInvalidTimestamp);
  EXPECT_EQ(ReasonOf(d.Decode(EventType::kView, ProtoView("u", "i", kNow + 300'001), kNow)), RejectReason::kFutureTimestamp);
  EXPECT_TRUE(std::holds_alternative<Event>(d.Decode(EventType::kView, ProtoView("u", "i", kNow + 300'000), kNow)));
  EXPECT_EQ(ReasonOf(d.Decode(EventType::kView, ProtoView(std::string(17, 'u'), "i", kNow), kNow)), RejectReason::kIdTooLong);
  EXPECT_EQ(ReasonOf(d.Decode(EventType::kView, R"({"user_id":"u","item_id":"i","ts_ms":"soon"})", kNow)), RejectReason::kDecodeError);
}

TEST(EventDecoderTest, NeverCrashesOnMutatedInput) {
  EventDecoder d({});
  std::string base = ProtoView("user-1", "item-1", kNow);
  std::string json = R"({"user_id":"u1","item_id":"i9","ts_ms":1700000000000})";
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < 20000; ++i) {
    std::string m = (i % 2 ? base : json);
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    for (int k = 0; k < 1 + static_cast<int>(x % 4); ++k) m[(x >> (8 * k)) % m.size()] = static_cast<char>(x >> (3 * k));
    if (x % 5 == 0) m.resize(x % (m.size() + 1));
    (void)d.Decode(i % 3 ? EventType::kView : EventType::kClick, m, kNow);
  }
}

}  // namespace
}  // namespace featmon
