#include "common/heartbeats.h"

#include <gtest/gtest.h>

#include <thread>

namespace featmon {
namespace {

using Names = std::vector<std::string>;

TEST(LoopHeartbeats, ALoopIsStalledOnlyOnceSilentLongerThanTheLimit) {
  ManualClock clock(1000);
  LoopHeartbeats beats(&clock);
  const auto ingest = beats.Register("ingest worker 0");
  const auto monitor = beats.Register("monitor");
  EXPECT_EQ(beats.Stalled(5'000'000'000), Names{});

  clock.AdvanceMs(4000);
  ingest.Beat();
  clock.AdvanceMs(1000);  // monitor silent for exactly the limit: not yet
  EXPECT_EQ(beats.Stalled(5'000'000'000), Names{});
  clock.AdvanceMs(1);
  EXPECT_EQ(beats.Stalled(5'000'000'000), Names{"monitor"});

  monitor.Beat();
  clock.AdvanceMs(4000);  // ingest last beat 5001 ms ago
  EXPECT_EQ(beats.Stalled(5'000'000'000), Names{"ingest worker 0"});
  EXPECT_EQ(beats.Stalled(10'000'000'000), Names{});
}

TEST(LoopHeartbeats, ALoopRegisteredLateStartsFresh) {
  ManualClock clock(0);
  LoopHeartbeats beats(&clock);
  beats.Register("group");
  clock.AdvanceMs(60'000);
  beats.Register("monitor");
  EXPECT_EQ(beats.Stalled(30'000'000'000), Names{"group"});
}

TEST(LoopHeartbeats, BeatsFromManyThreadsWhileOthersRegisterAndAsk) {
  ManualClock clock(0);
  LoopHeartbeats beats(&clock);
  std::vector<LoopHeartbeats::Heartbeat> loops;
  for (int i = 0; i < 4; ++i) loops.push_back(beats.Register("loop " + std::to_string(i)));
  std::vector<std::thread> threads;
  for (const auto& loop : loops)
    threads.emplace_back([loop] {
      for (int n = 0; n < 100000; ++n) loop.Beat();
    });
  for (int i = 0; i < 100; ++i) {
    beats.Register("late " + std::to_string(i));
    (void)beats.Stalled(0);
  }
  for (auto& t : threads) t.join();
  clock.AdvanceMs(1);
  EXPECT_EQ(beats.Stalled(0).size(), 104u);
}

}  // namespace
}  // namespace featmon
