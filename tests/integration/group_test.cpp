// Two featmond processes in one consumer group, against featmon-broker: each
// holds whole tasks (views partition p with clicks partition p), answers a
// user from the tasks it holds exactly as the oracle does, and refuses with
// 503 what it cannot vouch for (users of the other instance's tasks, and
// items, whose events come from every task). Never a wrong answer: issue 13
// found 761 of 949 such lookups wrong. When one leaves, the other takes its
// tasks (resuming any it held before from their stored offsets) and answers
// every user and item as the oracle does.
#include <sys/stat.h>

#include <set>

#include "cluster/key_partitioner.h"
#include "tests/daemon/temp_dir.h"
#include "tests/integration/harness.h"
#include "tests/integration/load.h"
#include "tests/integration/oracle_check.h"

namespace featmon::testing {
namespace {

constexpr int kPartitions = 8;

nlohmann::json Tasks(uint16_t port) {
  auto status = Http(port, "GET", "/v1/status").json();
  return status.is_discarded() || !status.contains("tasks") ? nlohmann::json() : status["tasks"];
}

int HeldTasks(uint16_t port) {
  auto tasks = Tasks(port);
  return tasks.is_object() ? tasks["held"].get<int>() : -1;
}

// The views partitions an instance's /v1/status lists: what a model server
// routing by itself reads.
std::set<int> ViewsPartitions(uint16_t port) {
  std::set<int> out;
  auto status = Http(port, "GET", "/v1/status").json();
  if (status.is_discarded()) return out;
  for (const auto& p : status["assigned_partitions"])
    if (p["topic"] == "views") out.insert(p["partition"].get<int>());
  return out;
}

TEST(GroupTest, InstancesSharingAGroupGiveWholeAnswersOrNone) {
  TempDir dir;
  BrokerProcess broker(dir.path(), kPartitions);
  mkdir(dir.sub("a").c_str(), 0755);
  mkdir(dir.sub("b").c_str(), 0755);
  DaemonProcess a(dir.sub("a"), broker.bootstrap(), FreePort());
  ASSERT_TRUE(a.WaitAssigned(std::chrono::seconds(40))) << ReadFile(a.log());
  DaemonProcess b(dir.sub("b"), broker.bootstrap(), FreePort());

  Oracle oracle;
  LoadProducer load(broker.bootstrap(), &oracle, LoadOptions{.events = 20'000, .per_second = 10'000, .seed = 13});
  ASSERT_TRUE(load.Join());
  ASSERT_TRUE(WaitFor([&] { return HeldTasks(a.port()) > 0 && HeldTasks(b.port()) > 0 &&
                                   HeldTasks(a.port()) + HeldTasks(b.port()) == kPartitions; },
                      std::chrono::seconds(60)))
      << "tasks: a " << Tasks(a.port()) << ", b " << Tasks(b.port()) << "\n" << ReadFile(b.log());
  EXPECT_EQ(Tasks(a.port())["total"], kPartitions);
  ASSERT_TRUE(WaitFor([&] { return a.CommittedTotal() + b.CommittedTotal() == 20'000; }, std::chrono::seconds(60)))
      << "committed: a " << a.CommittedTotal() << ", b " << b.CommittedTotal();

  const int64_t as_of = load.newest_ts_ms() + 1;
  // Routing by Kafka's default partitioner (the generator's): a user's task
  // is KafkaDefaultPartition(user_id, 8), and the instance listing that
  // views partition is the one that answers it.
  const std::set<int> held_by_a = ViewsPartitions(a.port());
  size_t answered[2] = {0, 0}, wrong = 0;
  for (const auto& [id, want] : oracle.entities(EntityKind::kUser)) {
    int whole = 0;
    const int task = KafkaDefaultPartition(id, kPartitions);
    DaemonProcess* owner = held_by_a.count(task) ? &a : &b;
    for (DaemonProcess* d : {&a, &b}) {
      auto r = Http(d->port(), "GET", "/v1/features/user/" + id + "?as_of_ms=" + std::to_string(as_of));
      if (r.status == 503) {
        EXPECT_NE(r.body.find("of 8 tasks"), std::string::npos) << r.body;
        EXPECT_NE(r.body.find("it is task " + std::to_string(task) + ","), std::string::npos) << r.body;
        EXPECT_NE(d, owner) << "user " << id << " refused by the instance holding its task " << task;
        continue;
      }
      EXPECT_EQ(d, owner) << "user " << id << " answered by an instance not listing its task " << task;
      ASSERT_EQ(r.status, 200) << r.body;
      auto diffs = Oracle::Compare(EntityKind::kUser, id, want, r.json());
      wrong += diffs.empty() ? 0 : 1;
      EXPECT_TRUE(diffs.empty()) << "instance " << (d == &a ? "a" : "b") << ": " << diffs.front();
      ++whole;
      ++answered[d == &a ? 0 : 1];
    }
    EXPECT_EQ(whole, 1) << "user " << id << " should be answered by exactly the instance holding its task";
  }
  std::printf("users answered: %zu by a, %zu by b, of %zu; wrong answers: %zu\n", answered[0], answered[1],
              oracle.entities(EntityKind::kUser).size(), wrong);
  for (const auto& [id, want] : oracle.entities(EntityKind::kItem)) {
    for (DaemonProcess* d : {&a, &b})
      EXPECT_EQ(Http(d->port(), "GET", "/v1/features/item/" + id).status, 503) << "item " << id << " is partial here";
  }
  // Every refusal counted once, by reason; the tasks the two hold add up.
  double not_held = 0, partial = 0, held = 0;
  for (DaemonProcess* d : {&a, &b}) {
    const std::string metrics = Http(d->port(), "GET", "/metrics").body;
    not_held += MetricValue(metrics, "featmon_lookups_refused_total{reason=\"not_held\"}");
    partial += MetricValue(metrics, "featmon_lookups_refused_total{reason=\"partial_entity\"}");
    held += MetricValue(metrics, "featmon_tasks_held");
    EXPECT_EQ(MetricValue(metrics, "featmon_tasks"), kPartitions);
    // Every event on its user's default partition: the rule above holds.
    for (const char* topic : {"views", "clicks"})
      EXPECT_EQ(MetricValue(metrics, std::string("featmon_events_off_partition_total{topic=\"") + topic + "\"}"), 0)
          << topic;
  }
  EXPECT_EQ(not_held, static_cast<double>(oracle.entities(EntityKind::kUser).size()));
  EXPECT_EQ(partial, 2.0 * static_cast<double>(oracle.entities(EntityKind::kItem).size()));
  EXPECT_EQ(held, kPartitions);

  // b leaves; a takes its tasks and is a full copy again.
  b.proc().Signal(SIGTERM);
  ASSERT_EQ(b.proc().Wait(std::chrono::seconds(30)), 0) << ReadFile(b.log());
  ASSERT_TRUE(WaitFor([&] { return HeldTasks(a.port()) == kPartitions && a.CommittedTotal() == 20'000; },
                      std::chrono::seconds(60)))
      << "tasks " << Tasks(a.port()) << ", committed " << a.CommittedTotal();
  auto [compared, diffs] = CompareWithOracle(a.port(), oracle, as_of);
  EXPECT_EQ(compared, oracle.entities(EntityKind::kUser).size() + oracle.entities(EntityKind::kItem).size());
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, the first: " << diffs.front();
}

}  // namespace
}  // namespace featmon::testing
