// Two featmond processes in one consumer group, against featmon-broker: each
// holds whole tasks (views partition p with clicks partition p), answers a
// user from the tasks it holds exactly as the oracle does, and refuses with
// 503 what it cannot vouch for (users of the other instance's tasks, and
// items, whose events come from every task). Never a wrong answer: issue 13
// found 761 of 949 such lookups wrong. When one is killed, the other takes
// its tasks, resuming its own stale copies from their stored offsets: it
// refuses their users until it has caught up with what the dead one
// committed, then answers every user and item as the oracle does.
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

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
// routing by itself reads. With `serving_only`, none whose task restores
// (from the changelog in the background, or catching up with its input).
std::set<int> ViewsPartitions(uint16_t port, bool serving_only = false) {
  std::set<int> out;
  auto status = Http(port, "GET", "/v1/status").json();
  if (status.is_discarded()) return out;
  for (const auto& p : status["assigned_partitions"])
    if (p["topic"] == "views" && !(serving_only && !p["restore_until"].is_null()))
      out.insert(p["partition"].get<int>());
  return out;
}

struct KillProbe {
  size_t unreachable = 0, answered = 0, wrong = 0;
  bool all_answered = false;
};

// After an instance is killed: looks its users up through `asked`, in turn,
// until each is answered (or 90 s pass). A 503 is allowed (not held here,
// owner unreachable, restoring); every answer must equal the oracle.
KillProbe LookUpUntilAnswered(const std::vector<DaemonProcess*>& asked, const std::vector<std::string>& users,
                              const Oracle& oracle, int64_t as_of_ms) {
  KillProbe out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  while (!out.all_answered && std::chrono::steady_clock::now() < deadline) {
    out.all_answered = true;
    for (const std::string& id : users) {
      DaemonProcess* d = asked[(out.answered + out.unreachable) % asked.size()];
      auto r = Http(d->port(), "GET", "/v1/features/user/" + id + "?as_of_ms=" + std::to_string(as_of_ms));
      if (r.status == 503) {
        out.all_answered = false;
        if (r.body.find("did not answer") != std::string::npos) ++out.unreachable;
        continue;
      }
      EXPECT_EQ(r.status, 200) << r.body;
      if (r.status != 200) continue;
      ++out.answered;
      auto diffs = Oracle::Compare(EntityKind::kUser, id, oracle.entities(EntityKind::kUser).at(id), r.json());
      out.wrong += diffs.empty() ? 0 : 1;
      EXPECT_TRUE(diffs.empty()) << "after a kill: " << diffs.front();
    }
  }
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

  ASSERT_TRUE(WaitFor([&] { return HeldTasks(a.port()) > 0 && HeldTasks(b.port()) > 0 &&
                                   HeldTasks(a.port()) + HeldTasks(b.port()) == kPartitions; },
                      std::chrono::seconds(60)))
      << "tasks: a " << Tasks(a.port()) << ", b " << Tasks(b.port()) << "\n" << ReadFile(b.log());
  // The traffic starts once the two have split the tasks, so that b's tasks
  // are b's alone: a, which held them before b joined, has none of their
  // events.
  Oracle oracle;
  LoadProducer load(broker.bootstrap(), &oracle, LoadOptions{.events = 20'000, .per_second = 10'000, .seed = 13});
  ASSERT_TRUE(load.Join());
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

  // b is killed; a takes its tasks and is a full copy again. Its copies of
  // them are from before b joined, and empty: it refuses their users while
  // it replays up to what b committed (without that rule, 155 of 1,365
  // answers after such a kill were stale), then answers them right.
  std::vector<std::string> b_users;
  for (const auto& [id, _] : oracle.entities(EntityKind::kUser))
    if (!held_by_a.count(KafkaDefaultPartition(id, kPartitions))) b_users.push_back(id);
  b.proc().KillHard();
  const KillProbe probe = LookUpUntilAnswered({&a}, b_users, oracle, as_of);
  EXPECT_TRUE(probe.all_answered) << "b's users were still refused 90 s after it was killed";
  EXPECT_EQ(probe.wrong, 0u);
  EXPECT_GT(MetricValue(Http(a.port(), "GET", "/metrics").body, "featmon_lookups_refused_total{reason=\"restoring\"}"), 0)
      << "no lookup met a restoring task";
  ASSERT_TRUE(WaitFor([&] { return HeldTasks(a.port()) == kPartitions && a.CommittedTotal() == 20'000; },
                      std::chrono::seconds(60)))
      << "tasks " << Tasks(a.port()) << ", committed " << a.CommittedTotal();
  auto [compared, diffs] = CompareWithOracle(a.port(), oracle, as_of);
  EXPECT_EQ(compared, oracle.entities(EntityKind::kUser).size() + oracle.entities(EntityKind::kItem).size());
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, the first: " << diffs.front();

  // a holds every task, and its store says so. It stops (SIGTERM: it leaves
  // the group); b comes back on its old directory, takes every task and reads
  // more traffic, and stops too. a starts again: the group has committed past
  // its copy, so before its first assignment it must not answer from that
  // copy as a full one. Every answer, from its start until it has caught up,
  // is right or 503.
  a.proc().Signal(SIGTERM);
  ASSERT_EQ(a.proc().Wait(std::chrono::seconds(30)), 0) << ReadFile(a.log());
  b.Start();
  ASSERT_TRUE(WaitFor([&] { return HeldTasks(b.port()) == kPartitions && b.CommittedTotal() == 20'000; },
                      std::chrono::seconds(60)))
      << "tasks " << Tasks(b.port()) << ", committed " << b.CommittedTotal() << "\n" << ReadFile(b.log());
  LoadProducer more(broker.bootstrap(), &oracle, LoadOptions{.events = 4'000, .per_second = 4'000, .seed = 14});
  ASSERT_TRUE(more.Join());
  ASSERT_TRUE(WaitFor([&] { return b.CommittedTotal() == 24'000; }, std::chrono::seconds(60)))
      << "committed " << b.CommittedTotal();
  b.proc().Signal(SIGTERM);
  ASSERT_EQ(b.proc().Wait(std::chrono::seconds(30)), 0) << ReadFile(b.log());
  const int64_t as_of_more = std::max(as_of, more.newest_ts_ms() + 1);
  a.Start();
  size_t right = 0, refused = 0, stale = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline &&
         !(HeldTasks(a.port()) == kPartitions && a.CommittedTotal() == 24'000 && right > 0)) {
    for (const auto& [id, want] : oracle.entities(EntityKind::kUser)) {
      auto r = Http(a.port(), "GET", "/v1/features/user/" + id + "?as_of_ms=" + std::to_string(as_of_more));
      if (r.status == 503 || r.status == 0) {
        refused += r.status == 503;
        continue;
      }
      ASSERT_EQ(r.status, 200) << r.body;
      if (Oracle::Compare(EntityKind::kUser, id, want, r.json()).empty()) ++right;
      else ++stale;
    }
  }
  std::printf("a restarted after b had processed its tasks: %zu answers right, %zu refused, %zu stale\n", right,
              refused, stale);
  EXPECT_EQ(stale, 0u) << "a answered from its stale full copy before the group assigned it its tasks";
  EXPECT_NE(ReadFile(a.log()).find("past this instance's stored copy"), std::string::npos)
      << "a did not notice that the group had committed past its copy";
  auto [compared_after, diffs_after] = CompareWithOracle(a.port(), oracle, as_of_more);
  EXPECT_EQ(compared_after, oracle.entities(EntityKind::kUser).size() + oracle.entities(EntityKind::kItem).size());
  EXPECT_TRUE(diffs_after.empty()) << diffs_after.size() << " differences, the first: " << diffs_after.front();
}

nlohmann::json Cluster(uint16_t port) { return Http(port, "GET", "/v1/cluster").json(); }

// Every live instance's tasks are owned, in every live instance's directory,
// by exactly that instance, no task is unclaimed, and none restores. (A
// member killed without a tombstone stays listed, owning nothing.)
bool OwnersSettled(const std::vector<DaemonProcess*>& live) {
  size_t held = 0;
  for (DaemonProcess* e : live) held += ViewsPartitions(e->port(), true).size();
  if (held != kPartitions) return false;
  for (DaemonProcess* d : live) {
    auto c = Cluster(d->port());
    if (c.is_discarded() || !c["unclaimed_tasks"].empty()) return false;
    std::map<std::string, std::set<int>> owned;
    for (const auto& m : c["members"]) owned[m["url"]] = m["owned_tasks"].get<std::set<int>>();
    for (DaemonProcess* e : live)
      if (owned["http://127.0.0.1:" + std::to_string(e->port())] != ViewsPartitions(e->port())) return false;
  }
  return true;
}

std::string RefusalReason(const std::string& body) {
  if (body.find("did not answer") != std::string::npos) return "owner unreachable";
  if (body.find("has announced task") != std::string::npos) return "owner unknown";
  if (body.find("restor") != std::string::npos) return "restoring";
  if (body.find("is not among them") != std::string::npos) return "not held (the directory lagged a move)";
  return body.substr(0, 120);
}

// A client that keeps looking up random users and items, through whichever
// instances are in service (a Service's endpoints), while the cluster
// changes under it; every answer is checked against the oracle, which must
// not change meanwhile.
class Prober {
 public:
  Prober(const Oracle& oracle, int64_t as_of_ms, std::vector<uint16_t> in_service)
      : oracle_(oracle), as_of_ms_(as_of_ms), in_service_(std::move(in_service)), thread_([this] { Run(); }) {}
  ~Prober() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // As a Service takes a pod out of its endpoints before the pod stops, and
  // back once it is ready.
  void Remove(uint16_t port) {
    std::lock_guard lock(mu_);
    in_service_.erase(std::find(in_service_.begin(), in_service_.end(), port));
  }
  void Add(uint16_t port) {
    std::lock_guard lock(mu_);
    in_service_.push_back(port);
  }
  std::atomic<size_t> answered{0}, wrong{0}, failed{0};
  // 503s by why, as their messages say.
  std::map<std::string, size_t> refusals() {
    std::lock_guard lock(mu_);
    return refusals_;
  }
  std::string first_problem() {
    std::lock_guard lock(mu_);
    return first_problem_;
  }

 private:
  void Run() {
    std::mt19937 rng(7);
    std::vector<std::pair<EntityKind, const std::string*>> keys;
    for (EntityKind kind : {EntityKind::kUser, EntityKind::kItem})
      for (const auto& [id, _] : oracle_.entities(kind)) keys.emplace_back(kind, &id);
    while (!stop_) {
      uint16_t port;
      {
        std::lock_guard lock(mu_);
        port = in_service_[rng() % in_service_.size()];
      }
      const auto& [kind, id] = keys[rng() % keys.size()];
      auto r = Http(port, "GET", "/v1/features/" + std::string(EntityKindName(kind)) + "/" + *id +
                                     "?as_of_ms=" + std::to_string(as_of_ms_));
      if (r.status == 503 && !r.body.empty()) {
        std::lock_guard lock(mu_);
        ++refusals_[RefusalReason(r.body)];
        continue;
      }
      if (r.status != 200) {
        Note(failed, "port " + std::to_string(port) + " answered " + std::to_string(r.status) + ": " + r.body);
        continue;
      }
      auto diffs = Oracle::Compare(kind, *id, oracle_.entities(kind).at(*id), r.json());
      if (diffs.empty()) ++answered;
      else Note(wrong, "port " + std::to_string(port) + ": " + diffs.front());
    }
  }
  void Note(std::atomic<size_t>& counter, const std::string& problem) {
    ++counter;
    std::lock_guard lock(mu_);
    if (first_problem_.empty()) first_problem_ = problem;
  }
  const Oracle& oracle_;
  const int64_t as_of_ms_;
  std::mutex mu_;
  std::vector<uint16_t> in_service_;
  std::map<std::string, size_t> refusals_;
  std::string first_problem_;
  std::atomic<bool> stop_{false};
  std::thread thread_;  // last: starts once the members above exist
};

// Through every instance, every user and item in batches (which fan out to
// the owners) equals the oracle.
void ExpectEveryAnswerRight(const std::vector<DaemonProcess*>& live, const Oracle& oracle, int64_t as_of_ms,
                            const std::string& when) {
  for (DaemonProcess* d : live) {
    auto [compared, diffs] = CompareWithOracle(d->port(), oracle, as_of_ms);
    EXPECT_EQ(compared, oracle.entities(EntityKind::kUser).size() + oracle.entities(EntityKind::kItem).size()) << when;
    EXPECT_TRUE(diffs.empty()) << when << ", through port " << d->port() << ": " << diffs.size()
                               << " differences, the first: " << diffs.front();
  }
}

// The end offsets of views, clicks and the item repartition topic: what the
// cluster has committed once it has read everything. Asked again each time,
// since the instances write the repartition topic as they read the others
// (and write again what a killed one had re-keyed without committing).
constexpr char kItems[] = "featmon.items";
int64_t InputEnds(const std::string& bootstrap) {
  int64_t total = 0;
  for (const char* topic : {"views", "clicks", kItems})
    for (const PartitionOffsets& o : BrokerWatermarks(bootstrap, topic, kPartitions)) total += o.high;
  return total;
}

int64_t Committed(const std::vector<DaemonProcess*>& live) {
  int64_t committed = 0;
  for (DaemonProcess* d : live) committed += std::max<int64_t>(0, d->CommittedTotal());
  return committed;
}

// A cluster of three with advertised URLs, static ids (group.instance.id,
// which the mock broker reads and ignores: a stopped member keeps its tasks
// until its session times out, then they move), a changelog and the item
// repartition topic, through the changes of issue 13's test:
//   - any instance answers any user and any item, through its owner (an
//     item's state is in one task), exactly as the oracle does; a batch
//     through one of them fans out and answers in request order;
//   - one is killed with SIGKILL: its users are answered 503 (its owner does
//     not answer, then the task restores) until the group moves its tasks,
//     never with a wrong value;
//   - one joins with an empty data directory in the middle of traffic;
//   - all three restart one by one (SIGTERM, as a rolling update does) while
//     a client keeps looking up through those in service.
// After each change every user and item, through every instance, equals the
// oracle.
TEST(GroupTest, AClusterThatChangesNeverAnswersWrong) {
  TempDir dir;
  BrokerProcess broker(dir.path(), kPartitions);
  ASSERT_TRUE(broker.Control("create featmon.changelog " + std::to_string(kPartitions)));
  ASSERT_TRUE(broker.Control(std::string("create ") + kItems + " " + std::to_string(kPartitions)));
  const std::string yaml = std::string(DaemonProcess::kKafkaYaml) +
                           "  changelog_topic: featmon.changelog\n  item_repartition_topic: featmon.items\n";
  std::vector<std::unique_ptr<DaemonProcess>> instances;
  auto start = [&](const std::string& name) {
    mkdir(dir.sub(name).c_str(), 0755);
    const uint16_t port = FreePort();
    instances.push_back(std::make_unique<DaemonProcess>(
        dir.sub(name), broker.bootstrap(), port, yaml,
        std::vector<std::string>{"--advertised-url", "http://127.0.0.1:" + std::to_string(port),
                                 "--kafka-group-instance-id", "featmond-" + name}));
    return instances.back().get();
  };
  for (const char* name : {"a", "b", "c"}) start(name);
  std::vector<DaemonProcess*> all;
  for (auto& d : instances) all.push_back(d.get());
  Oracle oracle;
  LoadProducer load(broker.bootstrap(), &oracle, LoadOptions{.events = 20'000, .per_second = 10'000, .seed = 17});
  ASSERT_TRUE(load.Join());
  ASSERT_TRUE(WaitFor([&] {
    return std::all_of(all.begin(), all.end(), [](DaemonProcess* d) { return HeldTasks(d->port()) > 0; }) &&
           OwnersSettled(all) && Committed(all) == InputEnds(broker.bootstrap());
  }, std::chrono::seconds(90))) << "committed " << Committed(all) << "; " << Cluster(all[0]->port());

  const int64_t as_of = load.newest_ts_ms() + 1;
  size_t wrong = 0, refused = 0;
  for (EntityKind kind : {EntityKind::kUser, EntityKind::kItem}) {
    const std::string name(EntityKindName(kind));
    for (const auto& [id, want] : oracle.entities(kind)) {
      for (DaemonProcess* d : all) {
        auto r = Http(d->port(), "GET", "/v1/features/" + name + "/" + id + "?as_of_ms=" + std::to_string(as_of));
        if (r.status != 200) {
          ++refused;
          ADD_FAILURE() << name << " " << id << ": " << r.status << " " << r.body;
          continue;
        }
        auto diffs = Oracle::Compare(kind, id, want, r.json());
        wrong += diffs.empty() ? 0 : 1;
        EXPECT_TRUE(diffs.empty()) << diffs.front();
      }
    }
  }
  // A user with no events is not found, through any instance, rather than refused.
  for (DaemonProcess* d : all) {
    auto r = Http(d->port(), "GET", "/v1/features/user/never-seen");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json()["found"], false);
  }
  std::printf("%zu users and %zu items looked up through each of 3 instances: %zu wrong, %zu refused\n",
              oracle.entities(EntityKind::kUser).size(), oracle.entities(EntityKind::kItem).size(), wrong, refused);
  // Batches fan out to the owners and come back in request order.
  for (DaemonProcess* d : all) {
    auto [compared, diffs] = CompareWithOracle(d->port(), oracle, as_of);
    EXPECT_EQ(compared, oracle.entities(EntityKind::kUser).size() + oracle.entities(EntityKind::kItem).size());
    EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, the first: " << diffs.front();
  }
  double forwarded = 0;
  for (DaemonProcess* d : all) {
    const std::string metrics = Http(d->port(), "GET", "/metrics").body;
    forwarded += MetricValue(metrics, "featmon_lookups_forwarded_total");
    for (const char* reason : {"not_held", "partial_entity", "owner_unknown", "owner_unreachable", "restoring"})
      EXPECT_EQ(MetricValue(metrics, std::string("featmon_lookups_refused_total{reason=\"") + reason + "\"}"), 0) << reason;
  }
  // Two of every three single lookups went to another instance, and so did
  // the batches' share.
  EXPECT_GE(forwarded, 2.0 * static_cast<double>(oracle.entities(EntityKind::kUser).size()));

  // c is killed: its users are refused, or answered right once the group has
  // moved its tasks and their new owner has caught up; never answered wrong.
  const std::set<int> c_tasks = ViewsPartitions(all[2]->port());
  std::vector<std::string> c_users;
  for (const auto& [id, _] : oracle.entities(EntityKind::kUser))
    if (c_tasks.count(KafkaDefaultPartition(id, kPartitions))) c_users.push_back(id);
  ASSERT_FALSE(c_users.empty());
  all[2]->proc().Signal(SIGKILL);
  all[2]->proc().Wait(std::chrono::seconds(10));
  const KillProbe probe = LookUpUntilAnswered({all[0], all[1]}, c_users, oracle, as_of);
  std::printf("after SIGKILL of c: %zu lookups refused as unreachable, %zu answered, %zu wrong\n", probe.unreachable,
              probe.answered, probe.wrong);
  EXPECT_TRUE(probe.all_answered) << "c's users were still refused 90 s after it was killed";
  EXPECT_EQ(probe.wrong, 0u);
  EXPECT_GT(probe.unreachable, 0u) << "lookups sent to c while the group still listed it should say it did not answer";
  // With the changelog, a moved task restores before its new owner serves
  // it; without one, the restoring rule refuses its stale copy (the first
  // test shows it).
  std::vector<DaemonProcess*> live = {all[0], all[1]};
  ASSERT_TRUE(WaitFor([&] { return OwnersSettled(live) && Committed(live) == InputEnds(broker.bootstrap()); },
                      std::chrono::seconds(60)))
      << Cluster(all[0]->port());
  ExpectEveryAnswerRight(live, oracle, as_of, "after c was killed");

  // d joins with an empty data directory in the middle of traffic: the
  // tasks it takes restore from the changelog, and nothing is counted twice.
  LoadProducer more(broker.bootstrap(), &oracle, LoadOptions{.events = 8'000, .per_second = 4'000, .seed = 18});
  std::this_thread::sleep_for(std::chrono::seconds(1));
  live.push_back(start("d"));
  ASSERT_TRUE(more.Join());
  ASSERT_TRUE(WaitFor([&] { return HeldTasks(live[2]->port()) > 0 && OwnersSettled(live) && Committed(live) == InputEnds(broker.bootstrap()); },
                      std::chrono::seconds(90)))
      << "committed " << Committed(live) << "; " << Cluster(live[0]->port()) << "\n" << ReadFile(live[2]->log());
  const int64_t as_of_after = std::max(as_of, more.newest_ts_ms() + 1);
  ExpectEveryAnswerRight(live, oracle, as_of_after, "after d joined with an empty data directory");

  // A rolling restart: each instance leaves the Service, stops (SIGTERM),
  // starts again on its own directory and comes back once it is ready and
  // the owners have settled. A client looking up meanwhile may be told 503
  // (its owner is stopping, or its task restoring), never a wrong value.
  std::vector<uint16_t> ports;
  for (DaemonProcess* d : live) ports.push_back(d->port());
  Prober client(oracle, as_of_after, ports);
  for (DaemonProcess* d : live) {
    client.Remove(d->port());
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // preStop: in-flight lookups finish
    d->proc().Signal(SIGTERM);
    ASSERT_EQ(d->proc().Wait(std::chrono::seconds(30)), 0) << ReadFile(d->log());
    d->Start();
    ASSERT_TRUE(WaitFor([&] { return d->WaitReady(std::chrono::seconds(1)) && HeldTasks(d->port()) > 0 &&
                                     OwnersSettled(live) && Committed(live) == InputEnds(broker.bootstrap()); },
                        std::chrono::seconds(90)))
        << "restarting port " << d->port() << ": " << Cluster(d->port()) << "\n" << ReadFile(d->log());
    client.Add(d->port());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  client.Stop();
  const std::map<std::string, size_t> refusals = client.refusals();
  size_t refused_in_restarts = 0;
  for (const auto& [why, n] : refusals) refused_in_restarts += n;
  std::printf("rolling restart of 3: %zu lookups answered right, %zu refused with 503, %zu wrong, %zu failed\n",
              client.answered.load(), refused_in_restarts, client.wrong.load(), client.failed.load());
  for (const auto& [why, n] : refusals) std::printf("  refused, %s: %zu\n", why.c_str(), n);
  EXPECT_EQ(client.wrong, 0u) << client.first_problem();
  EXPECT_EQ(client.failed, 0u) << client.first_problem();
  EXPECT_GT(client.answered, 1'000u);
  ExpectEveryAnswerRight(live, oracle, as_of_after, "after the rolling restart");
}

// kafka.item_repartition_topic set on a group and data directory that ran
// without it: the items' partial states from before stay in the inputs'
// shards, the events after it reach each item's state through the topic, and
// a lookup reads both. On one instance, holding every task, every user and
// item equals the oracle. (Across several instances an item's owner reads
// only the shards of the tasks it holds, so the partial states on the others
// would be missed: the README says to set it on a new group there.)
TEST(GroupTest, TheItemRepartitionTopicSetOnAnExistingGroupKeepsOneInstanceExact) {
  TempDir dir;
  BrokerProcess broker(dir.path(), kPartitions);
  ASSERT_TRUE(broker.Control(std::string("create ") + kItems + " " + std::to_string(kPartitions)));
  const uint16_t port = FreePort();
  Oracle oracle;
  {
    DaemonProcess before(dir.path(), broker.bootstrap(), port);
    LoadProducer load(broker.bootstrap(), &oracle, LoadOptions{.events = 8'000, .per_second = 8'000, .seed = 21});
    ASSERT_TRUE(load.Join());
    ASSERT_TRUE(WaitFor([&] { return before.CommittedTotal() == 8'000; }, std::chrono::seconds(60)))
        << "committed " << before.CommittedTotal();
    before.proc().Signal(SIGTERM);
    ASSERT_EQ(before.proc().Wait(std::chrono::seconds(30)), 0) << ReadFile(before.log());
  }
  DaemonProcess after(dir.path(), broker.bootstrap(), port,
                      std::string(DaemonProcess::kKafkaYaml) + "  item_repartition_topic: featmon.items\n");
  LoadProducer more(broker.bootstrap(), &oracle, LoadOptions{.events = 8'000, .per_second = 8'000, .seed = 22});
  ASSERT_TRUE(more.Join());
  ASSERT_TRUE(WaitFor([&] { return after.CommittedTotal() == InputEnds(broker.bootstrap()); }, std::chrono::seconds(60)))
      << "committed " << after.CommittedTotal() << " of " << InputEnds(broker.bootstrap());
  const int64_t rekeyed = InputEnds(broker.bootstrap()) - 16'000;
  EXPECT_GT(rekeyed, 7'000) << "the second half's views and clicks went through the repartition topic";
  auto [compared, diffs] = CompareWithOracle(after.port(), oracle, more.newest_ts_ms() + 1);
  EXPECT_EQ(compared, oracle.entities(EntityKind::kUser).size() + oracle.entities(EntityKind::kItem).size());
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, the first: " << diffs.front();
}

}  // namespace
}  // namespace featmon::testing
