// A pipeline's failing commits as operators see them.
#include "daemon/pipeline/stall_health.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <algorithm>
#include <sstream>

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

// Operators, runbooks and disk_full_test find a stall by these lines: one when
// it starts, one when it ends, none per retry.
TEST(StallHealthTest, LogsOneLineWhenAStallStartsAndOneWhenItEnds) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  auto& sinks = Log(Component::kIngest).sinks();
  sinks.push_back(sink);
  Metrics metrics("test");
  ManualClock clock(1'000);
  StallHealth commits(&metrics, &clock, Component::kIngest, "ingest");
  (void)commits.Failed(Status::NoSpace("disk full"));
  (void)commits.Failed(Status::NoSpace("disk full"));
  clock.AdvanceMs(1'500);
  commits.Succeeded(clock.MonotonicNs());
  StallHealth holds(&metrics, &clock, Component::kIngest, "ingest", StallHealth::Operation::kHold);
  (void)holds.Failed(Status::IOError("reading entity"));
  EXPECT_EQ(holds.error(), "a message is held: IOError: reading entity");
  holds.Succeeded();
  sinks.pop_back();
  const std::string log = out.str();
  EXPECT_NE(log.find("ingest: state commits failing (disk_full), holding offsets and retrying"), std::string::npos)
      << log;
  EXPECT_NE(log.find("ingest: state commits succeed again after 1.5 s and 2 failed attempts (disk_full)"),
            std::string::npos) << log;
  EXPECT_NE(log.find("ingest: a message is held (io_error), holding offsets and retrying"), std::string::npos) << log;
  EXPECT_NE(log.find("ingest: the held message went through"), std::string::npos) << log;
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 4) << log;
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
