// State moves through the changelog (kafka.changelog_topic), with real
// processes: featmond A ingests, then the input topics lose their start
// (the mock broker keeps about the newest 5 MiB of a partition) and A is
// killed with SIGKILL; B, on an empty data directory, restores every task
// from the changelog and answers as the oracle does, which replaying the
// input could not. B is then killed in the middle of more traffic and C,
// empty too, takes over: still the oracle, exactly once. Last, B comes back
// on its old directory and C leaves: B restores only the changelog's tail
// past its own state and answers as the oracle does. C, told to delete a
// revoked task's local state a second after (ingest.state_cleanup_delay),
// has deleted the tasks B took from it, whole, and kept the rest.
// With warm standbys, a failover reads nothing of the changelog again.
#include <sys/stat.h>

#include <memory>
#include <regex>
#include <set>

#include "cluster/key_partitioner.h"
#include "daemon/config/config.h"
#include "daemon/store/rocksdb_store.h"
#include "tests/daemon/temp_dir.h"
#include "tests/integration/harness.h"
#include "tests/integration/load.h"
#include "tests/integration/oracle_check.h"
#include "tools/producer.h"

namespace featmon::testing {
namespace {

constexpr int kPartitions = 4;
// Item state comes through the repartition topic: each item lives in one
// task, its marks move with it, and a killed instance's resends count once.
constexpr char kYaml[] =
    "kafka:\n  group_id: featmond-changelog-test\n  changelog_topic: featmon.changelog\n"
    "  item_repartition_topic: featmon.items\n"
    "  properties:\n    session.timeout.ms: \"6000\"\n    heartbeat.interval.ms: \"500\"\n";
constexpr char kItems[] = "featmon.items";
constexpr char kCleanupYaml[] = "ingest:\n  commit_interval: 50ms\n  state_cleanup_delay: 1s\n";

// The inputs' end offsets, the repartition topic's included: what featmond
// has committed once it has read everything (asked again until then, since
// featmond writes the repartition topic as it reads the others).
int64_t TopicEnd(const std::string& bootstrap, const char* topic) {
  int64_t total = 0;
  for (const PartitionOffsets& o : BrokerWatermarks(bootstrap, topic, kPartitions)) total += o.high;
  return total;
}
int64_t EndOffsets(const std::string& bootstrap) {
  return TopicEnd(bootstrap, "views") + TopicEnd(bootstrap, "clicks") + TopicEnd(bootstrap, kItems);
}

// A broker with the changelog and the repartition topic, a partition per task each.
void CreateTaskTopics(BrokerProcess& broker, int changelog_partitions = kPartitions) {
  ASSERT_TRUE(broker.Control("create featmon.changelog " + std::to_string(changelog_partitions)));
  ASSERT_TRUE(broker.Control(std::string("create ") + kItems + " " + std::to_string(kPartitions)));
}

// Enough undecodable filler on every input partition that the broker drops
// the partitions' first records: featmond dead-letters it.
void PushOutTheStart(const std::string& bootstrap) {
  auto producer = SimpleProducer::Create(bootstrap);
  ASSERT_TRUE(producer.ok()) << producer.status().ToString();
  const std::string filler(200 * 1024, 'x');
  for (const char* topic : {"views", "clicks"})
    for (int p = 0; p < kPartitions; ++p)
      for (int i = 0; i < 32; ++i) ASSERT_TRUE((*producer)->Send(topic, "filler", filler, p).ok());
  ASSERT_TRUE((*producer)->Flush(30'000).ok());
}

void ExpectOracle(DaemonProcess& d, const Oracle& oracle, int64_t as_of, const char* when) {
  OracleComparison c = CompareWithOracle(d.port(), oracle, as_of);
  EXPECT_GT(c.compared, 0u) << when;
  EXPECT_TRUE(c.diffs.empty()) << when << ": " << c.diffs.size() << " differences, first: " << c.diffs.front()
                               << "\n" << ReadFile(d.log());
}

// The tasks C's log says it deleted have no entity, checkpoint or changelog
// position left in its data directory; the tasks it held to the end keep
// their changelog position.
void ExpectOnlyDeletedTasksGone(const std::string& data_dir, const std::string& log, const Oracle& oracle) {
  // Deleted, and not assigned (and so restored) again afterwards.
  std::set<int32_t> deleted;
  const std::regex line("task ([0-9]+): deleted the local state|\\[ingest\\] assigned views/([0-9]+) ");
  for (auto it = std::sregex_iterator(log.begin(), log.end(), line); it != std::sregex_iterator(); ++it) {
    if ((*it)[1].matched) deleted.insert(std::stoi((*it)[1]));
    else deleted.erase(std::stoi((*it)[2]));
  }
  ASSERT_FALSE(deleted.empty()) << "every task C deleted came back to it:\n" << log;
  // With featmond's features: without their merge operator, RocksDB's
  // recovery stops at the first delta in the WAL and drops every write after
  // it, the deletions included.
  auto config = LoadDefaultConfig();
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  auto features = FeatureSet::Compile(config->features);
  ASSERT_TRUE(features.ok()) << features.status().ToString();
  RocksDbStoreOptions options;
  options.path = data_dir;
  options.features = &*features;
  auto store = RocksDbStore::Open(options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  size_t users_checked = 0, kept = 0;
  for (int32_t task = 0; task < kPartitions; ++task) {
    auto position = (*store)->LoadChangelogPosition(task);
    ASSERT_TRUE(position.ok());
    if (!deleted.count(task)) {
      kept += position->has_value();
      continue;
    }
    EXPECT_FALSE(position->has_value()) << "task " << task << " in\n" << log;
    for (const char* source : {"views", "clicks"})
      for (int32_t p = 0; p < kPartitions; ++p) {
        const TopicPartition mark{std::string(kItems) + "@" + source + "/" + std::to_string(p), task};
        EXPECT_FALSE((*(*store)->LoadCheckpoint(mark)).has_value()) << mark.topic << " of task " << task;
      }
    for (const char* topic : {"views", "clicks", kItems}) {
      const TopicPartition tp{topic, task};
      EXPECT_FALSE((*(*store)->LoadCheckpoint(tp)).has_value()) << topic << "/" << task;
      const ShardId shard = *(*store)->RegisterShard(tp);
      for (const auto& [user, want] : oracle.entities(EntityKind::kUser)) {
        if (KafkaDefaultPartition(user, kPartitions) != task) continue;
        ++users_checked;
        EXPECT_FALSE((*(*store)->Get(shard, EntityKind::kUser, user)).has_value()) << user << " in " << topic;
      }
    }
  }
  EXPECT_GT(users_checked, 0u) << "no user of a deleted task to look for";
  EXPECT_GT(kept, 0u) << "C kept no task to the end: the check cannot tell deleted from never held";
}

TEST(ChangelogTest, TasksMoveThroughTheChangelogExactlyOnce) {
  TempDir dir;
  BrokerProcess broker(dir.path(), kPartitions);
  CreateTaskTopics(broker);
  for (const char* d : {"a", "b", "c"}) mkdir(dir.sub(d).c_str(), 0755);
  Oracle oracle;

  DaemonProcess a(dir.sub("a"), broker.bootstrap(), FreePort(), kYaml);
  ASSERT_TRUE(a.WaitAssigned(std::chrono::seconds(40))) << ReadFile(a.log());
  LoadProducer first(broker.bootstrap(), &oracle, LoadOptions{.events = 20'000, .per_second = 10'000, .seed = 21});
  ASSERT_TRUE(first.Join());
  // A reads everything before the broker drops the start.
  ASSERT_TRUE(a.WaitCaughtUp([&] { return EndOffsets(broker.bootstrap()); }, std::chrono::seconds(60))) << ReadFile(a.log());
  PushOutTheStart(broker.bootstrap());
  ASSERT_TRUE(a.WaitCaughtUp([&] { return EndOffsets(broker.bootstrap()); }, std::chrono::seconds(60)))
      << "committed " << a.CommittedTotal() << " of " << EndOffsets(broker.bootstrap()) << "\n" << ReadFile(a.log());
  for (const char* topic : {"views", "clicks"})
    for (const PartitionOffsets& o : BrokerWatermarks(broker.bootstrap(), topic, kPartitions))
      ASSERT_GT(o.low, 0) << topic << " still holds its first record: this test needs the broker to have dropped it";
  ExpectOracle(a, oracle, first.newest_ts_ms() + 1, "A, before it is killed");
  a.proc().KillHard();

  // B commits nothing of its own (its restore stores what it restored): all
  // it does before its kill is done again by C, and re-keyed again.
  DaemonProcess b(dir.sub("b"), broker.bootstrap(), FreePort(), std::string(kYaml) + "ingest:\n  commit_interval: 1h\n");
  ASSERT_TRUE(b.WaitCaughtUp([&] { return EndOffsets(broker.bootstrap()); }, std::chrono::seconds(60))) << ReadFile(b.log());
  ExpectOracle(b, oracle, first.newest_ts_ms() + 1, "B, restored from the changelog after A was killed");
  EXPECT_NE(ReadFile(b.log()).find("restored"), std::string::npos);

  // B is killed in the middle of more traffic; C, empty, takes over.
  const int64_t rekeyed_before = TopicEnd(broker.bootstrap(), kItems);
  LoadProducer second(broker.bootstrap(), &oracle, LoadOptions{.events = 20'000, .per_second = 5'000, .seed = 22});
  // Killed once the broker holds some of what it re-keyed, none of it committed.
  ASSERT_TRUE(WaitFor([&] { return TopicEnd(broker.bootstrap(), kItems) >= rekeyed_before + 2'000; }, std::chrono::seconds(30)))
      << ReadFile(b.log());
  b.proc().KillHard();
  DaemonProcess c(dir.sub("c"), broker.bootstrap(), FreePort(), std::string(kYaml) + kCleanupYaml);
  ASSERT_TRUE(second.Join());
  ASSERT_TRUE(c.WaitCaughtUp([&] { return EndOffsets(broker.bootstrap()); }, std::chrono::seconds(90))) << ReadFile(c.log());
  ExpectOracle(c, oracle, second.newest_ts_ms() + 1, "C, after B was killed in the middle of traffic");
  // What B re-keyed, C re-keyed again: the items side applied each once.
  EXPECT_NE(ReadFile(c.log()).find("skipping events re-keyed again"), std::string::npos)
      << "nothing was re-keyed twice, so this run shows no deduplication:\n" << ReadFile(c.log());

  // B comes back on its old directory (committing as usual); C leaves: B
  // reads only the tail.
  DaemonProcess b_back(dir.sub("b"), broker.bootstrap(), FreePort(), kYaml);
  ASSERT_TRUE(WaitFor([&] { return c.CommittedTotal() >= 0 && b_back.CommittedTotal() >= 0; }, std::chrono::seconds(60)));
  // B's join takes tasks from C; a second later C deletes their state.
  const std::regex deleted_line("task ([0-9]+): deleted the local state");
  ASSERT_TRUE(WaitFor([&] { return std::regex_search(ReadFile(c.log()), deleted_line); }, std::chrono::seconds(60)))
      << ReadFile(c.log());
  c.proc().Signal(SIGTERM);
  ASSERT_EQ(c.proc().Wait(std::chrono::seconds(15)), 0) << ReadFile(c.log());
  ExpectOnlyDeletedTasksGone(dir.sub("c") + "/data", ReadFile(c.log()), oracle);
  ASSERT_TRUE(b_back.WaitCaughtUp([&] { return EndOffsets(broker.bootstrap()); }, std::chrono::seconds(60))) << ReadFile(b_back.log());
  ExpectOracle(b_back, oracle, second.newest_ts_ms() + 1, "B, back on its old directory after C left");
}

// Warm standbys (cluster.standby_replicas: 1): A and B each keep a copy of
// the other's tasks, following their changelogs. A is killed with SIGKILL;
// B takes A's tasks over from its copies, reading only its own claim per
// task where the test above reads every task's whole partition, and
// answers as the oracle does.
TEST(ChangelogTest, AWarmStandbyTakesOverReadingNothingAgain) {
  TempDir dir;
  BrokerProcess broker(dir.path(), kPartitions);
  CreateTaskTopics(broker);
  const std::string yaml = std::string(kYaml) + "cluster:\n  standby_replicas: 1\n";
  std::vector<std::unique_ptr<DaemonProcess>> instances;
  for (const char* name : {"a", "b"}) {
    mkdir(dir.sub(name).c_str(), 0755);
    const uint16_t port = FreePort();
    instances.push_back(std::make_unique<DaemonProcess>(
        dir.sub(name), broker.bootstrap(), port, yaml,
        std::vector<std::string>{"--advertised-url", "http://127.0.0.1:" + std::to_string(port)}));
  }
  DaemonProcess& a = *instances[0];
  DaemonProcess& b = *instances[1];
  Oracle oracle;
  LoadProducer load(broker.bootstrap(), &oracle, LoadOptions{.events = 20'000, .per_second = 10'000, .seed = 23});
  ASSERT_TRUE(load.Join());
  // Each holds some tasks and a caught-up standby copy of every other one.
  auto standbys_caught_up = [&](DaemonProcess& d) {
    auto status = Http(d.port(), "GET", "/v1/status").json();
    auto cluster = Http(d.port(), "GET", "/v1/cluster").json();
    if (status.is_discarded() || cluster.is_discarded() || !cluster.contains("standbys")) return false;
    std::set<int> held, standby;
    for (const auto& p : status["assigned_partitions"]) held.insert(p["partition"].get<int>());
    for (const auto& s : cluster["standbys"]) {
      if (s["behind_records"].is_null() || s["behind_records"].get<int64_t>() != 0) return false;
      standby.insert(s["task"].get<int>());
    }
    if (held.empty() || held.size() + standby.size() != kPartitions) return false;
    for (int t : standby)
      if (held.count(t)) return false;
    return true;
  };
  ASSERT_TRUE(WaitFor([&] { return a.CommittedTotal() + b.CommittedTotal() >= EndOffsets(broker.bootstrap()) &&
                                   standbys_caught_up(a) && standbys_caught_up(b); },
                      std::chrono::seconds(90)))
      << Http(a.port(), "GET", "/v1/cluster").body << "\n" << Http(b.port(), "GET", "/v1/cluster").body << "\n"
      << ReadFile(a.log()) << ReadFile(b.log());
  a.proc().KillHard();

  // The group gives A's tasks to B once A's session times out.
  const std::regex restored("task ([0-9]+): restored [0-9]+ entity states .* ([0-9]+) records.*standby copy");
  ASSERT_TRUE(WaitFor([&] {
    const std::string log = ReadFile(b.log());
    return std::distance(std::sregex_iterator(log.begin(), log.end(), restored), std::sregex_iterator()) > 0 &&
           b.CommittedTotal() >= EndOffsets(broker.bootstrap());  // the ends of what B re-keys again too
  }, std::chrono::seconds(60))) << ReadFile(b.log());
  const std::string log = ReadFile(b.log());
  for (auto it = std::sregex_iterator(log.begin(), log.end(), restored); it != std::sregex_iterator(); ++it)
    EXPECT_EQ(std::stoi((*it)[2]), 1) << "task " << (*it)[1] << " read more than its claim: " << it->str();
  ExpectOracle(b, oracle, load.newest_ts_ms() + 1, "B, after taking over from its standby copies");
}

TEST(ChangelogTest, AChangelogWithoutAPartitionPerTaskIsRefused) {
  TempDir dir;
  BrokerProcess broker(dir.path(), kPartitions);
  CreateTaskTopics(broker, 3);
  DaemonProcess d(dir.path(), broker.bootstrap(), FreePort(), kYaml);
  EXPECT_TRUE(WaitFor([&] { return ReadFile(d.log()).find("has 3 partitions") != std::string::npos; },
                      std::chrono::seconds(40)))
      << ReadFile(d.log());
  EXPECT_NE(ReadFile(d.log()).find("it needs one per task"), std::string::npos);
  EXPECT_LE(d.CommittedTotal(), 0) << "it consumed without a changelog it could write";
}

}  // namespace
}  // namespace featmon::testing
