// Seasonal traffic through real processes (issue 14): featmon-broker and
// featmond with the default monitoring config, fed two days and a bit of a
// stream whose traffic, feature means, device mix and CTR follow the hour of
// day (tools/seasonal_stream, a calibrated model). The second day, the first
// with verdicts, raises no retrain request; then a feature shifts by 0.6 sd
// (PSI about 0.3) while the model starts under-predicting, and featmond asks
// for retraining within 30 minutes of event time, naming that feature. The
// week-long and per-million figures are bench/alarm_bench's.
#include "featmon/v1/events.pb.h"
#include "tests/daemon/temp_dir.h"
#include "tests/integration/harness.h"
#include "tests/integration/monitoring_check.h"
#include "tools/producer.h"
#include "tools/seasonal_stream.h"
#include "tools/traffic.h"

namespace featmon::testing {
namespace {

constexpr int64_t kMinuteMs = 60'000, kHourMs = 60 * kMinuteMs, kDayMs = 24 * kHourMs;

TEST(SeasonalMonitoringTest, ASeasonalDayRaisesNothingAndAShiftIsCaughtWithin30Minutes) {
  TempDir dir;
  BrokerProcess broker(dir.path(), 16);  // the mock broker keeps ~5 MiB a partition: 16 hold the stream
  const uint16_t port = FreePort();
  DaemonProcess daemon(dir.path(), broker.bootstrap(), port);
  ASSERT_TRUE(daemon.WaitReady(std::chrono::seconds(40))) << daemon.log();

  // Two days and an hour of event time, ending an hour ago; the change at
  // 00:15 on the third day.
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  tools::StreamShape shape;
  shape.seed = 61;
  shape.start_ms = (now - 2 * kDayMs - 2 * kHourMs) / kHourMs * kHourMs;
  shape.duration_ms = 2 * kDayMs + kHourMs;
  shape.predictions_per_s = 1.5;
  shape.traffic_amplitude = 0.3;
  const int64_t change_at = shape.start_ms + 2 * kDayMs + 15 * kMinuteMs;
  tools::SeasonalStream stream(shape, {tools::StreamChange::kBoth, change_at, 0.6, 1.3}, "ctr_ranker", "v1");

  auto producer = SimpleProducer::Create(broker.bootstrap());
  ASSERT_TRUE(producer.ok());
  tools::Tile tile;
  int64_t n = 0;
  while (stream.NextTile(&tile)) {
    for (size_t i = 0; i < tile.predictions.size(); ++i, ++n) {
      const drift::Prediction& p = tile.predictions[i];
      const GeneratedPrediction prediction{"r" + std::to_string(n), "u" + std::to_string(n % 5000),
                                           "i" + std::to_string(n % 700), p.model, p.model_version, p.score,
                                           p.ts_ms, p.features, p.cat_features};
      ASSERT_TRUE((*producer)
                      ->Send("predictions", prediction.user_id, EncodePrediction(prediction, WireFormat::kProtobuf))
                      .ok());
      const tools::SimLabel& label = tile.labels[i];
      if (!label.label.clicked) continue;
      // Read before or after its prediction: the label is the same.
      Event click{EventType::kClick, "c" + std::to_string(n), prediction.user_id, prediction.item_id,
                  prediction.request_id, "", label.due_ms};
      ASSERT_TRUE((*producer)->Send("clicks", click.user_id, EncodeEvent(click, WireFormat::kProtobuf)).ok());
    }
  }
  ASSERT_TRUE((*producer)->Flush(60'000).ok());
  std::printf("produced %lld predictions over %lld hours\n", static_cast<long long>(n),
              static_cast<long long>(shape.duration_ms / kHourMs));

  const int64_t end_watermark = shape.start_ms + shape.duration_ms - 2 * kMinuteMs;
  auto report = SettledReport(port, end_watermark);
  ASSERT_FALSE(report.is_discarded() || report.is_null()) << daemon.log();
  const auto& v1 = report["versions"]["v1"];
  EXPECT_EQ(report["reference_kind"], "seasonal");

  auto records = ReadTopic(broker.bootstrap(), "featmon.retrain", 1, std::chrono::seconds(20));
  ASSERT_FALSE(records.empty()) << "no retrain request; see " << daemon.log();
  records = ReadTopic(broker.bootstrap(), "featmon.retrain", 20, std::chrono::seconds(2));
  v1::RetrainRequest first;
  for (const auto& r : records) {
    v1::RetrainRequest request;
    ASSERT_TRUE(request.ParseFromString(r.payload));
    EXPECT_GT(request.event_time_ms(), change_at) << "a false request on seasonal traffic: " << request.DebugString();
    if (first.event_time_ms() == 0 || request.event_time_ms() < first.event_time_ms()) first = request;
  }
  std::printf("retrain request %lld minutes after the change\n",
              static_cast<long long>((first.event_time_ms() - change_at) / kMinuteMs));
  EXPECT_LE(first.event_time_ms() - change_at, 30 * kMinuteMs);
  bool names_the_feature = false;
  for (const auto& reason : first.reasons()) names_the_feature |= reason.feature() == "stable_a";
  EXPECT_TRUE(names_the_feature) << first.DebugString();
  // The features that follow the day are not drift; the shifted one is.
  for (const auto& f : v1["features"]) {
    if (f["feature"] == "stable_a") EXPECT_EQ(f["status"], "drift") << f.dump();
    else EXPECT_NE(f["status"], "drift") << f.dump();
    EXPECT_EQ(f["seasonal_hours_learned"], 24) << f.dump();
  }
}

}  // namespace
}  // namespace featmon::testing
