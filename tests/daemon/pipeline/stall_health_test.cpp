// A pipeline's failing commits as operators see them.
#include "daemon/pipeline/stall_health.h"

#include <gtest/gtest.h>

namespace featmon {
namespace {

double Stalled(Metrics& m, const char* reason) { return m.CommitsStalled(reason).Value(); }

TEST(StallHealthTest, AStallSetsItsReasonUntilACommitSucceeds) {
  Metrics metrics("test");
  ManualClock clock(1'000);
  StallHealth health(&metrics, &clock, Component::kIngest, "ingest");
  EXPECT_TRUE(health.healthy());
  EXPECT_FALSE(health.stalled());
  Status st = health.Failed(Status::NoSpace("disk full"));
  EXPECT_EQ(st.code(), StatusCode::kNoSpace);
  EXPECT_FALSE(health.healthy());
  EXPECT_TRUE(health.stalled());
  EXPECT_NE(health.error().find("disk full"), std::string::npos);
  EXPECT_EQ(Stalled(metrics, "disk_full"), 1);
  // The same reason again: counted, but the gauge stays at one pipeline.
  (void)health.Failed(Status::NoSpace("disk full"));
  EXPECT_EQ(Stalled(metrics, "disk_full"), 1);
  EXPECT_EQ(metrics.CommitFailures().Value(), 2);
  // Another reason moves the pipeline to it.
  (void)health.Failed(Status::IOError("read-only filesystem"));
  EXPECT_EQ(Stalled(metrics, "disk_full"), 0);
  EXPECT_EQ(Stalled(metrics, "io_error"), 1);
  clock.AdvanceMs(2'500);
  health.Succeeded(clock.MonotonicNs() - 1'000'000);
  EXPECT_TRUE(health.healthy());
  EXPECT_FALSE(health.stalled());
  EXPECT_EQ(health.error(), "");
  EXPECT_EQ(Stalled(metrics, "io_error"), 0);
}

TEST(StallHealthTest, TwoPipelinesShareTheGaugeAndEachTakesItsShareAlong) {
  Metrics metrics("test");
  ManualClock clock;
  auto a = std::make_unique<StallHealth>(&metrics, &clock, Component::kIngest, "ingest");
  StallHealth b(&metrics, &clock, Component::kMonitor, "monitoring");
  (void)a->Failed(Status::Unavailable("broker"));
  (void)b.Failed(Status::Unavailable("broker"));
  EXPECT_EQ(Stalled(metrics, "unavailable"), 2);
  a.reset();
  EXPECT_EQ(Stalled(metrics, "unavailable"), 1);
  b.Reset();  // its work was dropped (revoked partitions)
  EXPECT_EQ(Stalled(metrics, "unavailable"), 0);
  EXPECT_TRUE(b.healthy());
}

TEST(StallHealthTest, ReasonsFollowTheStatusCode) {
  EXPECT_STREQ(CommitStallReason(Status::NoSpace("")), "disk_full");
  EXPECT_STREQ(CommitStallReason(Status::IOError("")), "io_error");
  EXPECT_STREQ(CommitStallReason(Status::Corruption("")), "corruption");
  EXPECT_STREQ(CommitStallReason(Status::Unavailable("")), "unavailable");
  EXPECT_STREQ(CommitStallReason(Status::Internal("")), "other");
}

}  // namespace
}  // namespace featmon
