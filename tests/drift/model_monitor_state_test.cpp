// A model's stored state stays bounded as history grows (issue 14): over a
// simulated week and more, performance tiles are kept only as far back as an
// evaluation reads them, and label tiles are pruned under every reference.
#include <cstdint>
#include <map>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "drift/monitor.h"
#include "tools/seasonal_stream.h"

namespace featmon::drift {
namespace {

constexpr int64_t kHourMs = 3'600'000, kDayMs = 24 * kHourMs;

struct StoredShape {
  size_t bytes = 0;
  size_t perf_tiles = 0;
  size_t label_tiles = 0;
  size_t most_data_tiles = 0;  // of any data or score track
};

// Feeds the stream to the monitor, labels as they mature, evaluating each
// tile; returns the stored state's shape at each whole day.
std::vector<StoredShape> RunDays(const MonitorOptions& options, int days) {
  Monitor monitor(options, {}, 4);
  tools::StreamShape shape;
  shape.seed = 5;
  shape.duration_ms = days * kDayMs;
  shape.predictions_per_s = 0.3;  // few predictions: the tiles, not their counts, are what is measured
  tools::SeasonalStream stream(shape);
  tools::MonitorDriver driver(&monitor);
  std::vector<StoredShape> by_day;
  tools::Tile tile;
  while (stream.NextTile(&tile)) {
    (void)driver.Feed(tile);
    if ((tile.end_ms - shape.start_ms) % kDayMs != 0) continue;
    const std::string bytes = monitor.SerializeModel("ranker");
    const auto state = nlohmann::json::from_msgpack(bytes);
    StoredShape s;
    s.bytes = bytes.size();
    const auto& version = state.at("versions").at(0);
    s.perf_tiles = version.at("perf").size();
    for (const auto& track : version.at("tracks")) {
      const size_t tiles = track.at("tiles").size();
      if (track.at("signal") == "label") s.label_tiles = tiles;
      else s.most_data_tiles = std::max(s.most_data_tiles, tiles);
    }
    by_day.push_back(s);
  }
  return by_day;
}

class BoundedState : public ::testing::TestWithParam<ReferenceKind> {};

TEST_P(BoundedState, TilesAreKeptOnlyAsFarBackAsAnEvaluationReads) {
  MonitorOptions options;
  options.reference = GetParam();
  options.profile = {{"features", nlohmann::json::object()}};
  const auto by_day = RunDays(options, 9);
  ASSERT_EQ(by_day.size(), 9u);
  const int64_t tiles_per_hour = kHourMs / options.evaluation_period_ms;
  // The current window and the matured-label window (one hour, 30 minutes
  // before it), and the tile being filled.
  const size_t perf_read = static_cast<size_t>(tiles_per_hour + tiles_per_hour / 2 + 2);
  size_t label_read = perf_read;
  if (GetParam() == ReferenceKind::kPreviousWindow) label_read += tiles_per_hour;
  if (GetParam() == ReferenceKind::kSameHourLastWeek) label_read += 7 * 24 * tiles_per_hour + tiles_per_hour;
  if (GetParam() == ReferenceKind::kSeasonal) label_read += tiles_per_hour;  // an hour waits to be learned
  for (size_t day = 0; day < by_day.size(); ++day) {
    SCOPED_TRACE("day " + std::to_string(day + 1) + " under " + ReferenceKindName(GetParam()));
    EXPECT_LE(by_day[day].perf_tiles, perf_read);
    EXPECT_LE(by_day[day].label_tiles, label_read);
  }
  // Past the reference's reach, the stored state stops growing.
  EXPECT_LE(by_day[8].bytes, by_day[7].bytes * 11 / 10);
  EXPECT_LE(by_day[8].most_data_tiles, by_day[7].most_data_tiles + 1);
}

INSTANTIATE_TEST_SUITE_P(EveryReference, BoundedState,
                         ::testing::Values(ReferenceKind::kFirstWindow, ReferenceKind::kPreviousWindow,
                                           ReferenceKind::kSameHourLastWeek, ReferenceKind::kProfile,
                                           ReferenceKind::kSeasonal),
                         [](const auto& info) { return std::string(ReferenceKindName(info.param)); });

}  // namespace
}  // namespace featmon::drift
