// The monitoring watermark's rule on hand-made partition clocks.
#include "drift/watermark.h"

#include <gtest/gtest.h>

namespace featmon::drift {
namespace {

constexpr int64_t kSecondNs = 1'000'000'000;
constexpr int64_t kT = 1'700'000'000'000;  // an event time

PartitionClock Read(int64_t next, int64_t high, int64_t stream_time, int64_t active_ns) {
  return {next, high, stream_time, active_ns};
}

class WatermarkTest : public ::testing::Test {
 protected:
  Watermark w_{{30'000, 30'000}};
};

TEST_F(WatermarkTest, ABacklogAdvancesAsSlowlyAsTheSlowestPartition) {
  // Both behind their ends: the slower one decides, minus the allowed lateness.
  EXPECT_EQ(w_.Advance({Read(10, 100, kT + 60'000, 0), Read(5, 100, kT, 0)}, 2, 0), WatermarkStep::kAdvanced);
  EXPECT_EQ(w_.value(), kT - 30'000);
}

TEST_F(WatermarkTest, ACaughtUpPartitionHoldsUntilItHasBeenSilentForTheIdleTimeout) {
  const std::vector<PartitionClock> parts = {Read(100, 100, kT, 0), Read(50, 100, kT + 600'000, 40 * kSecondNs)};
  ASSERT_EQ(w_.Advance(parts, 2, 29 * kSecondNs), WatermarkStep::kAdvanced);
  EXPECT_EQ(w_.value(), kT - 30'000) << "caught up, silent for 29 s: still holds";
  ASSERT_EQ(w_.Advance(parts, 2, 31 * kSecondNs), WatermarkStep::kAdvanced);
  EXPECT_EQ(w_.value(), kT + 600'000 - 30'000) << "silent for 31 s: idle, the busy partition decides";
}

TEST_F(WatermarkTest, APartitionWithNothingReadYetHoldsFromItsAssignment) {
  // next_offset -1: nothing read; an empty partition (end 0) counts as caught up.
  const std::vector<PartitionClock> parts = {Read(-1, 0, 0, 0), Read(10, 100, kT, 0)};
  EXPECT_EQ(w_.Advance(parts, 2, 10 * kSecondNs), WatermarkStep::kUnchanged);
  EXPECT_EQ(w_.value(), 0);
  EXPECT_EQ(w_.Advance(parts, 2, 31 * kSecondNs), WatermarkStep::kAdvanced);
  EXPECT_EQ(w_.value(), kT - 30'000);
  // One with messages but nothing read is behind however long it waits.
  Watermark fresh({30'000, 30'000});
  EXPECT_EQ(fresh.Advance({Read(-1, 5, 0, 0), Read(10, 100, kT, 0)}, 2, 3600 * kSecondNs), WatermarkStep::kUnchanged);
}

TEST_F(WatermarkTest, AnUnknownEndHolds) {
  EXPECT_TRUE(Watermark::Behind(Read(10, -1, kT, 0)));
  EXPECT_EQ(w_.Advance({Read(10, -1, kT, 0), Read(10, 100, kT + 1'000'000, 0)}, 2, 3600 * kSecondNs),
            WatermarkStep::kAdvanced);
  EXPECT_EQ(w_.value(), kT - 30'000);
}

TEST_F(WatermarkTest, WhenEveryPartitionIsIdleTheFastestFinishesTheWindows) {
  const std::vector<PartitionClock> parts = {Read(100, 100, kT, 0), Read(100, 100, kT + 120'000, 0)};
  ASSERT_EQ(w_.Advance(parts, 2, 31 * kSecondNs), WatermarkStep::kAdvanced);
  EXPECT_EQ(w_.value(), kT + 120'000 - 30'000);
}

TEST_F(WatermarkTest, APartitionMonitoredBeforeButNotAssignedNowHoldsIt) {
  EXPECT_EQ(w_.Advance({Read(10, 100, kT, 0)}, 2, 0), WatermarkStep::kHeldForUnassigned);
  EXPECT_EQ(w_.value(), 0);
  EXPECT_EQ(w_.Advance({}, 2, 0), WatermarkStep::kUnchanged);
}

TEST_F(WatermarkTest, ItNeverMovesBack) {
  ASSERT_EQ(w_.Advance({Read(10, 100, kT, 0)}, 1, 0), WatermarkStep::kAdvanced);
  EXPECT_EQ(w_.Advance({Read(10, 100, kT - 60'000, 0)}, 1, 0), WatermarkStep::kUnchanged);
  EXPECT_EQ(w_.value(), kT - 30'000);
  w_.Restore(kT);
  EXPECT_EQ(w_.Advance({Read(10, 100, kT, 0)}, 1, 0), WatermarkStep::kUnchanged);
  EXPECT_EQ(w_.value(), kT);
}

}  // namespace
}  // namespace featmon::drift
