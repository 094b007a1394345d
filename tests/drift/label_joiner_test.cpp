// Labels from clicks: attribution, maturity order, limits and persistence.
#include "drift/label_joiner.h"

#include <gtest/gtest.h>

namespace featmon::drift {
namespace {

constexpr int64_t kWindow = 30 * 60'000;
constexpr int64_t kT = 1'700'000'000'000;

PendingLabel P(int64_t ts, double score = 0.2) { return {"m", "v1", score, ts, -1}; }

TEST(LabelJoinerTest, AClickLabelsTheLatestPredictionBeforeItWithinTheWindow) {
  LabelJoiner j(kWindow, 100);
  const std::string key = JoinKeyByRequest("r1", "i1");
  ASSERT_TRUE(j.AddPrediction(key, P(kT)));
  ASSERT_TRUE(j.AddPrediction(key, P(kT + 60'000)));
  auto matched = j.AddClick({key}, kT + 90'000);
  ASSERT_TRUE(matched.has_value());
  EXPECT_EQ(matched->ts_ms, kT + 60'000);  // last touch
  // A positive matures at its click, a negative at prediction + window, in that order.
  auto labels = j.Advance(kT + kWindow);
  ASSERT_EQ(labels.size(), 2u);
  EXPECT_TRUE(labels[0].clicked);
  EXPECT_EQ(labels[0].prediction_ts_ms, kT + 60'000);
  EXPECT_FALSE(labels[1].clicked);
  EXPECT_EQ(labels[1].prediction_ts_ms, kT);
  EXPECT_EQ(j.pending(), 0u);
}

TEST(LabelJoinerTest, AClickOutsideTheWindowLabelsNothingAndExpires) {
  LabelJoiner j(kWindow, 100);
  const std::string key = JoinKeyByUser("u1", "i1");
  ASSERT_TRUE(j.AddPrediction(key, P(kT)));
  EXPECT_FALSE(j.AddClick({key}, kT + kWindow + 1).has_value());
  auto labels = j.Advance(kT + 2 * kWindow);
  ASSERT_EQ(labels.size(), 1u);
  EXPECT_FALSE(labels[0].clicked);
}

TEST(LabelJoinerTest, AClickReadBeforeItsPredictionWaitsForIt) {
  LabelJoiner j(kWindow, 100);
  const std::string key = JoinKeyByRequest("r2", "i1");
  EXPECT_FALSE(j.AddClick({key}, kT + 5'000).has_value());
  int64_t matched_click = -1;
  ASSERT_TRUE(j.AddPrediction(key, P(kT), &matched_click));
  EXPECT_EQ(matched_click, kT + 5'000);
  auto labels = j.Advance(kT + 5'000);
  ASSERT_EQ(labels.size(), 1u);
  EXPECT_TRUE(labels[0].clicked);
}

TEST(LabelJoinerTest, PredictionsBeyondTheLimitAreNotTracked) {
  LabelJoiner j(kWindow, 2);
  EXPECT_TRUE(j.AddPrediction("a", P(kT)));
  EXPECT_TRUE(j.AddPrediction("b", P(kT)));
  EXPECT_FALSE(j.AddPrediction("c", P(kT)));
  EXPECT_EQ(j.pending(), 2u);
}

// What a commit stores restores to the same labels, in the same order.
TEST(LabelJoinerTest, DirtyEntriesRoundTripThroughTheirEncoding) {
  LabelJoiner j(kWindow, 100);
  ASSERT_TRUE(j.AddPrediction(JoinKeyByRequest("r1", "i1"), P(kT, 0.1)));
  ASSERT_TRUE(j.AddPrediction(JoinKeyByRequest("r2", "i2"), P(kT + 1, 0.9)));
  (void)j.AddClick({JoinKeyByRequest("r2", "i2")}, kT + 10);
  (void)j.AddClick({JoinKeyByRequest("r3", "i3")}, kT + 20);  // waits
  LabelJoiner restored(kWindow, 100);
  for (const auto& key : j.TakeDirty()) {
    auto value = j.Encode(key);
    if (value) {
      ASSERT_TRUE(restored.Restore(key, *value).ok()) << key;
    }
  }
  EXPECT_EQ(restored.pending(), j.pending());
  auto a = j.Advance(kT + kWindow + 1), b = restored.Advance(kT + kWindow + 1);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].prediction_ts_ms, b[i].prediction_ts_ms);
    EXPECT_EQ(a[i].clicked, b[i].clicked);
    EXPECT_EQ(a[i].score, b[i].score);
  }
  EXPECT_FALSE(restored.Restore("x", "junk").ok());
  EXPECT_FALSE(restored.Restore("p", std::string("\xff\xff\xff", 3)).ok());
}

}  // namespace
}  // namespace featmon::drift
