// A labeled example encoded in two steps parses as one LabeledExample with
// every field of the prediction and the label appended later.
#include "daemon/codec/example_codec.h"

#include <gtest/gtest.h>

#include <google/protobuf/util/message_differencer.h>

#include "featmon/v1/events.pb.h"

namespace featmon {
namespace {

PredictionRecord Prediction() {
  PredictionRecord r;
  r.request_id = "req-7";
  r.user_id = "u42";
  r.item_id = "i9";
  r.prediction.model = "ctr_ranker";
  r.prediction.model_version = "v3";
  r.prediction.score = 0.125;
  r.prediction.ts_ms = 1'700'000'000'123;
  r.prediction.features = {{"dwell_prev_s", 4.5}, {"position", 2}};
  r.prediction.cat_features = {{"device", "ios"}};
  return r;
}

drift::MaturedLabel Label(bool clicked, int64_t click_ts_ms) {
  drift::MaturedLabel l;
  l.model = "ctr_ranker";
  l.clicked = clicked;
  l.click_ts_ms = click_ts_ms;
  return l;
}

TEST(ExampleCodecTest, APositiveCarriesThePredictionAndItsClick) {
  auto ex = CompleteExample(EncodePendingExample(Prediction()), Label(true, 1'700'000'060'000));
  ASSERT_TRUE(ex.ok()) << ex.status().ToString();
  EXPECT_EQ(ex->key, "u42");
  v1::LabeledExample p;
  ASSERT_TRUE(p.ParseFromString(ex->value));
  EXPECT_EQ(p.request_id(), "req-7");
  EXPECT_EQ(p.user_id(), "u42");
  EXPECT_EQ(p.item_id(), "i9");
  EXPECT_EQ(p.model(), "ctr_ranker");
  EXPECT_EQ(p.model_version(), "v3");
  EXPECT_EQ(p.score(), 0.125);
  EXPECT_EQ(p.ts_ms(), 1'700'000'000'123);
  EXPECT_TRUE(p.label());
  EXPECT_EQ(p.click_ts_ms(), 1'700'000'060'000);
  ASSERT_EQ(p.features().size(), 2u);
  EXPECT_EQ(p.features().at("dwell_prev_s"), 4.5);
  EXPECT_EQ(p.features().at("position"), 2);
  ASSERT_EQ(p.cat_features().size(), 1u);
  EXPECT_EQ(p.cat_features().at("device"), "ios");
}

TEST(ExampleCodecTest, ANegativeHasNoClickTime) {
  auto ex = CompleteExample(EncodePendingExample(Prediction()), Label(false, -1));
  ASSERT_TRUE(ex.ok());
  v1::LabeledExample p;
  ASSERT_TRUE(p.ParseFromString(ex->value));
  EXPECT_FALSE(p.label());
  EXPECT_EQ(p.click_ts_ms(), 0);
  EXPECT_EQ(p.request_id(), "req-7");
}

// The hand-written encoding equals the generated class's on the edges:
// empty ids and names, a zero score, long values (two-byte lengths).
TEST(ExampleCodecTest, ParsesAsTheGeneratedClassWouldBuildIt) {
  PredictionRecord r = Prediction();
  r.request_id = "";
  r.prediction.score = 0;
  r.prediction.features = {{"", -0.5}, {std::string(300, 'f'), 1e300}};
  r.prediction.cat_features = {{"empty", ""}, {"long", std::string(200, 'v')}};
  auto ex = CompleteExample(EncodePendingExample(r), Label(false, -1));
  ASSERT_TRUE(ex.ok());
  v1::LabeledExample parsed, expected;
  ASSERT_TRUE(parsed.ParseFromString(ex->value));
  expected.set_user_id("u42");
  expected.set_item_id("i9");
  expected.set_model("ctr_ranker");
  expected.set_model_version("v3");
  expected.set_ts_ms(1'700'000'000'123);
  (*expected.mutable_features())[""] = -0.5;
  (*expected.mutable_features())[std::string(300, 'f')] = 1e300;
  (*expected.mutable_cat_features())["empty"] = "";
  (*expected.mutable_cat_features())["long"] = std::string(200, 'v');
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(parsed, expected)) << parsed.DebugString();
}

TEST(ExampleCodecTest, BytesThatAreNotAPendingExampleAreRefused) {
  EXPECT_FALSE(CompleteExample(std::string("\xff\xff\xff", 3), Label(true, 1)).ok());
  EXPECT_FALSE(CompleteExample(std::string("\x05u4", 3), Label(true, 1)).ok());  // a user id cut short
}

}  // namespace
}  // namespace featmon
