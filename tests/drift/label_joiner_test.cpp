// Labels from clicks: attribution, maturity order, limits and persistence,
// in both layouts of the pending labels (featmond's and featmon-export's).
#include "drift/label_joiner.h"

#include <gtest/gtest.h>

namespace featmon::drift {
namespace {

constexpr int64_t kWindow = 30 * 60'000;
constexpr int64_t kT = 1'700'000'000'000;

PendingLabel P(int64_t ts, double score = 0.2) { return {"m", "v1", score, ts, -1}; }

template <typename Joiner>
class LabelJoinerTest : public ::testing::Test {};
using Layouts = ::testing::Types<LabelJoiner, FlatLabelJoiner>;
TYPED_TEST_SUITE(LabelJoinerTest, Layouts);

TYPED_TEST(LabelJoinerTest, AClickLabelsTheLatestPredictionBeforeItWithinTheWindow) {
  TypeParam j(kWindow, 100);
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

TYPED_TEST(LabelJoinerTest, AClickOutsideTheWindowLabelsNothingAndExpires) {
  TypeParam j(kWindow, 100);
  const std::string key = JoinKeyByUser("u1", "i1");
  ASSERT_TRUE(j.AddPrediction(key, P(kT)));
  EXPECT_FALSE(j.AddClick({key}, kT + kWindow + 1).has_value());
  auto labels = j.Advance(kT + 2 * kWindow);
  ASSERT_EQ(labels.size(), 1u);
  EXPECT_FALSE(labels[0].clicked);
}

TYPED_TEST(LabelJoinerTest, AClickReadBeforeItsPredictionWaitsForIt) {
  TypeParam j(kWindow, 100);
  const std::string key = JoinKeyByRequest("r2", "i1");
  EXPECT_FALSE(j.AddClick({key}, kT + 5'000).has_value());
  int64_t matched_click = -1;
  ASSERT_TRUE(j.AddPrediction(key, P(kT), &matched_click));
  EXPECT_EQ(matched_click, kT + 5'000);
  auto labels = j.Advance(kT + 5'000);
  ASSERT_EQ(labels.size(), 1u);
  EXPECT_TRUE(labels[0].clicked);
}

// Issue 14: a prediction without request_id whose click carries one. Read in
// either order, the click labels it: an early click waits under every key a
// prediction may look it up by.
TYPED_TEST(LabelJoinerTest, TheLabelDoesNotDependOnWhichTopicWasReadFirst) {
  const std::vector<std::string> click_keys = {JoinKeyByRequest("r9", "i1"), JoinKeyByUser("u1", "i1")};
  const std::string prediction_key = JoinKeyByUser("u1", "i1");  // the prediction has no request_id
  for (bool clicks_first : {true, false}) {
    TypeParam j(kWindow, 100);
    if (clicks_first) {
      EXPECT_FALSE(j.AddClick(click_keys, kT + 5'000).has_value());
      int64_t matched_click = -1;
      ASSERT_TRUE(j.AddPrediction(prediction_key, P(kT), &matched_click));
      EXPECT_EQ(matched_click, kT + 5'000);
    } else {
      ASSERT_TRUE(j.AddPrediction(prediction_key, P(kT)));
      EXPECT_TRUE(j.AddClick(click_keys, kT + 5'000).has_value());
    }
    auto labels = j.Advance(kT + kWindow);
    ASSERT_EQ(labels.size(), 1u) << "clicks first: " << clicks_first;
    EXPECT_TRUE(labels[0].clicked) << "clicks first: " << clicks_first;
  }
}

// A click waiting under two keys labels one prediction only, and what is
// stored of it restores the same way.
TYPED_TEST(LabelJoinerTest, AClickWaitingUnderTwoKeysLabelsOnePrediction) {
  const std::vector<std::string> click_keys = {JoinKeyByRequest("r9", "i1"), JoinKeyByUser("u1", "i1")};
  TypeParam j(kWindow, 100);
  (void)j.AddClick(click_keys, kT + 5'000);
  TypeParam restored(kWindow, 100);
  for (const auto& key : j.TakeDirty()) {
    if (auto value = j.Encode(key)) {
      ASSERT_TRUE(restored.Restore(key, *value).ok()) << key;
    }
  }
  for (TypeParam* joiner : {&j, &restored}) {
    int64_t first = -1, second = -1;
    ASSERT_TRUE(joiner->AddPrediction(JoinKeyByRequest("r9", "i1"), P(kT), &first));
    ASSERT_TRUE(joiner->AddPrediction(JoinKeyByUser("u1", "i1"), P(kT + 1), &second));
    EXPECT_EQ(first, kT + 5'000);
    EXPECT_EQ(second, -1) << "the click was taken by the first prediction";
    auto labels = joiner->Advance(kT + 2 * kWindow);
    ASSERT_EQ(labels.size(), 2u);
    EXPECT_EQ(labels[0].clicked + labels[1].clicked, 1);
  }
}

// Waiting clicks stored before a click could wait under two keys (a varint
// count, then the times) still restore.
TYPED_TEST(LabelJoinerTest, WaitingClicksInTheOlderFormatRestore) {
  std::string old_value;
  old_value.push_back(1);                      // one click
  old_value.push_back(static_cast<char>(20));  // zigzag of 10
  TypeParam j(kWindow, 100);
  const std::string key = JoinKeyByRequest("r1", "i1");
  ASSERT_TRUE(j.Restore("c" + key, old_value).ok());
  int64_t matched = -1;
  ASSERT_TRUE(j.AddPrediction(key, P(5), &matched));
  EXPECT_EQ(matched, 10);
}

// Pending labels stored before they carried a payload (a varint count, then
// the labels) still restore, with none.
TYPED_TEST(LabelJoinerTest, PendingLabelsInTheOlderFormatRestore) {
  TypeParam j(kWindow, 100);
  const std::string key = JoinKeyByRequest("r1", "i1");
  ASSERT_TRUE(j.AddPrediction(key, P(kT, 0.25)));
  std::string value = *j.Encode("p" + key);
  // The older format: no leading 0 and no payload length at the end.
  ASSERT_EQ(value[0], 0);
  ASSERT_EQ(value.back(), 0);
  std::string old_value = value.substr(1, value.size() - 2);
  TypeParam restored(kWindow, 100);
  ASSERT_TRUE(restored.Restore("p" + key, old_value).ok());
  auto labels = restored.Advance(kT + kWindow);
  ASSERT_EQ(labels.size(), 1u);
  EXPECT_EQ(labels[0].score, 0.25);
  EXPECT_EQ(labels[0].prediction_ts_ms, kT);
  EXPECT_EQ(labels[0].payload, "");
}

TYPED_TEST(LabelJoinerTest, PredictionsBeyondTheLimitAreNotTracked) {
  TypeParam j(kWindow, 2);
  EXPECT_TRUE(j.AddPrediction("a", P(kT)));
  EXPECT_TRUE(j.AddPrediction("b", P(kT)));
  EXPECT_FALSE(j.AddPrediction("c", P(kT)));
  EXPECT_EQ(j.pending(), 2u);
}

// What a commit stores restores to the same labels, in the same order.
TYPED_TEST(LabelJoinerTest, DirtyEntriesRoundTripThroughTheirEncoding) {
  TypeParam j(kWindow, 100);
  ASSERT_TRUE(j.AddPrediction(JoinKeyByRequest("r1", "i1"), P(kT, 0.1)));
  PendingLabel with_payload = P(kT + 1, 0.9);
  with_payload.payload = std::string("example\0bytes", 13);
  ASSERT_TRUE(j.AddPrediction(JoinKeyByRequest("r2", "i2"), with_payload));
  (void)j.AddClick({JoinKeyByRequest("r2", "i2")}, kT + 10);
  (void)j.AddClick({JoinKeyByRequest("r3", "i3")}, kT + 20);  // waits
  TypeParam restored(kWindow, 100);
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
    EXPECT_EQ(a[i].payload, b[i].payload);
  }
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(b[0].payload, std::string("example\0bytes", 13));  // the click matured r2 first
  EXPECT_EQ(b[1].payload, "");
  EXPECT_FALSE(restored.Restore("x", "junk").ok());
  EXPECT_FALSE(restored.Restore("p", std::string("\xff\xff\xff", 3)).ok());
}

}  // namespace
}  // namespace featmon::drift
