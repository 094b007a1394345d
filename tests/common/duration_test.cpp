#include "common/duration.h"

#include <gtest/gtest.h>

namespace featmon {
namespace {

TEST(DurationTest, ParsesUnits) {
  EXPECT_EQ(*ParseDurationMs("250ms"), 250);
  EXPECT_EQ(*ParseDurationMs("30s"), 30'000);
  EXPECT_EQ(*ParseDurationMs("5m"), 300'000);
  EXPECT_EQ(*ParseDurationMs("1h"), 3'600'000);
  EXPECT_EQ(*ParseDurationMs("7d"), 7 * 86'400'000LL);
  EXPECT_EQ(*ParseDurationMs("42"), 42);
}

TEST(DurationTest, RejectsNonsense) {
  for (const char* bad : {"", "h", "-1h", "1y", "1.5h", "99999999999999999999d"}) {
    EXPECT_FALSE(ParseDurationMs(bad).ok()) << bad;
  }
}

TEST(DurationTest, FormatsLargestExactUnit) {
  EXPECT_EQ(FormatDurationMs(3'600'000), "1h");
  EXPECT_EQ(FormatDurationMs(90'000), "90s");
  EXPECT_EQ(FormatDurationMs(1500), "1500ms");
}

}  // namespace
}  // namespace featmon
