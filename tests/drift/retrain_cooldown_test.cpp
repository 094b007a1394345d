// The cooldown is kept per reason (issue 14): a false alarm's quiet time does
// not hide a different, real degradation.
#include "drift/retrain_cooldown.h"

#include <gtest/gtest.h>

namespace featmon::drift {
namespace {

constexpr int64_t kHour = 3'600'000;

RetrainReason Data(const std::string& feature) { return {Signal::kData, feature, "psi", 0.3, 0.2}; }
RetrainReason Calibration() { return {Signal::kPerformance, "calibration", "calibration_ratio", 0.6, 0.8}; }
RetrainReason Adwin() { return {Signal::kPerformance, "adwin", "adwin", 0.1, 0}; }

TEST(RetrainCooldownTest, AReasonInItsQuietTimeDoesNotHideAnother) {
  RetrainCooldown cooldown(6 * kHour);
  bool suppressed = false;
  EXPECT_EQ(cooldown.Admit({Adwin()}, 0, &suppressed).size(), 1u);  // a false alarm
  EXPECT_FALSE(suppressed);
  // 70 minutes later the model's calibration really breaks: it asks at once.
  auto admitted = cooldown.Admit({Adwin(), Calibration()}, 70 * 60'000, &suppressed);
  ASSERT_EQ(admitted.size(), 1u);
  EXPECT_EQ(admitted[0].feature, "calibration");
  EXPECT_TRUE(suppressed);
  // The same reasons stay quiet until their own quiet time ends.
  EXPECT_TRUE(cooldown.Admit({Adwin(), Calibration()}, 2 * kHour, &suppressed).empty());
  EXPECT_TRUE(suppressed);
  EXPECT_EQ(cooldown.Admit({Adwin(), Calibration()}, 6 * kHour, &suppressed).size(), 1u);  // adwin's ended
  EXPECT_EQ(cooldown.Admit({Data("age"), Data("country")}, 6 * kHour, &suppressed).size(), 2u);
}

TEST(RetrainCooldownTest, SavedStateRestores) {
  RetrainCooldown cooldown(kHour), restored(kHour);
  bool suppressed = false;
  (void)cooldown.Admit({Data("age")}, 0, &suppressed);
  ASSERT_TRUE(restored.Load(cooldown.Save()).ok());
  EXPECT_TRUE(restored.Admit({Data("age")}, 10, &suppressed).empty());
  EXPECT_EQ(restored.Admit({Data("country")}, 10, &suppressed).size(), 1u);
  EXPECT_FALSE(restored.Load(nlohmann::json::array()).ok());
  EXPECT_FALSE(restored.Load({{"data/age", "soon"}}).ok());
}

// State saved when the cooldown was one per model: it holds every reason.
TEST(RetrainCooldownTest, AModelWideCooldownFromOlderStateHoldsEveryReason) {
  RetrainCooldown cooldown(kHour);
  ASSERT_TRUE(cooldown.Load(nlohmann::json(5 * kHour)).ok());
  bool suppressed = false;
  EXPECT_TRUE(cooldown.Admit({Data("age"), Calibration()}, 4 * kHour, &suppressed).empty());
  EXPECT_EQ(cooldown.Admit({Data("age"), Calibration()}, 5 * kHour, &suppressed).size(), 2u);
}

}  // namespace
}  // namespace featmon::drift
