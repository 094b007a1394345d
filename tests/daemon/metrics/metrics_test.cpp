// Monitoring series: set, exposed under Prometheus names, and removed with
// their model_version.
#include "daemon/metrics/metrics.h"

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

}  // namespace
}  // namespace featmon
