// The names and hashes replays depend on.
#include "drift/monitor_events.h"

#include <gtest/gtest.h>

namespace featmon::drift {
namespace {

// Golden values: the reference sample of a replay, or of another build, must
// pick the same predictions. bf86bbb used std::hash, which the standard
// leaves to each implementation (and libstdc++ may change).
TEST(MonitorEventsTest, TheIdentityHashIsXxHash64OfTheIdentityFields) {
  EXPECT_EQ(PredictionIdentityHash("r1", "u1", "i1", 1'700'000'000'000), 0x0c367e8d9c86672eull);
  EXPECT_EQ(PredictionIdentityHash("", "u7", "i3", 5), 0xff89ad281a1a764eull);
  EXPECT_EQ(FeatureSampleHash(0, "dwell_prev_s"), 0xd2610a1e77885156ull);
  EXPECT_EQ(FeatureSampleHash(1, "dwell_prev_s"), 0xd2610a1e77885157ull);
  // Fields are separated: moving a character between them changes the hash.
  EXPECT_NE(PredictionIdentityHash("r1", "u1", "i1", 1), PredictionIdentityHash("r1u", "1", "i1", 1));
}

TEST(MonitorEventsTest, SignalAndVerdictNames) {
  EXPECT_STREQ(SignalName(Signal::kData), "data");
  EXPECT_STREQ(SignalName(Signal::kPerformance), "performance");
  for (Verdict v : {Verdict::kNoVerdict, Verdict::kOk, Verdict::kWarn, Verdict::kDrift}) {
    Verdict parsed;
    ASSERT_TRUE(ParseVerdict(VerdictName(v), &parsed));
    EXPECT_EQ(parsed, v);
  }
  Verdict unused;
  EXPECT_FALSE(ParseVerdict("drifting", &unused));
}

}  // namespace
}  // namespace featmon::drift
