// The monitoring pipeline against a scripted message source with high
// watermarks, a manual clock and a real RocksDB: how partitions that have not
// delivered anything yet hold the watermark, and when they stop holding it.
#include "daemon/monitor/monitor_pipeline.h"

#include <gtest/gtest.h>

#include <set>

#include "daemon/store/rocksdb_store.h"
#include "tests/daemon/scripted_source.h"
#include "tests/daemon/temp_dir.h"
#include "tools/traffic.h"

namespace featmon {
namespace {

using namespace featmon::testing;

class NullDeadLetters : public DeadLetterSink {
 public:
  Status Send(const InputMessage&, std::string_view, std::string_view) override { return Status::Ok(); }
  Status Flush(int) override { return Status::Ok(); }
};

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
    pipeline_ = std::make_unique<MonitorPipeline>(options, store_.get(), &dead_letters_, &retrain_, &metrics_, &clock_);
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
  int64_t Watermark() { return static_cast<int64_t>(metrics_.MonitorWatermark().Value() * 1000.0); }
  double Labels(const char* label) { return metrics_.LabelsMatured("ctr_ranker", label).Value(); }

  TempDir dir_;
  ManualClock clock_{kNow};
  Metrics metrics_{"test"};
  NullDeadLetters dead_letters_;
  NullRetrain retrain_;
  ScriptedSource source_;
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

}  // namespace
}  // namespace featmon
