#include "cluster/revoked_state_cleanup.h"

#include <gtest/gtest.h>

namespace featmon::cluster {
namespace {

using Tasks = std::vector<int32_t>;

TEST(RevokedStateCleanupTest, ATaskIsDueOnceItsDelayIsUp) {
  RevokedStateCleanup cleanup(600'000);
  cleanup.Revoked(3, 1'000);
  cleanup.Revoked(1, 2'000);
  EXPECT_TRUE(cleanup.waiting());
  EXPECT_EQ(cleanup.TakeDue(600'999), Tasks{});
  EXPECT_EQ(cleanup.TakeDue(601'000), Tasks{3});
  EXPECT_EQ(cleanup.TakeDue(601'000), Tasks{}) << "taken once";
  EXPECT_EQ(cleanup.TakeDue(700'000), Tasks{1});
  EXPECT_FALSE(cleanup.waiting());
}

TEST(RevokedStateCleanupTest, ATaskHeldAgainIsNeverDue) {
  RevokedStateCleanup cleanup(1'000);
  cleanup.Revoked(0, 0);
  cleanup.Revoked(2, 0);
  cleanup.Assigned(0);
  EXPECT_EQ(cleanup.TakeDue(5'000), Tasks{2});
  // Revoked again later: its delay starts from then.
  cleanup.Revoked(0, 10'000);
  EXPECT_EQ(cleanup.TakeDue(10'999), Tasks{});
  EXPECT_EQ(cleanup.TakeDue(11'000), Tasks{0});
}

TEST(RevokedStateCleanupTest, ASecondRevokeKeepsTheFirstTime) {
  RevokedStateCleanup cleanup(1'000);
  cleanup.Revoked(5, 0);
  cleanup.Revoked(5, 900);
  EXPECT_EQ(cleanup.TakeDue(1'000), Tasks{5});
}

TEST(RevokedStateCleanupTest, NoDelayKeepsRevokedStateForever) {
  RevokedStateCleanup cleanup(0);
  cleanup.Revoked(1, 0);
  EXPECT_FALSE(cleanup.waiting());
  EXPECT_EQ(cleanup.TakeDue(INT64_MAX / 2), Tasks{});
}

}  // namespace
}  // namespace featmon::cluster
