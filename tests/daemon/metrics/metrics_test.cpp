// Monitoring series: set, exposed under Prometheus names, and removed with
// their model_version.
#include "daemon/metrics/metrics.h"
#include "daemon/metrics/histogram_batch.h"

#include <gtest/gtest.h>

namespace featmon {
namespace {

TEST(MetricsTest, ModelVersionSeriesAreRemovedWithTheVersion) {
  Metrics m("test");
  m.SetDriftScore("ranker", "v1", "data", "age", "psi", 0.25);
  m.SetDriftDetected("ranker", "v1", "data", "age", true);
  m.SetModelPerformance("ranker", "v1", 0.2, 0.9, 1.1, 0.7);
  m.SetDriftScore("ranker", "v2", "data", "age", "psi", 0.01);
  m.RetrainRequests("ranker", "data_drift").Increment();
  std::string text = m.Serialize();
  EXPECT_NE(text.find("featmon_drift_score{feature=\"age\",model=\"ranker\",model_version=\"v1\",signal=\"data\",statistic=\"psi\"} 0.25"),
            std::string::npos) << text;
  EXPECT_NE(text.find("featmon_drift_detected{feature=\"age\",model=\"ranker\",model_version=\"v1\",signal=\"data\"} 1"), std::string::npos);
  EXPECT_NE(text.find("featmon_model_calibration_ratio{model=\"ranker\",model_version=\"v1\"} 1.1"), std::string::npos);
  EXPECT_NE(text.find("featmon_retrain_requests_total{model=\"ranker\",reason=\"data_drift\"} 1"), std::string::npos);

  m.RemoveModelVersion("ranker", "v1");
  text = m.Serialize();
  EXPECT_EQ(text.find("model_version=\"v1\""), std::string::npos) << text;
  EXPECT_NE(text.find("model_version=\"v2\""), std::string::npos);
  m.RemoveModelVersion("ranker", "v1");  // twice is harmless
}

// A batch lands in the same buckets as one Observe per value would, bounds inclusive.
TEST(HistogramBatchTest, MatchesObservingEachValue) {
  const prometheus::Histogram::BucketBoundaries bounds = {0.01, 0.1, 1};
  prometheus::Histogram one_by_one(bounds), batched(bounds);
  HistogramBatch batch(&batched, bounds);
  const std::pair<double, uint64_t> values[] = {{0.005, 3}, {0.01, 2}, {0.05, 1}, {1.0, 4}, {7.0, 2}, {0.2, 0}};
  for (auto [v, n] : values) {
    for (uint64_t i = 0; i < n; ++i) one_by_one.Observe(v);
    batch.Add(v, n);
  }
  batch.Flush();
  batch.Flush();  // nothing added since: changes nothing
  const auto want = one_by_one.Collect().histogram, got = batched.Collect().histogram;
  EXPECT_EQ(got.sample_count, 12u);
  EXPECT_EQ(got.sample_count, want.sample_count);
  EXPECT_DOUBLE_EQ(got.sample_sum, want.sample_sum);
  ASSERT_EQ(got.bucket.size(), want.bucket.size());
  for (size_t i = 0; i < got.bucket.size(); ++i) EXPECT_EQ(got.bucket[i].cumulative_count, want.bucket[i].cumulative_count) << i;
}

TEST(MetricsTest, EventTimeLagIsPerPartitionAndRemovable) {
  Metrics m("test");
  auto& lag = m.EventTimeLag("views", 3);
  lag.Set(1.5);
  EXPECT_NE(m.Serialize().find("featmon_event_time_lag_seconds{partition=\"3\",topic=\"views\"} 1.5"), std::string::npos);
  m.RemoveEventTimeLag(&lag);
  EXPECT_EQ(m.Serialize().find("featmon_event_time_lag_seconds{"), std::string::npos);
}

}  // namespace
}  // namespace featmon
