// RocksDB-style crash test: featmond runs as its own process against a broker
// process while a producer keeps writing views, clicks and a model's
// predictions. The test SIGKILLs it again and again, half of the time at
// random moments and half of the time the moment /v1/status shows a RocksDB
// flush or compaction running, and restarts it. Every kill lands while
// predictions wait for their labels (a 2-minute attribution window over a
// stream 20 ms of event time apart). At the end:
//   - every user and item equals an oracle that saw each event once;
//   - the model-monitoring report (predictions, labels matured, every
//     statistic of every window, the detectors) equals that of a second
//     featmond that read the same stream once, undisturbed;
//   - featmon.examples holds exactly one LabeledExample per matured label,
//     each equal to the undisturbed featmond's.
// RocksDB's own LOG of each killed process tells which kills cut a flush or a
// compaction short.
//
// FEATMON_CRASH_KILLS (20), FEATMON_CRASH_EVENTS (80,000),
// FEATMON_CRASH_PARTITIONS (4) and FEATMON_CRASH_SEED scale it;
// `scripts/dev.sh soak` runs a longer one.
#include <random>
#include <regex>
#include <sstream>

#include "featmon/v1/events.pb.h"
#include "tests/common/topic_reader.h"
#include "tests/daemon/temp_dir.h"
#include "tests/integration/load.h"
#include "tests/integration/monitoring_check.h"
#include "tests/integration/oracle_check.h"

namespace featmon::testing {
namespace {

// Labeled examples read from a topic, by prediction (request, user, item, time).
using ExamplesByPrediction = std::map<std::string, std::vector<v1::LabeledExample>>;
// `records`: how many the topic holds (its offsets: no transactions write it).
ExamplesByPrediction ReadExamples(const std::string& bootstrap, const std::string& topic, size_t records) {
  ExamplesByPrediction out;
  for (const TopicRecord& r : ReadTopic(bootstrap, topic, records, std::chrono::seconds(60))) {
    v1::LabeledExample ex;
    EXPECT_TRUE(ex.ParseFromString(r.payload));
    EXPECT_EQ(r.key, ex.user_id());
    out[ex.request_id() + "|" + ex.user_id() + "|" + ex.item_id() + "|" + std::to_string(ex.ts_ms())].push_back(ex);
  }
  return out;
}
// The restarts that read the examples topic back (the killed process left
// examples stored and unconfirmed), and how many of those examples each
// found delivered already: "examples topic read back: N waiting examples
// were already delivered, M to produce".
struct ReadBacks {
  int restarts = 0, found_some = 0;
  int64_t found = 0, produced_again = 0;
};
ReadBacks ExampleReadBacks(const std::string& log_path) {
  std::ifstream log(log_path);
  static const std::regex kReadBack(R"(examples topic read back: (\d+) waiting examples were already delivered, (\d+) to produce)");
  std::smatch m;
  ReadBacks r;
  for (std::string line; std::getline(log, line);) {
    if (!std::regex_search(line, m, kReadBack)) continue;
    ++r.restarts;
    r.found_some += std::stoll(m[1]) > 0;
    r.found += std::stoll(m[1]);
    r.produced_again += std::stoll(m[2]);
  }
  return r;
}
std::string LinesWith(const std::string& log_path, const std::string& word) {
  std::ifstream log(log_path);
  std::string out;
  for (std::string line; std::getline(log, line);)
    if (line.find(word) != std::string::npos) out += line + "\n";
  return out;
}
bool SameExample(const v1::LabeledExample& a, const v1::LabeledExample& b) {
  return a.model() == b.model() && a.model_version() == b.model_version() && a.score() == b.score() &&
         a.label() == b.label() && a.click_ts_ms() == b.click_ts_ms() && a.features_size() == b.features_size();
}

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : fallback;
}

// Background jobs RocksDB's LOG shows started and not finished.
struct CutJobs {
  int flushes = 0, compactions = 0;
};

CutJobs UnfinishedJobs(const std::string& log_path) {
  std::map<std::string, std::set<int>> open;  // "flush"/"compaction" -> job ids
  std::ifstream log(log_path);
  static const std::regex kEvent(R"re("job": (\d+), "event": "(flush|compaction)_(started|finished)")re");
  std::smatch m;
  for (std::string line; std::getline(log, line);) {
    if (line.find("EVENT_LOG_v1") == std::string::npos || !std::regex_search(line, m, kEvent)) continue;
    if (m[3] == "started") open[m[2]].insert(std::stoi(m[1]));
    else open[m[2]].erase(std::stoi(m[1]));
  }
  return {static_cast<int>(open["flush"].size()), static_cast<int>(open["compaction"].size())};
}

// Small memtables (64 KB each) and slow background writes (1 MB/s), so flushes and
// compactions run much of the time; monitoring in minutes instead of hours, so
// labels mature and windows close within the run; a short session timeout, so
// a restarted featmond gets its partitions back in seconds.
constexpr auto kMonitoringCommitInterval = std::chrono::milliseconds(300);
const std::string kConfig = R"(kafka:
  group_id: featmond-crash
  properties:
    session.timeout.ms: "2500"
    heartbeat.interval.ms: "250"
store:
  memtable_memory: 256KB
  background_write_rate: 1MB
monitoring:
)" + CommitIntervalYaml(kMonitoringCommitInterval) + R"(  partition_idle_timeout: 3s
  defaults:
    window: 5m
    evaluation_period: 1m
    attribution_window: 2m
    min_samples: 200
)";

// The last `n` lines of featmond's log that the monitor wrote.
std::string MonitorLogLines(const std::string& log_path, size_t n) {
  std::vector<std::string> lines;
  std::istringstream in(ReadFile(log_path));
  for (std::string line; std::getline(in, line);)
    if (line.find("monitor") != std::string::npos) lines.push_back(line);
  std::string out;
  for (size_t i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i) out += "    " + lines[i] + "\n";
  return out;
}

TEST(KillRestartTest, FeaturesAndMonitoringMatchOraclesAfterRepeatedSigkill) {
  const int kills = EnvInt("FEATMON_CRASH_KILLS", 20);
  const int events = EnvInt("FEATMON_CRASH_EVENTS", 80'000);
  const unsigned seed = static_cast<unsigned>(EnvInt("FEATMON_CRASH_SEED", static_cast<int>(time(nullptr))));
  std::printf("crash test: %d kills, %d events, seed %u\n", kills, events, seed);
  std::mt19937 rng(seed);

  TempDir dir;
  // The mock broker keeps about 5 MiB per partition: more events need more partitions.
  const int partitions = EnvInt("FEATMON_CRASH_PARTITIONS", 4);
  BrokerProcess broker(dir.path(), partitions);
  const uint16_t port = FreePort();
  DaemonProcess daemon(dir.path(), broker.bootstrap(), port, kConfig);
  ASSERT_TRUE(daemon.WaitReady(std::chrono::seconds(40))) << daemon.log();

  Oracle oracle;
  LoadProducer load(broker.bootstrap(), &oracle,
                    {.events = events, .per_second = 1'500, .step_ms = std::max(1, 1'600'000 / events), .seed = seed,
                     .predictions = true});

  // The first kill, too, comes once predictions wait for their labels.
  ASSERT_TRUE(WaitFor([&] {
    return MetricValue(Http(port, "GET", "/metrics").body, "featmon_monitor_pending_labels") > 0;
  }, std::chrono::seconds(30)));
  int cut_flushes = 0, cut_compactions = 0, targeted = 0, pending_at_kill = 0, kills_while_starting = 0;
  int examples_in_flight_at_kill = 0;
  for (int k = 0; k < kills; ++k) {
    if (k % 2 == 1) {
      // Wait (up to 3 s) for RocksDB background work, then kill at once.
      targeted += WaitFor([&] {
        auto s = Http(port, "GET", "/v1/status").json();
        return !s.is_discarded() && s.contains("store") && s["store"]["running_compactions"].get<int64_t>() > 0;
      }, std::chrono::seconds(3), std::chrono::milliseconds(2));
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(200, 1500)(rng)));
      const double pending =
          MetricValue(Http(port, "GET", "/metrics").body, "featmon_monitor_pending_labels");
      // NaN: featmond is still starting (a kill during recovery); the labels
      // wait in its store then.
      if (std::isnan(pending)) ++kills_while_starting;
      else pending_at_kill += pending > 0;
      std::printf("  %s labels pending\n", std::isnan(pending) ? "(starting)" : std::to_string(int64_t(pending)).c_str());
      // Seen once in CI (kill 3 of 20, ASan): none pending 0.2 to 1.5 s
      // after a restart. The monitor's lines say what it restored and read.
      if (pending == 0) std::printf("%s", MonitorLogLines(daemon.log(), 30).c_str());
      // Half of these wait (up to 2 s) for labeled examples stored and not
      // yet confirmed, then 100 ms for their delivery (linger is 20 ms, the
      // commit that records it 300 ms away): the restart must find them in
      // the topic.
      if (k % 4 == 2 && WaitFor([&] {
            return MetricValue(Http(port, "GET", "/metrics").body, "featmon_examples_waiting") > 0;
          }, std::chrono::seconds(2), std::chrono::milliseconds(2))) {
        ++examples_in_flight_at_kill;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    daemon.proc().KillHard();
    const CutJobs cut = UnfinishedJobs(dir.path() + "/data/LOG");
    cut_flushes += cut.flushes > 0;
    cut_compactions += cut.compactions > 0;
    std::printf("kill %d (%s): cut %d flushes, %d compactions; %lld events sent\n", k + 1,
                k % 2 ? "during background work" : "random", cut.flushes, cut.compactions,
                static_cast<long long>(load.sent()));
    daemon.Start();
    // Sometimes let it rejoin and consume before the next kill, sometimes not.
    if (k % 4 != 3) daemon.WaitAssigned(std::chrono::seconds(15));
  }
  ASSERT_TRUE(load.Join());
  std::printf("%d kills: %d cut a flush, %d cut a compaction (%d seen running first); of %d random kills, %d "
              "with labels pending, %d while starting\n",
              kills, cut_flushes, cut_compactions, targeted, (kills + 1) / 2, pending_at_kill, kills_while_starting);
  // RocksDB writes its LOG through a buffer, so the LOG undercounts the cut
  // jobs; /v1/status read just before the kill shows the work in flight.
  EXPECT_GE(targeted, kills / 4) << "too few kills landed in RocksDB background work";
  EXPECT_GE(cut_flushes + cut_compactions, 1) << "no kill cut a flush or compaction short";
  EXPECT_EQ(pending_at_kill + kills_while_starting, (kills + 1) / 2) << "a random kill came while no label was pending";

  ASSERT_TRUE(daemon.WaitReady(std::chrono::seconds(60))) << daemon.log();
  // The soak's backlog (100 restarts) takes minutes to read; only a stall fails.
  ASSERT_TRUE(daemon.WaitCaughtUp(events, std::chrono::seconds(60))) << Http(port, "GET", "/v1/status").body;

  auto [compared, diffs] = CompareWithOracle(port, oracle, load.newest_ts_ms() + 1);
  std::printf("compared %zu entities after %d kills: %zu differences\n", compared, kills, diffs.size());
  EXPECT_EQ(compared, oracle.entities(EntityKind::kUser).size() + oracle.entities(EntityKind::kItem).size());
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();

  // Monitoring: the same report as a featmond that read everything once.
  const int64_t final_watermark = load.newest_monitored_ts_ms() - 30'000;
  // Every partition read to its end and idle (3 s without news) puts the
  // watermark at its final place, the newest event time less the allowed
  // lateness (30 s), whatever path led there.
  const nlohmann::json report = SettledReport(port, final_watermark, kMonitoringCommitInterval);
  ASSERT_TRUE(report.is_object()) << report.dump() << "\n" << MonitorLogLines(daemon.log(), 20);
  ASSERT_EQ(Watermark(port), final_watermark);
  const auto& v1 = report["versions"]["v1"];
  const int64_t settled = Watermark(port);
  std::printf("monitoring after the kills: %s labels matured, watermark %lld, last evaluation %s\n",
              v1["matured_labels"].dump().c_str(), static_cast<long long>(settled),
              v1["windows"]["evaluated_at_ms"].dump().c_str());
  EXPECT_GT(v1["matured_labels"].get<double>(), 1000);
  daemon.proc().Signal(SIGTERM);
  ASSERT_EQ(daemon.proc().Wait(std::chrono::seconds(20)), 0);

  // Labeled examples: exactly one per matured prediction, whatever the kills
  // cut (a commit, a delivery, a read-back).
  const auto matured = static_cast<size_t>(v1["matured_labels"].get<double>());
  size_t records = 0;
  for (const PartitionOffsets& offsets : BrokerWatermarks(broker.bootstrap(), "featmon.examples", partitions)) {
    ASSERT_EQ(offsets.low, 0) << "the broker no longer holds the start of featmon.examples: raise FEATMON_CRASH_PARTITIONS";
    records += static_cast<size_t>(offsets.high);
  }
  const ExamplesByPrediction examples = ReadExamples(broker.bootstrap(), "featmon.examples", records);
  size_t repeated = 0;
  for (const auto& [prediction, list] : examples) repeated += list.size() > 1;
  std::printf("featmon.examples after the kills: %zu records, %zu predictions, %zu of them more than once\n", records,
              examples.size(), repeated);
  EXPECT_EQ(examples.size(), matured) << "examples and the monitor's matured labels differ";
  EXPECT_EQ(repeated, 0u);
  // The kills must have left examples stored and unconfirmed, which the
  // restarts read the topic back for: delivered ones found (not produced
  // again) and undelivered ones produced. One featmond log, appended.
  const ReadBacks read_backs = ExampleReadBacks(daemon.log());
  std::printf("%d restarts read featmon.examples back (%d kills waited for examples in flight): %lld examples found "
              "delivered by %d of them, %lld produced again\n",
              read_backs.restarts, examples_in_flight_at_kill, static_cast<long long>(read_backs.found),
              read_backs.found_some, static_cast<long long>(read_backs.produced_again));
  if (kills >= 10) {
    EXPECT_GE(read_backs.restarts, 1) << "no kill left examples whose delivery was unrecorded:\n"
                                      << LinesWith(daemon.log(), "example");
  }

  // The replay needs the whole stream: a broker that dropped its oldest
  // messages would make it count less, not featmond count wrong.
  for (const char* topic : {"predictions", "clicks"})
    for (const PartitionOffsets& offsets : BrokerWatermarks(broker.bootstrap(), topic, partitions))
      ASSERT_EQ(offsets.low, 0) << "the broker no longer holds the start of " << topic
                                << " (about 5 MiB per partition): raise FEATMON_CRASH_PARTITIONS";
  TempDir replay_dir;
  // A group of its own: librdkafka 2.0.2's mock coordinator sometimes never
  // finishes the rebalance of a group whose members all left seconds before
  // a new one joins (1 in 4 tries, with featmond before and after the
  // examples topic); a fresh group starts from its first join.
  std::string replay_config = kConfig;
  const std::string group_line = "  group_id: featmond-crash\n";
  replay_config.replace(replay_config.find(group_line), group_line.size(),
                        "  group_id: featmond-crash-replay\n  examples_topic: featmon.examples.replay\n");
  DaemonProcess replay(replay_dir.path(), broker.bootstrap(), FreePort(), replay_config);
  ASSERT_TRUE(replay.WaitReady(std::chrono::seconds(40))) << std::ifstream(replay.log()).rdbuf();
  const nlohmann::json replayed = SettledReport(replay.port(), final_watermark, kMonitoringCommitInterval);
  ASSERT_TRUE(replayed.is_object());
  ASSERT_EQ(Watermark(replay.port()), final_watermark);
  ExpectSameJson(replayed["versions"], report["versions"], "versions");
  ExpectSameJson(replayed["last_retrain_request"], report["last_retrain_request"], "last_retrain_request");
  // The undisturbed run labels every prediction the same way.
  replay.proc().Signal(SIGTERM);
  ASSERT_EQ(replay.proc().Wait(std::chrono::seconds(20)), 0);
  // Its topic was created when it first produced, with the mock's default
  // partition count: read as many as the examples compared above.
  const ExamplesByPrediction undisturbed = ReadExamples(broker.bootstrap(), "featmon.examples.replay", matured);
  ASSERT_EQ(undisturbed.size(), examples.size());
  size_t differ = 0;
  for (const auto& [prediction, list] : undisturbed) {
    auto it = examples.find(prediction);
    differ += it == examples.end() || !SameExample(it->second.front(), list.front());
  }
  EXPECT_EQ(differ, 0u) << "examples that differ from the undisturbed run's";
}

}  // namespace
}  // namespace featmon::testing
