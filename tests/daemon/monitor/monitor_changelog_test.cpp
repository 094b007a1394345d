// The monitoring state through its changelog (kafka.monitor_changelog_topic),
// against the in-process mock cluster and real RocksDB stores: a featmond on
// a new data directory restores the monitoring of another and reports the
// same, resuming the partitions where that one's commit stood; the one it
// took over can no longer commit; a restart on its own store reads only the
// changelog's tail; labeled examples reach their topic once across a
// handover, whatever the old owner's last records did. (A missing topic is
// not tested here: the mock cluster creates topics when asked for them.)
#include "daemon/monitor/monitor_changelog.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "daemon/kafka/embedded_broker.h"
#include "daemon/monitor/monitor_pipeline.h"
#include "daemon/store/rocksdb_store.h"
#include "tests/daemon/monitor/fake_outbox_sink.h"
#include "tests/daemon/null_dead_letters.h"
#include "tests/daemon/scripted_source.h"
#include "tests/daemon/temp_dir.h"
#include "tools/traffic.h"

namespace featmon {
namespace {

using namespace featmon::testing;

constexpr char kTopic[] = "featmon.monitor-changelog";
constexpr int64_t kNow = 1'700'000'000'000;
constexpr int64_t kStep = 30'000;                // between predictions
constexpr int64_t kBase = kNow - 2 * 3'600'000;  // the first prediction's time: all 200 are in the past

class NullRetrain : public RetrainSink {
 public:
  Status Publish(const drift::RetrainRequest&) override { return Status::Ok(); }
  Status Flush(int) override { return Status::Ok(); }
};

// One featmond's monitoring: its own store and source, the shared changelog.
struct Instance {
  // `examples_to` (may be null: a topic of its own) is the examples topic.
  Instance(const std::string& bootstrap, const std::string& name, const ManualClock* clock, Metrics* metrics,
           TempDir* dir, const std::string& changelog_topic, FakeTopic* examples_to = nullptr)
      : examples(examples_to ? examples_to : &examples_topic) {
    store = std::move(*RocksDbStore::Open({dir->path()}));
    MonitorPipelineOptions options;
    options.commit_interval_ms = 1'000'000;  // commits only when the test asks
    pipeline = std::make_unique<MonitorPipeline>(options, store.get(), &dead_letters, &retrain, &examples, metrics,
                                                 clock);
    pipeline->set_source(&source);
    KafkaClientOptions kafka;
    kafka.brokers = bootstrap;
    auto topic = ChangelogTopic::Open(kafka, changelog_topic);
    EXPECT_TRUE(topic.ok()) << topic.status().ToString();
    auto changelog = std::make_unique<MonitorChangelog>(std::move(*topic), name, store.get());
    changelog_view = changelog.get();
    pipeline->set_changelog(std::move(changelog));
    source.report_high_watermarks = true;
  }
  // Load, then the assignment: the offsets each partition resumes at.
  std::vector<int64_t> Start() {
    Status loaded = pipeline->Load();
    EXPECT_TRUE(loaded.ok()) << loaded.ToString();
    std::vector<int64_t> starts;
    EXPECT_TRUE(pipeline->OnAssigned({{"predictions", 0}, {"clicks", 0}}, &starts).ok());
    return starts;
  }
  // Predictions [from, to) of user u<k> at kBase + k * 30 s, a click 10 s
  // after each even one; the source's offsets follow the ones before.
  void Traffic(int from, int to) {
    for (int k = from; k < to; ++k) {
      GeneratedPrediction p;
      p.request_id = "r" + std::to_string(k);
      p.user_id = "u" + std::to_string(k);
      p.item_id = "i1";
      p.model = "ctr_ranker";
      p.model_version = "v1";
      p.score = k % 2 ? 0.2 : 0.6;
      p.ts_ms = kBase + k * kStep;
      source.Append("predictions", 0, EncodePrediction(p, WireFormat::kProtobuf));
      if (k % 2) continue;
      Event e;
      e.type = EventType::kClick;
      e.request_id = p.request_id;
      e.user_id = p.user_id;
      e.item_id = "i1";
      e.ts_ms = p.ts_ms + 10'000;
      source.Append("clicks", 0, EncodeEvent(e, WireFormat::kProtobuf));
    }
  }

  NullDeadLetters dead_letters;
  NullRetrain retrain;
  FakeTopic examples_topic;
  FakeOutboxSink examples;
  ScriptedSource source;
  std::unique_ptr<RocksDbStore> store;
  std::unique_ptr<MonitorPipeline> pipeline;
  MonitorChangelog* changelog_view = nullptr;
};

class MonitorChangelogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto broker = EmbeddedBroker::Start({1, 1, {kTopic, std::string(kTopic) + ".solo"}});
    ASSERT_TRUE(broker.ok()) << broker.status().ToString();
    broker_ = std::move(*broker);
  }
  std::unique_ptr<Instance> Make(const std::string& name, TempDir* dir, const std::string& topic = kTopic,
                                 FakeTopic* examples_to = nullptr) {
    return std::make_unique<Instance>(broker_->bootstrap(), name, &clock_, &metrics_, dir, topic, examples_to);
  }
  // One instance reading all 200 predictions in the tests' steps (100, 60,
  // 40), alone on its changelog: what any handover must add up to.
  std::unique_ptr<Instance> Solo(TempDir* dir) {
    auto solo = Make("solo", dir, "featmon.monitor-changelog.solo");
    solo->Start();
    for (const auto& [from, to] : {std::pair{0, 100}, {100, 160}, {160, 200}}) {
      solo->Traffic(from, to);
      ReadAndCommit(*solo);
    }
    return solo;
  }
  // Reads everything queued, then lets the labels mature, then commits.
  void ReadAndCommit(Instance& in) {
    ASSERT_TRUE(in.pipeline->RunOnce(0).ok());
    clock_.AdvanceMs(31'000);
    ASSERT_TRUE(in.pipeline->RunOnce(0).ok());
    Status st = in.pipeline->Commit();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  ManualClock clock_{kNow};
  Metrics metrics_{"test"};
  std::unique_ptr<EmbeddedBroker> broker_;
};

TEST_F(MonitorChangelogTest, ANewDataDirectoryRestoresAnothersMonitoringAndTakesItOver) {
  TempDir dir_a, dir_b;
  auto a = Make("a", &dir_a);
  EXPECT_EQ(a->Start(), (std::vector<int64_t>{-1, -1}));  // nothing stored, nothing in the changelog
  a->Traffic(0, 100);
  ReadAndCommit(*a);
  a->Traffic(100, 160);  // the first half of these labels matures in the second commit
  ReadAndCommit(*a);
  const auto report = a->pipeline->ModelReport("ctr_ranker");
  ASSERT_TRUE(report.has_value());
  ASSERT_NE(report->find("\"predictions\":160"), std::string::npos) << *report;

  auto b = Make("b", &dir_b);
  // Where a's last commit stood: 160 predictions and 80 clicks read.
  EXPECT_EQ(b->Start(), (std::vector<int64_t>{160, 80}));
  EXPECT_EQ(b->pipeline->ModelReport("ctr_ranker"), report) << "b does not report what a did";
  EXPECT_GT(b->changelog_view->restored().states, 0u);

  // b claimed the state: a's next commit does not count, and says why.
  a->Traffic(160, 170);
  ASSERT_TRUE(a->pipeline->RunOnce(0).ok());
  Status refused = a->pipeline->Commit();
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("taken over"), std::string::npos) << refused.ToString();
  EXPECT_TRUE(a->changelog_view->taken_over());

  // b reads on from a's offsets (the source drops what is before them, as
  // the consumer's seek does) and commits; c, on another new directory, then
  // restores b's.
  b->Traffic(0, 200);
  ASSERT_TRUE(b->source.Resume({{{"predictions", 0}, 160}, {{"clicks", 0}, 80}}).ok());
  ReadAndCommit(*b);
  TempDir dir_c;
  auto c = Make("c", &dir_c);
  EXPECT_EQ(c->Start(), (std::vector<int64_t>{200, 100}));
  EXPECT_EQ(c->pipeline->ModelReport("ctr_ranker"), b->pipeline->ModelReport("ctr_ranker"));

  // And that is what one instance reading all 200 in the same steps reports.
  TempDir dir_solo;
  auto solo = Solo(&dir_solo);
  EXPECT_EQ(b->pipeline->ModelReport("ctr_ranker"), solo->pipeline->ModelReport("ctr_ranker"));
}

TEST_F(MonitorChangelogTest, ARestartOnItsOwnStoreReadsOnlyTheChangelogsTail) {
  TempDir dir;
  auto a = Make("a", &dir);
  a->Start();
  a->Traffic(0, 100);
  ReadAndCommit(*a);
  a->Traffic(100, 200);
  ReadAndCommit(*a);
  const auto report = a->pipeline->ModelReport("ctr_ranker");
  ASSERT_TRUE(a->changelog_view->restored().records <= 1u);  // its first claim at most
  a.reset();  // stopped; its store stays

  auto again = Make("a", &dir);
  EXPECT_EQ(again->Start(), (std::vector<int64_t>{200, 100}));
  EXPECT_EQ(again->pipeline->ModelReport("ctr_ranker"), report);
  // Everything up to its last marker was its own and is in its store.
  EXPECT_EQ(again->changelog_view->restored().states, 0u);
}


// The outbox's stored examples travel in the changelog: the new owner reads
// the examples topic back and produces only what the old one's records did
// not bring there.
TEST_F(MonitorChangelogTest, ExamplesReachTheirTopicOnceAcrossAHandover) {
  FakeTopic shared;
  TempDir dir_a, dir_b;
  auto a = Make("a", &dir_a, kTopic, &shared);
  a->Start();
  a->Traffic(0, 100);
  ReadAndCommit(*a);  // its examples are produced after this commit
  a->examples.WriteWithoutReports();  // the broker took them; their reports never came back
  a->Traffic(100, 160);
  ReadAndCommit(*a);  // stores the next examples with those of unknown fate, then produces them
  const size_t in_topic = shared.All().size();
  ASSERT_GT(in_topic, 0u);
  ASSERT_GT(a->examples.in_flight(), 0u) << "the second commit's examples should still be queued";
  a.reset();  // gone with them queued: they never reach the topic

  auto b = Make("b", &dir_b, kTopic, &shared);
  EXPECT_EQ(b->Start(), (std::vector<int64_t>{160, 80}));
  b->Traffic(0, 200);
  ASSERT_TRUE(b->source.Resume({{{"predictions", 0}, 160}, {{"clicks", 0}, 80}}).ok());
  ReadAndCommit(*b);
  ReadAndCommit(*b);  // the deliveries of the last produce are confirmed
  EXPECT_EQ(b->examples.read_backs, 1);

  // One instance reading all 200 in the same steps, nothing lost on the way.
  TempDir dir_solo;
  auto solo = Solo(&dir_solo);
  ReadAndCommit(*solo);
  auto values = [](const FakeTopic& topic) {
    std::vector<std::string> out;
    for (const FakeRecord& r : topic.All()) out.push_back(r.value);
    std::sort(out.begin(), out.end());
    return out;
  };
  const auto expected = values(solo->examples_topic);
  ASSERT_GT(expected.size(), in_topic);
  EXPECT_EQ(values(shared), expected) << "examples lost or repeated across the handover";
}

}  // namespace
}  // namespace featmon
