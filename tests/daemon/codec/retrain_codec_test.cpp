// A retrain request on the wire: protobuf for the topic, JSON for webhooks.
#include "daemon/codec/retrain_codec.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "featmon/v1/events.pb.h"

namespace featmon {
namespace {

drift::RetrainRequest Request() {
  drift::RetrainRequest r;
  r.model = "ctr_ranker";
  r.model_version = "v7";
  r.reasons = {{drift::Signal::kData, "dwell_prev_s", "psi", 0.31, 0.2},
               {drift::Signal::kPerformance, "adwin", "adwin", 0.42, 0}};
  r.reference_start_ms = 1'700'000'000'000;
  r.reference_end_ms = 1'700'003'600'000;
  r.current_start_ms = 1'700'090'000'000;
  r.current_end_ms = 1'700'093'600'000;
  r.event_time_ms = 1'700'093'600'000;
  r.fresh_data_start_ms = 1'700'000'000'000;
  r.fresh_data_end_ms = 1'700'093'600'000;
  return r;
}

TEST(RetrainCodecTest, TheTopicGetsTheProtobufMessage) {
  v1::RetrainRequest p;
  ASSERT_TRUE(p.ParseFromString(EncodeRetrainRequest(Request())));
  EXPECT_EQ(p.model(), "ctr_ranker");
  EXPECT_EQ(p.model_version(), "v7");
  ASSERT_EQ(p.reasons_size(), 2);
  EXPECT_EQ(p.reasons(0).signal(), "data");
  EXPECT_EQ(p.reasons(0).feature(), "dwell_prev_s");
  EXPECT_EQ(p.reasons(0).statistic(), "psi");
  EXPECT_DOUBLE_EQ(p.reasons(0).value(), 0.31);
  EXPECT_DOUBLE_EQ(p.reasons(0).threshold(), 0.2);
  EXPECT_EQ(p.reasons(1).signal(), "performance");
  EXPECT_EQ(p.reference_window().start_ms(), 1'700'000'000'000);
  EXPECT_EQ(p.current_window().end_ms(), 1'700'093'600'000);
  EXPECT_EQ(p.event_time_ms(), 1'700'093'600'000);
  EXPECT_EQ(p.fresh_data().start_ms(), 1'700'000'000'000);
  EXPECT_EQ(p.fresh_data().end_ms(), 1'700'093'600'000);
}

// protobuf's JSON mapping with the .proto field names: int64 fields are
// strings, and zero values are printed (a webhook need not know defaults).
TEST(RetrainCodecTest, WebhooksGetTheSameMessageAsJson) {
  auto j = nlohmann::json::parse(RetrainRequestJson(Request()));
  EXPECT_EQ(j["model"], "ctr_ranker");
  EXPECT_EQ(j["model_version"], "v7");
  EXPECT_EQ(j["event_time_ms"], "1700093600000");
  EXPECT_EQ(j["reference_window"]["start_ms"], "1700000000000");
  EXPECT_EQ(j["fresh_data"]["start_ms"], "1700000000000");
  EXPECT_EQ(j["fresh_data"]["end_ms"], "1700093600000");
  ASSERT_EQ(j["reasons"].size(), 2u);
  EXPECT_EQ(j["reasons"][0]["signal"], "data");
  EXPECT_EQ(j["reasons"][1]["threshold"], 0);
}

}  // namespace
}  // namespace featmon
