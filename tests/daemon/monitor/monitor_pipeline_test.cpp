// The monitoring pipeline against a scripted message source with high
// watermarks, a manual clock and a real RocksDB: how partitions that have not
// delivered anything yet hold the watermark, and when they stop holding it.
#include "daemon/monitor/monitor_pipeline.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "daemon/store/rocksdb_store.h"
#include "featmon/v1/events.pb.h"
#include "tests/daemon/monitor/fake_outbox_sink.h"
#include "tests/daemon/null_dead_letters.h"
#include "tests/daemon/scripted_source.h"
#include "tests/daemon/temp_dir.h"
#include "tools/traffic.h"

namespace featmon {
namespace {

using namespace featmon::testing;

class NullRetrain : public RetrainSink {
 public:
  Status Publish(const drift::RetrainRequest&) override { return Status::Ok(); }
  Status Flush(int) override { return Status::Ok(); }
};

class MonitorPipelineTest : public ::testing::Test {
 protected:
  static constexpr int64_t kNow = 1'700'000'000'000;
  static constexpr int64_t kMinute = 60'000;
  static constexpr int64_t kBase = kNow - 2 * 60 * kMinute;  // the first prediction's event time

  void SetUp() override {
    store_ = std::move(*RocksDbStore::Open({dir_.path()}));
    MonitorPipelineOptions options;
    options.commit_interval_ms = 1'000'000;  // no commits needed here
    Make(options);
  }
  void Make(const MonitorPipelineOptions& options) {
    pipeline_.reset();
    pipeline_ = std::make_unique<MonitorPipeline>(options, store_.get(), &dead_letters_, &retrain_, examples_.get(),
                                                  &metrics_, &clock_);
    pipeline_->set_source(&source_);
    ASSERT_TRUE(pipeline_->Load().ok());
    source_.report_high_watermarks = true;  // the clicks partition is known to be empty
    std::vector<int64_t> starts;
    ASSERT_TRUE(pipeline_->OnAssigned({{"predictions", 0}, {"clicks", 0}}, &starts).ok());
  }
  // Prediction k: user u<k>, event time kBase + k minutes.
  void AddPredictions(int from, int to, const std::string& model = "ctr_ranker") {
    for (int k = from; k < to; ++k) {
      GeneratedPrediction p;
      p.request_id = "r" + std::to_string(k);
      p.user_id = "u" + std::to_string(k);
      p.item_id = "i1";
      p.model = model;
      p.model_version = "v1";
      p.score = 0.1;
      p.ts_ms = kBase + k * kMinute;
      source_.Append("predictions", 0, EncodePrediction(p, WireFormat::kProtobuf));
    }
  }
  std::set<std::string> StoredModels() {
    std::set<std::string> models;
    EXPECT_TRUE(store_->ScanMonitor([&](std::string_view key, std::string_view) {
      if (key.starts_with("m/")) models.insert(std::string(key.substr(2)));
      return Status::Ok();
    }).ok());
    return models;
  }
  // A click 10 s after each even prediction in [from, to).
  void AddClicks(int from, int to) {
    for (int k = from; k < to; ++k) {
      if (k % 2) continue;
      Event e;
      e.type = EventType::kClick;
      e.request_id = "r" + std::to_string(k);
      e.user_id = "u" + std::to_string(k);
      e.item_id = "i1";
      e.ts_ms = kBase + k * kMinute + 10'000;
      source_.Append("clicks", 0, EncodeEvent(e, WireFormat::kProtobuf));
    }
  }
  // The examples in the topic by request id, each parsed once.
  std::map<std::string, std::vector<v1::LabeledExample>> ExamplesByRequest() {
    std::map<std::string, std::vector<v1::LabeledExample>> out;
    for (const FakeRecord& r : examples_topic_.All()) {
      v1::LabeledExample ex;
      EXPECT_TRUE(ex.ParseFromString(r.value));
      EXPECT_EQ(r.key, ex.user_id());
      out[ex.request_id()].push_back(ex);
    }
    return out;
  }
  // Predictions 0..99 with clicks on the even ones, all matured.
  void MatureHundredLabels() {
    AddPredictions(0, 100);
    AddClicks(0, 100);
    ASSERT_TRUE(pipeline_->RunOnce(0).ok());
    clock_.AdvanceMs(31'000);
    ASSERT_TRUE(pipeline_->RunOnce(0).ok());
    ASSERT_EQ(Labels("clicked") + Labels("not_clicked"), 84);
  }
  // The process dies: no final commit, nothing flushed.
  void Crash(const MonitorPipelineOptions& options) {
    examples_ = std::make_unique<FakeOutboxSink>(&examples_topic_);
    Make(options);
  }
  int64_t Watermark() { return static_cast<int64_t>(metrics_.MonitorWatermark().Value() * 1000.0); }
  double Labels(const char* label) { return metrics_.LabelsMatured("ctr_ranker", label).Value(); }

  TempDir dir_;
  ManualClock clock_{kNow};
  Metrics metrics_{"test"};
  NullDeadLetters dead_letters_;
  NullRetrain retrain_;
  ScriptedSource source_;
  FakeTopic examples_topic_;
  std::unique_ptr<FakeOutboxSink> examples_ = std::make_unique<FakeOutboxSink>(&examples_topic_);
  std::unique_ptr<RocksDbStore> store_;
  std::unique_ptr<MonitorPipeline> pipeline_;
};

// Predictions read before the first clicks (a clicks batch still lingering in
// the producer, an empty clicks topic at start-up) must wait for them: a
// watermark over the predictions alone would mature every label unclicked.
TEST_F(MonitorPipelineTest, AnEmptyClicksPartitionHoldsTheWatermarkUntilItsFirstClicks) {
  AddPredictions(0, 100);
  ASSERT_TRUE(pipeline_->RunOnce(0).ok());
  EXPECT_EQ(Watermark(), 0) << "the clicks partition, assigned a moment ago, was taken for idle";
  EXPECT_EQ(Labels("clicked") + Labels("not_clicked"), 0);

  clock_.AdvanceMs(1'000);
  AddClicks(0, 100);
  ASSERT_TRUE(pipeline_->RunOnce(0).ok());
  EXPECT_GT(Watermark(), kBase);
  // The stream stops; once every partition is idle the watermark finishes it.
  clock_.AdvanceMs(31'000);
  ASSERT_TRUE(pipeline_->RunOnce(0).ok());
  EXPECT_EQ(Watermark(), kBase + 99 * kMinute - 30'000);
  // Every clicked prediction is labelled by its click; the unclicked ones
  // mature at prediction + 30 min, up to the watermark: the odd ones in 0..68.
  EXPECT_EQ(Labels("clicked"), 50);
  EXPECT_EQ(Labels("not_clicked"), 34);
}

// Flink's source idleness, from the assignment: a clicks partition that stays
// silent for partition_idle_timeout stops holding the predictions back.
TEST_F(MonitorPipelineTest, AClicksPartitionSilentSinceAssignmentStopsHoldingAfterTheIdleTimeout) {
  AddPredictions(0, 50);
  ASSERT_TRUE(pipeline_->RunOnce(0).ok());
  EXPECT_EQ(Watermark(), 0);
  clock_.AdvanceMs(29'000);
  AddPredictions(50, 60);
  ASSERT_TRUE(pipeline_->RunOnce(0).ok());
  EXPECT_EQ(Watermark(), 0) << "29 s of silence is within the 30 s idle timeout";
  clock_.AdvanceMs(2'000);
  AddPredictions(60, 70);
  ASSERT_TRUE(pipeline_->RunOnce(0).ok());
  EXPECT_EQ(Watermark(), kBase + 69 * kMinute - 30'000);
  EXPECT_EQ(Labels("clicked"), 0);
  EXPECT_EQ(Labels("not_clicked"), 39);  // predictions 0..38: deadline within the watermark
}

// GET /v1/monitoring/models: the watermark beside the reports is the one
// they were made at, so "every evaluation up to it is in" holds. CI once
// compared a report 256 predictions short with the live watermark, which had
// moved on with a read that crossed no evaluation boundary (the report
// waits for the next commit).
TEST_F(MonitorPipelineTest, TheReportsWatermarkIsTheOneTheyWereMadeAt) {
  auto snapshot = [&] { return nlohmann::json::parse(pipeline_->AllReports()); };
  auto predictions = [](const nlohmann::json& all) { return all["models"][0]["versions"]["v1"]["predictions"]; };
  MatureHundredLabels();
  ASSERT_TRUE(pipeline_->Commit().ok());
  const int64_t before = Watermark();
  ASSERT_EQ(snapshot()["watermark_ms"], before);
  ASSERT_EQ(predictions(snapshot()), 100);

  // One more minute of predictions: the watermark moves within one
  // evaluation period (5 min), so no evaluation publishes.
  AddPredictions(100, 101);
  ASSERT_TRUE(pipeline_->RunOnce(0).ok());
  ASSERT_EQ(Watermark(), before + kMinute);
  ASSERT_EQ(predictions(snapshot()), 100) << "published by an evaluation: this test needs none";
  EXPECT_EQ(snapshot()["watermark_ms"], before) << "the watermark ran ahead of its reports";

  ASSERT_TRUE(pipeline_->Commit().ok());
  EXPECT_EQ(predictions(snapshot()), 101);
  EXPECT_EQ(snapshot()["watermark_ms"], before + kMinute);

  // A click that labels nothing, once the predictions partition is idle,
  // moves only the watermark (20 s: no label matures, no evaluation): the
  // commit publishes it too.
  clock_.AdvanceMs(31'000);
  Event stray;
  stray.type = EventType::kClick;
  stray.request_id = "r-none";
  stray.user_id = "u-none";
  stray.item_id = "i1";
  stray.ts_ms = kBase + 100 * kMinute + 20'000;
  source_.Append("clicks", 0, EncodeEvent(stray, WireFormat::kProtobuf));
  ASSERT_TRUE(pipeline_->RunOnce(0).ok());
  ASSERT_EQ(Watermark(), before + kMinute + 20'000);
  ASSERT_TRUE(pipeline_->Commit().ok());
  EXPECT_EQ(snapshot()["watermark_ms"], before + kMinute + 20'000);
}

// Twenty junk names on the predictions topic took every slot of max_models
// for good on bf86bbb (persisted across restarts): the real model was never
// monitored. A model named in monitoring.models always has a slot, and a model
// unseen for version_ttl leaves, with its stored state, freeing its slot.
TEST_F(MonitorPipelineTest, JunkModelNamesCannotLockARealModelOut) {
  MonitorPipelineOptions options;
  options.commit_interval_ms = 1'000'000;
  options.max_models = 20;
  options.models["ctr_ranker"] = options.defaults;
  Make(options);
  for (int j = 0; j < 20; ++j) AddPredictions(j, j + 1, "junk" + std::to_string(j));
  AddPredictions(20, 22, "newcomer");
  AddPredictions(20, 60);  // ctr_ranker
  ASSERT_TRUE(pipeline_->RunOnce(0).ok());
  ASSERT_TRUE(pipeline_->Commit().ok());  // reports are published at commits and evaluations
  EXPECT_TRUE(pipeline_->ModelReport("ctr_ranker").has_value()) << "the configured model has no slot";
  EXPECT_FALSE(pipeline_->ModelReport("newcomer").has_value());
  EXPECT_EQ(metrics_.MonitorDropped("max_models").Value(), 2);  // newcomer's two predictions
  EXPECT_EQ(StoredModels().size(), 21u);

  // A day and more of ctr_ranker only: every junk model's one version expires.
  clock_.SetMs(kBase + 27 * 60 * kMinute);  // none of it in the future
  AddPredictions(60, 60 + 25 * 60);
  clock_.AdvanceMs(31'000);  // the empty clicks partition stops holding the watermark
  ASSERT_TRUE(pipeline_->RunOnce(0).ok());
  ASSERT_TRUE(pipeline_->RunOnce(0).ok());
  EXPECT_GT(Watermark(), kBase + 25 * 60 * kMinute);
  EXPECT_FALSE(pipeline_->ModelReport("junk0").has_value());
  ASSERT_TRUE(pipeline_->Commit().ok());
  EXPECT_EQ(StoredModels(), (std::set<std::string>{"ctr_ranker"}));
  EXPECT_EQ(metrics_.Serialize().find("model=\"junk0\""), std::string::npos) << "the junk model's series stayed";
  // Its slot is free for a newcomer.
  AddPredictions(60 + 25 * 60, 60 + 25 * 60 + 1, "newcomer");
  ASSERT_TRUE(pipeline_->RunOnce(0).ok());
  ASSERT_TRUE(pipeline_->Commit().ok());
  EXPECT_TRUE(pipeline_->ModelReport("newcomer").has_value());
}

// Every matured prediction becomes one LabeledExample on the examples topic,
// keyed by its user, with the label the monitor counted and the click's time.
TEST_F(MonitorPipelineTest, EachMaturedPredictionReachesTheExamplesTopicOnce) {
  MatureHundredLabels();
  ASSERT_TRUE(pipeline_->Commit().ok());  // stores the examples, then produces them
  ASSERT_TRUE(pipeline_->Commit().ok());  // stores their delivery
  const auto examples = ExamplesByRequest();
  ASSERT_EQ(examples.size(), 84u);
  for (int k = 0; k < 100; ++k) {
    auto it = examples.find("r" + std::to_string(k));
    const bool matured = k % 2 == 0 || k <= 67;  // clicked, or its 30 min ended before the watermark
    ASSERT_EQ(it != examples.end(), matured) << k;
    if (!matured) continue;
    ASSERT_EQ(it->second.size(), 1u) << k;
    const v1::LabeledExample& ex = it->second[0];
    EXPECT_EQ(ex.user_id(), "u" + std::to_string(k));
    EXPECT_EQ(ex.item_id(), "i1");
    EXPECT_EQ(ex.model(), "ctr_ranker");
    EXPECT_EQ(ex.model_version(), "v1");
    EXPECT_EQ(ex.ts_ms(), kBase + k * kMinute);
    EXPECT_EQ(ex.score(), 0.1);
    EXPECT_EQ(ex.label(), k % 2 == 0) << k;
    EXPECT_EQ(ex.click_ts_ms(), k % 2 == 0 ? kBase + k * kMinute + 10'000 : 0) << k;
  }
  EXPECT_EQ(metrics_.ExamplesDelivered("ctr_ranker").Value(), 84);
  EXPECT_EQ(metrics_.ExamplesWaiting().Value(), 0);
}

// When another instance takes the monitoring over, this one's series go:
// left, they would show its last values beside the new owner's.
TEST_F(MonitorPipelineTest, AHandedOverMonitoringLeavesNoSeriesOfItsModels) {
  MatureHundredLabels();
  ASSERT_TRUE(pipeline_->Commit().ok());
  ASSERT_NE(metrics_.Serialize().find("model=\"ctr_ranker\""), std::string::npos);
  ASSERT_GT(metrics_.MonitorWatermark().Value(), 0);
  pipeline_->DropSeries();
  const std::string after = metrics_.Serialize();
  EXPECT_EQ(after.find("model=\"ctr_ranker\""), std::string::npos) << after;
  // Where the group's dashboards take the maximum and the sums, the ex-owner
  // no longer counts.
  EXPECT_EQ(metrics_.MonitorWatermark().Value(), 0);
  EXPECT_EQ(metrics_.MonitorPendingLabels().Value(), 0);
  EXPECT_EQ(metrics_.ExamplesWaiting().Value(), 0);
}

// librdkafka serves delivery reports in every poll, producing included: a
// report can arrive before the commit asks, with nothing left in flight.
TEST_F(MonitorPipelineTest, DeliveriesReportedWhileProducingAreRecorded) {
  examples_->mode = FakeOutboxSink::Mode::kDeliverAtOnce;
  MatureHundredLabels();
  ASSERT_TRUE(pipeline_->Commit().ok());
  ASSERT_EQ(examples_->in_flight(), 0u);
  ASSERT_TRUE(pipeline_->Commit().ok());
  EXPECT_EQ(metrics_.ExamplesWaiting().Value(), 0);
  EXPECT_EQ(metrics_.ExamplesDelivered("ctr_ranker").Value(), 84);
  EXPECT_EQ(examples_topic_.All().size(), 84u);
}

TEST_F(MonitorPipelineTest, AModelWithExamplesOffWritesNone) {
  MonitorPipelineOptions options;
  options.commit_interval_ms = 1'000'000;
  options.models["ctr_ranker"].examples = false;
  Make(options);
  MatureHundredLabels();
  ASSERT_TRUE(pipeline_->Commit().ok());
  ASSERT_TRUE(pipeline_->Commit().ok());
  EXPECT_TRUE(examples_topic_.All().empty());
}

// The broker wrote the examples, and the process died before their delivery
// reports came back: the next process reads the topic back and produces none
// of them again.
TEST_F(MonitorPipelineTest, ExamplesTheBrokerTookBeforeACrashAreNotProducedAgain) {
  MonitorPipelineOptions options;
  options.commit_interval_ms = 1'000'000;
  MatureHundredLabels();
  ASSERT_TRUE(pipeline_->Commit().ok());
  examples_->WriteWithoutReports();
  Crash(options);
  EXPECT_EQ(metrics_.ExamplesWaiting().Value(), 84) << "restored from the store";
  ASSERT_TRUE(pipeline_->Commit().ok());
  EXPECT_EQ(examples_->read_backs, 1);
  ASSERT_TRUE(pipeline_->Commit().ok());
  auto examples = ExamplesByRequest();
  EXPECT_EQ(examples.size(), 84u);
  for (const auto& [request, list] : examples) EXPECT_EQ(list.size(), 1u) << request;
  EXPECT_EQ(metrics_.ExamplesWaiting().Value(), 0);
  // Their deletion was stored: a further restart has nothing to read back.
  Crash(options);
  ASSERT_TRUE(pipeline_->Commit().ok());
  EXPECT_EQ(examples_->read_backs, 0);
  EXPECT_EQ(examples_topic_.All().size(), 84u);
}

// Stored, then the topic refused them and the process died: the next process
// produces them, once.
TEST_F(MonitorPipelineTest, ExamplesStoredButNeverProducedAreProducedAfterACrash) {
  MonitorPipelineOptions options;
  options.commit_interval_ms = 1'000'000;
  examples_->mode = FakeOutboxSink::Mode::kRefuse;
  MatureHundredLabels();
  ASSERT_TRUE(pipeline_->Commit().ok());
  ASSERT_TRUE(examples_topic_.All().empty());
  Crash(options);
  ASSERT_TRUE(pipeline_->Commit().ok());
  ASSERT_TRUE(pipeline_->Commit().ok());
  auto examples = ExamplesByRequest();
  EXPECT_EQ(examples.size(), 84u);
  for (const auto& [request, list] : examples) EXPECT_EQ(list.size(), 1u) << request;
}

// A delivery that failed after the broker wrote the record (a lost answer):
// the topic is read back before anything is produced again.
TEST_F(MonitorPipelineTest, AFailedDeliveryThatWroteTheRecordIsNotRepeated) {
  MatureHundredLabels();
  ASSERT_TRUE(pipeline_->Commit().ok());
  examples_->mode = FakeOutboxSink::Mode::kFailAfterWriting;
  ASSERT_TRUE(pipeline_->Commit().ok());
  examples_->mode = FakeOutboxSink::Mode::kDeliver;
  EXPECT_EQ(examples_->read_backs, 1);
  ASSERT_TRUE(pipeline_->Commit().ok());
  auto examples = ExamplesByRequest();
  EXPECT_EQ(examples.size(), 84u);
  for (const auto& [request, list] : examples) EXPECT_EQ(list.size(), 1u) << request;
  EXPECT_EQ(metrics_.ExamplesDelivered("ctr_ranker").Value(), 84);
}

}  // namespace
}  // namespace featmon
