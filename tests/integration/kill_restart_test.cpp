// RocksDB-style crash test: featmond runs as its own process against a broker
// process while a producer keeps writing; the test SIGKILLs it at random
// moments, restarts it, and at the end compares every entity with an oracle
// that saw each event exactly once.
#include <atomic>
#include <random>

#include "tests/daemon/temp_dir.h"
#include "tests/integration/harness.h"
#include "tests/integration/oracle_check.h"
#include "tools/producer.h"
#include "tools/traffic.h"

namespace featmon::testing {
namespace {

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : fallback;
}

TEST(KillRestartTest, EveryFeatureMatchesTheOracleAfterRepeatedSigkill) {
  const int kills = EnvInt("FEATMON_CRASH_KILLS", 6);
  const int events = EnvInt("FEATMON_CRASH_EVENTS", 60000);
  const unsigned seed = static_cast<unsigned>(EnvInt("FEATMON_CRASH_SEED", static_cast<int>(time(nullptr))));
  std::printf("crash test: %d kills, %d events, seed %u\n", kills, events, seed);
  std::mt19937 rng(seed);

  TempDir dir;
  BrokerProcess broker(dir.path(), 4);
  const uint16_t port = FreePort();
  DaemonProcess daemon(dir.path(), broker.bootstrap(), port);
  ASSERT_TRUE(daemon.WaitReady(std::chrono::seconds(40))) << daemon.log();

  Oracle oracle;
  std::atomic<bool> producing{true};
  std::atomic<int64_t> newest{0};
  std::thread producer_thread([&] {
    auto producer = SimpleProducer::Create(broker.bootstrap());
    ASSERT_TRUE(producer.ok());
    TrafficGenerator gen({.users = 3000, .items = 800, .item_zipf_s = 1.0, .base_ctr = 0.15, .categories = 10, .seed = seed});
    const int64_t base = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count() - 40 * 60'000;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < events; ++i) {
      // About 4,000 events a second, so the kills land while load is on.
      while (std::chrono::steady_clock::now() - start < std::chrono::microseconds(250) * i)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      Event e = gen.Next(base + i * 20);
      oracle.Add(e);
      newest = e.ts_ms;
      ASSERT_TRUE((*producer)->Send(e.type == EventType::kView ? "views" : "clicks", e.user_id,
                                    EncodeEvent(e, static_cast<WireFormat>(i % 3))).ok());
    }
    ASSERT_TRUE((*producer)->Flush(60000).ok());
    producing = false;
  });

  for (int k = 0; k < kills; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(300, 2500)(rng)));
    daemon.proc().KillHard();
    std::printf("kill %d at status-unknown moment; restarting\n", k + 1);
    daemon.Start();
    // Give it a little time to rejoin and consume before the next kill, sometimes none.
    if (k % 2 == 0) daemon.WaitReady(std::chrono::seconds(20));
  }
  producer_thread.join();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());

  ASSERT_TRUE(daemon.WaitReady(std::chrono::seconds(60))) << daemon.log();
  ASSERT_TRUE(WaitFor([&] { return daemon.CaughtUp(events); }, std::chrono::seconds(120)))
      << Http(port, "GET", "/v1/status").body;

  auto [compared, diffs] = CompareWithOracle(port, oracle, newest.load() + 1);
  std::printf("compared %zu entities after %d kills: %zu differences\n", compared, kills, diffs.size());
  EXPECT_EQ(compared, oracle.entities(EntityKind::kUser).size() + oracle.entities(EntityKind::kItem).size());
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();
}

}  // namespace
}  // namespace featmon::testing
