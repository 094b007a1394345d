#include "features/feature_spec.h"

#include <gtest/gtest.h>

#include "tests/features/test_specs.h"

namespace featmon {
namespace {

using namespace featmon::testing;

TEST(FeatureSpecTest, DefaultSetSharesTiles) {
  auto set = FeatureSet::Compile(DefaultSpecs());
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  // user: views@5m, clicks@5m, views@1h, clicks@1h, last_n, distinct@1h, latest
  EXPECT_EQ(set->series(EntityKind::kUser).size(), 7u);
  EXPECT_EQ(set->features(EntityKind::kUser).size(), 11u);
  EXPECT_EQ(set->features(EntityKind::kItem).size(), 10u);
  const auto& series = set->series(EntityKind::kUser);
  EXPECT_EQ(series[2].tile_ms, kHour);
  EXPECT_EQ(series[2].retention_ms, 7 * kDay);  // views_24h and views_7d share it
  EXPECT_EQ(series[0].tile_ms, 5 * kMin);
  EXPECT_EQ(set->features(EntityKind::kUser)[6].name, "ctr_24h");  // config order kept
  EXPECT_EQ(set->LongestWindowMs(), 7 * kDay);
}

TEST(FeatureSpecTest, ErrorsNameTheFeature) {
  auto bad_ratio = FeatureSet::Compile({Ratio("r", EntityKind::kUser, "nope", "nope")});
  ASSERT_FALSE(bad_ratio.ok());
  EXPECT_NE(bad_ratio.status().message().find("feature 'r'"), std::string::npos);
  EXPECT_NE(bad_ratio.status().message().find("numerator 'nope'"), std::string::npos);

  auto no_window = FeatureSet::Compile({Spec("c", EntityKind::kItem, kViews, Aggregation::kCount)});
  ASSERT_FALSE(no_window.ok());
  EXPECT_NE(no_window.status().message().find("window is required"), std::string::npos);

  FeatureSpec odd = Spec("c", EntityKind::kItem, kViews, Aggregation::kCount, 7 * kMin);
  odd.tile_ms = 5 * kMin;
  EXPECT_FALSE(FeatureSet::Compile({odd}).ok());

  auto dup = FeatureSet::Compile({Spec("c", EntityKind::kItem, kViews, Aggregation::kCount, kHour),
                                  Spec("c", EntityKind::kItem, kViews, Aggregation::kCount, kDay)});
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.status().message().find("defined twice"), std::string::npos);
}

TEST(FeatureSpecTest, LatenessFollowsLongestWindowOfTheSource) {
  auto set = FeatureSet::Compile(DefaultSpecs());
  ASSERT_TRUE(set.ok());
  const int64_t now = 1000 * kDay;
  EXPECT_FALSE(set->IsLate(EventType::kView, now - 6 * kDay, now));
  EXPECT_FALSE(set->IsLate(EventType::kView, now - 7 * kDay + kHour, now));
  EXPECT_TRUE(set->IsLate(EventType::kView, now - 7 * kDay, now));
  EXPECT_TRUE(set->IsLate(EventType::kClick, now - 8 * kDay, now));
  // A stream feeding no windowed feature is never late.
  auto lifetime_only = FeatureSet::Compile(
      {Spec("latest", EntityKind::kUser, kViews, Aggregation::kLatestTimestamp)});
  ASSERT_TRUE(lifetime_only.ok());
  EXPECT_FALSE(lifetime_only->IsLate(EventType::kView, 1, now));
}

}  // namespace
}  // namespace featmon
