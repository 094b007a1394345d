#include "daemon/codec/event_decoder.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "featmon/internal/prediction_wire.pb.h"
#include "featmon/v1/events.pb.h"
#include "tools/traffic.h"

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

v1::PredictionEvent Prediction(double score, const std::string& model = "ctr_ranker") {
  v1::PredictionEvent p;
  p.set_request_id("r1");
  p.set_user_id("u1");
  p.set_item_id("i9");
  p.set_model(model);
  p.set_model_version("v3");
  p.set_score(score);
  p.set_ts_ms(kNow - 5);
  (*p.mutable_features())["age_days"] = 12.5;
  (*p.mutable_features())["ctr_24h"] = 0.04;
  (*p.mutable_cat_features())["device"] = "ios";
  return p;
}

TEST(EventDecoderTest, DecodesPredictionsInAllThreeEncodings) {
  EventDecoder d({});
  const std::string proto = Prediction(0.25).SerializeAsString();
  const std::string json = R"({"requestId":"r1","userId":"u1","itemId":"i9","model":"ctr_ranker","modelVersion":"v3",)"
                           R"("score":0.25,"tsMs":")" + std::to_string(kNow - 5) +
                           R"(","features":{"ctr_24h":0.04,"age_days":12.5},"cat_features":{"device":"ios"}})";
  for (const std::string& payload : {proto, std::string("\0\0\0\0\7\0", 6) + proto, json}) {
    auto r = d.DecodePrediction(payload, kNow);
    ASSERT_TRUE(std::holds_alternative<PredictionRecord>(r)) << std::get<Rejection>(r).detail;
    const PredictionRecord& rec = std::get<PredictionRecord>(r);
    EXPECT_EQ(rec.request_id, "r1");
    EXPECT_EQ(rec.user_id, "u1");
    EXPECT_EQ(rec.item_id, "i9");
    EXPECT_EQ(rec.prediction.model, "ctr_ranker");
    EXPECT_EQ(rec.prediction.model_version, "v3");
    EXPECT_EQ(rec.prediction.score, 0.25);
    EXPECT_EQ(rec.prediction.ts_ms, kNow - 5);
    // Sorted by name, whatever order the map iterated in.
    ASSERT_EQ(rec.prediction.features.size(), 2u);
    EXPECT_EQ(rec.prediction.features[0], (std::pair<std::string, double>("age_days", 12.5)));
    EXPECT_EQ(rec.prediction.features[1], (std::pair<std::string, double>("ctr_24h", 0.04)));
    ASSERT_EQ(rec.prediction.cat_features.size(), 1u);
    EXPECT_EQ(rec.prediction.cat_features[0].second, "ios");
  }
}

// The decode-only view must carry every field of the schema under the same
// number and name, or a field added to events.proto would be dropped from
// binary predictions while JSON ones kept it.
TEST(EventDecoderTest, ThePredictionWireViewHasEveryFieldOfTheSchema) {
  const auto* schema = v1::PredictionEvent::descriptor();
  const auto* view = internal::PredictionEventWire::descriptor();
  EXPECT_EQ(view->field_count(), schema->field_count());
  for (int i = 0; i < schema->field_count(); ++i) {
    const auto* field = schema->field(i);
    const auto* same = view->FindFieldByNumber(field->number());
    ASSERT_NE(same, nullptr) << field->name() << " (" << field->number() << ") is missing from prediction_wire.proto";
    EXPECT_EQ(same->name(), field->name());
    EXPECT_EQ(same->is_repeated(), field->is_repeated()) << field->name();  // a map is a repeated entry
    if (field->is_map()) {
      EXPECT_EQ(same->message_type()->field(1)->type(), field->message_type()->field(1)->type()) << field->name();
    } else {
      EXPECT_EQ(same->type(), field->type()) << field->name();
    }
  }
}

// The binary path reads maps as their repeated entries (prediction_wire.proto).
// What it decodes must equal protobuf's own map parse, the last entry of a
// repeated name winning as a map keeps it, with one decoder reused across
// messages of different sizes (its entries are kept from parse to parse).
TEST(EventDecoderTest, BinaryPredictionMapsDecodeAsProtobufMapsDo) {
  EventDecoder d({});
  auto decoded = [&](const std::string& payload) {
    auto r = d.DecodePrediction(payload, kNow);
    EXPECT_TRUE(std::holds_alternative<PredictionRecord>(r)) << std::get<Rejection>(r).detail;
    return std::holds_alternative<PredictionRecord>(r) ? std::get<PredictionRecord>(r) : PredictionRecord{};
  };
  // One message that names "b" and "dev" twice: the wire holds both entries.
  v1::PredictionEvent first = Prediction(0.5), second;
  (*first.mutable_features())["b"] = 1.0;
  (*first.mutable_cat_features())["dev"] = "ios";
  (*second.mutable_features())["b"] = 2.0;
  (*second.mutable_features())["a"] = 3.0;
  (*second.mutable_cat_features())["dev"] = "web";
  const std::string both = first.SerializeAsString() + second.SerializeAsString();  // concatenation merges
  v1::PredictionEvent merged;
  ASSERT_TRUE(merged.ParseFromString(both));
  ASSERT_EQ(merged.features().at("b"), 2.0);  // protobuf's rule, which the decoder must follow
  PredictionRecord rec = decoded(both);
  const std::vector<std::pair<std::string, double>> want_numeric = {{"a", 3.0}, {"age_days", 12.5}, {"b", 2.0}, {"ctr_24h", 0.04}};
  EXPECT_EQ(rec.prediction.features, want_numeric);
  const std::vector<std::pair<std::string, std::string>> want_categorical = {{"dev", "web"}, {"device", "ios"}};
  EXPECT_EQ(rec.prediction.cat_features, want_categorical);

  // Messages of varying sizes through the same decoder: each as protobuf's map reads it.
  for (int n : {5, 0, 3, 9, 1, 40}) {  // 40: past the insertion sort, to std::stable_sort
    v1::PredictionEvent p = Prediction(0.01 * n);
    p.mutable_features()->clear();
    p.mutable_cat_features()->clear();
    for (int i = n; i > 0; --i) {
      (*p.mutable_features())["f" + std::to_string(i)] = i / 4.0;
      if (i % 2) (*p.mutable_cat_features())["c" + std::to_string(i)] = "v" + std::to_string(i);
    }
    rec = decoded(p.SerializeAsString());
    std::vector<std::pair<std::string, double>> numeric(p.features().begin(), p.features().end());
    std::vector<std::pair<std::string, std::string>> categorical(p.cat_features().begin(), p.cat_features().end());
    std::sort(numeric.begin(), numeric.end());
    std::sort(categorical.begin(), categorical.end());
    EXPECT_EQ(rec.prediction.features, numeric) << n;
    EXPECT_EQ(rec.prediction.cat_features, categorical) << n;
    EXPECT_EQ(rec.request_id, "r1");
    EXPECT_EQ(rec.prediction.score, 0.01 * n);
  }
}

TEST(EventDecoderTest, RejectsBadPredictionsWithTheirOwnReasons) {
  EventDecoder d({.max_future_skew_ms = 300'000, .max_id_bytes = 16});
  auto reason = [&](const v1::PredictionEvent& p) {
    auto r = d.DecodePrediction(p.SerializeAsString(), kNow);
    return std::holds_alternative<Rejection>(r) ? std::get<Rejection>(r).reason : RejectReason::kDecodeError;
  };
  EXPECT_TRUE(std::holds_alternative<PredictionRecord>(d.DecodePrediction(Prediction(0.0).SerializeAsString(), kNow)));
  EXPECT_TRUE(std::holds_alternative<PredictionRecord>(d.DecodePrediction(Prediction(1.0).SerializeAsString(), kNow)));
  EXPECT_EQ(reason(Prediction(1.0000001)), RejectReason::kInvalidScore);
  EXPECT_EQ(reason(Prediction(-0.1)), RejectReason::kInvalidScore);
  EXPECT_EQ(reason(Prediction(std::nan(""))), RejectReason::kInvalidScore);
  EXPECT_EQ(reason(Prediction(std::numeric_limits<double>::infinity())), RejectReason::kInvalidScore);
  EXPECT_EQ(reason(Prediction(0.5, "")), RejectReason::kMissingModel);
  auto p = Prediction(0.5);
  p.set_user_id("");
  EXPECT_EQ(reason(p), RejectReason::kMissingUserId);
  p = Prediction(0.5);
  p.set_ts_ms(kNow + 400'000);
  EXPECT_EQ(reason(p), RejectReason::kFutureTimestamp);
  p = Prediction(0.5);
  (*p.mutable_cat_features())["device"] = std::string(17, 'x');
  EXPECT_EQ(reason(p), RejectReason::kIdTooLong);
  EXPECT_EQ(std::get<Rejection>(d.DecodePrediction("{\"score\":", kNow)).reason, RejectReason::kDecodeError);
  EXPECT_EQ(RejectReasonName(RejectReason::kInvalidScore), "invalid_score");
}

// bf86bbb accepted these: one NaN or infinity (or a sum that overflows to
// one) turned every sum and ratio of its window into null.
TEST(EventDecoderTest, RejectsValuesThatAreNotFiniteOrTooLarge) {
  EventDecoder d({});
  auto decode = [&](const std::string& payload) { return d.Decode(EventType::kView, payload, kNow); };
  auto reason = [&](const std::string& payload) {
    auto r = decode(payload);
    return std::holds_alternative<Rejection>(r) ? std::get<Rejection>(r).reason : RejectReason::kDecodeError;
  };
  const std::string head = "{\"user_id\":\"u1\",\"item_id\":\"i1\",\"ts_ms\":" + std::to_string(kNow) + ",\"value\":";
  for (const char* v : {"\"NaN\"", "\"Infinity\"", "\"-Infinity\"", "1e300", "-1.5e15"})
    EXPECT_EQ(reason(head + v + "}"), RejectReason::kInvalidValue) << v;
  v1::ViewEvent binary;
  binary.set_user_id("u1");
  binary.set_item_id("i1");
  binary.set_ts_ms(kNow);
  binary.set_value(std::nan(""));
  EXPECT_EQ(reason(binary.SerializeAsString()), RejectReason::kInvalidValue);
  binary.set_value(-std::numeric_limits<double>::infinity());
  EXPECT_EQ(reason(binary.SerializeAsString()), RejectReason::kInvalidValue);
  // The limit itself and everything finite below it are values.
  for (const char* v : {"1e15", "-1e15", "0", "12.5", "\"3.25\""}) {
    auto r = decode(head + v + "}");
    EXPECT_TRUE(std::holds_alternative<Event>(r)) << v;
  }
  EXPECT_EQ(RejectReasonName(RejectReason::kInvalidValue), "invalid_value");
}

// A huge max_future_skew must not overflow now + skew and reject everything.
TEST(EventDecoderTest, AHugeFutureSkewDoesNotOverflow) {
  EventDecoder d({.max_future_skew_ms = std::numeric_limits<int64_t>::max() - 1, .max_id_bytes = 256});
  v1::ViewEvent e;
  e.set_user_id("u1");
  e.set_item_id("i1");
  e.set_ts_ms(kNow);
  EXPECT_TRUE(std::holds_alternative<Event>(d.Decode(EventType::kView, e.SerializeAsString(), kNow)));
}

// bf86bbb let libprotobuf print "[libprotobuf ERROR ...]" to stderr for every
// such message (3,000 lines for 3,000 messages), past the rate limit and the
// JSON log format. What it says now goes into the rejection's detail.
TEST(EventDecoderTest, LibprotobufsComplaintsGoIntoTheDetailNotToStderr) {
  EventDecoder d({});
  v1::ViewEvent e;
  e.set_user_id("u\xff\xfe");  // protobuf strings must be UTF-8
  e.set_item_id("i1");
  e.set_ts_ms(kNow);
  const std::string payload = e.SerializeAsString();
  ::testing::internal::CaptureStderr();
  std::vector<Rejection> rejections;
  for (int i = 0; i < 50; ++i) {
    auto r = d.Decode(EventType::kView, payload, kNow);
    ASSERT_TRUE(std::holds_alternative<Rejection>(r));
    rejections.push_back(std::get<Rejection>(r));
  }
  const std::string stderr_text = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(stderr_text, "");
  EXPECT_EQ(rejections[0].reason, RejectReason::kDecodeError);
  EXPECT_NE(rejections[0].detail.find("invalid UTF-8"), std::string::npos) << rejections[0].detail;
  EXPECT_EQ(rejections[49].detail, rejections[0].detail);
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
  std::string prediction = Prediction(0.3).SerializeAsString();
  for (int i = 0; i < 20000; ++i) {
    std::string m = prediction;
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    for (int k = 0; k < 1 + static_cast<int>(x % 4); ++k) m[(x >> (8 * k)) % m.size()] = static_cast<char>(x >> (3 * k));
    if (x % 5 == 0) m.resize(x % (m.size() + 1));
    (void)d.DecodePrediction(m, kNow);
  }
}

// One record decoded into message after message (as featmon-export's replay
// does) reads each as a fresh record would: nothing of an earlier message
// (a longer id, more features, a sample hash) stays behind, in any
// encoding, after a rejection or a fallback to protobuf's parser too.
TEST(EventDecoderTest, AReusedRecordReadsEachMessageAsAFreshOne) {
  EventDecoder d({});
  TrafficGenerator gen({.users = 50, .items = 20, .base_ctr = 0.3, .seed = 5});
  const WireFormat formats[] = {WireFormat::kProtobuf, WireFormat::kConfluent, WireFormat::kJson};
  PredictionRecord reused_prediction;
  Event reused_event;
  size_t predictions = 0, events = 0, rejected = 0;
  for (int i = 0; i < 3'000; ++i) {
    GeneratedPrediction generated;
    bool has_prediction = false;
    const Event e = gen.Next(kNow - 1'000'000 + i, &generated, &has_prediction);
    if (i % 7 == 0) generated.features.clear();  // fewer features than the message before
    if (i % 11 == 0) generated.request_id.clear();
    const WireFormat format = formats[i % 3];
    std::string event = EncodeEvent(e, format), prediction = EncodePrediction(generated, format);
    if (i % 13 == 0) prediction.resize(prediction.size() / 2);  // rejected, or read by protobuf's parser
    if (i % 17 == 0) event += "\x3a\x02xy";                    // field 7 as a string: protobuf decides
    reused_prediction.prediction.sample_hash = 42;
    const auto fresh_prediction = d.DecodePrediction(prediction, kNow);
    const auto rejection = d.DecodePredictionInto(prediction, kNow, &reused_prediction);
    ASSERT_EQ(rejection.has_value(), std::holds_alternative<Rejection>(fresh_prediction)) << i;
    if (rejection) {
      ++rejected;
    } else {
      ++predictions;
      const PredictionRecord& want = std::get<PredictionRecord>(fresh_prediction);
      EXPECT_EQ(reused_prediction.request_id, want.request_id) << i;
      EXPECT_EQ(reused_prediction.user_id, want.user_id) << i;
      EXPECT_EQ(reused_prediction.item_id, want.item_id) << i;
      EXPECT_EQ(reused_prediction.prediction.model, want.prediction.model) << i;
      EXPECT_EQ(reused_prediction.prediction.model_version, want.prediction.model_version) << i;
      EXPECT_EQ(reused_prediction.prediction.score, want.prediction.score) << i;
      EXPECT_EQ(reused_prediction.prediction.ts_ms, want.prediction.ts_ms) << i;
      EXPECT_EQ(reused_prediction.prediction.sample_hash, 0u) << i;
      EXPECT_EQ(reused_prediction.prediction.features, want.prediction.features) << i;
      EXPECT_EQ(reused_prediction.prediction.cat_features, want.prediction.cat_features) << i;
    }
    const auto fresh_event = d.Decode(e.type, event, kNow);
    const auto event_rejection = d.DecodeInto(e.type, event, kNow, &reused_event);
    ASSERT_EQ(event_rejection.has_value(), std::holds_alternative<Rejection>(fresh_event)) << i;
    if (event_rejection) continue;
    ++events;
    const Event& want = std::get<Event>(fresh_event);
    EXPECT_EQ(reused_event.type, want.type) << i;
    EXPECT_EQ(reused_event.event_id, want.event_id) << i;
    EXPECT_EQ(reused_event.user_id, want.user_id) << i;
    EXPECT_EQ(reused_event.item_id, want.item_id) << i;
    EXPECT_EQ(reused_event.request_id, want.request_id) << i;
    EXPECT_EQ(reused_event.category, want.category) << i;
    EXPECT_EQ(reused_event.ts_ms, want.ts_ms) << i;
    EXPECT_EQ(reused_event.value, want.value) << i;
  }
  EXPECT_GT(predictions, 1'500u);
  EXPECT_GT(events, 2'500u);
  EXPECT_GT(rejected, 50u);
}

}  // namespace
}  // namespace featmon
