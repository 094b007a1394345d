// The point-in-time join against a brute-force oracle over a random stream:
// every user and item count is recomputed from the events strictly before
// its prediction (under the tile rule), and every label from the rule
// itself: the latest unlabelled prediction before a click, within the
// window, by request_id or by user and item.
#include "training/point_in_time_join.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <random>

#include "tests/features/test_specs.h"

namespace featmon::training {
namespace {

using namespace featmon::testing;

struct Record {
  bool prediction = false;
  Event event;  // a view or click; for a prediction: user, item, request_id, ts_ms
  std::string model;
  double score = 0;
};

constexpr int64_t kStart = 1'700'000'000'000;
constexpr int64_t kWindow = 30 * kMin;
constexpr int64_t kLateness = 20 * kMin;

std::vector<Record> RandomStream(uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Record> out;
  std::vector<size_t> predictions;  // indices into out
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  for (int i = 0; i < 6000; ++i) {
    Record r;
    r.event.user_id = "u" + std::to_string(pick(12));
    r.event.item_id = "i" + std::to_string(pick(4));
    r.event.ts_ms = kStart + static_cast<int64_t>(rng() % kDay);
    const int kind = pick(10);
    if (kind < 3) {
      r.prediction = true;
      r.model = pick(3) == 0 ? "other" : "m";
      r.score = (pick(1000) + 1) / 1001.0;
      if (pick(2) == 0) r.event.request_id = "r" + std::to_string(i);
      predictions.push_back(out.size());
    } else {
      r.event.type = kind < 8 ? EventType::kView : EventType::kClick;
      if (r.event.type == EventType::kClick && !predictions.empty() && pick(2) == 0) {
        // A click on something a prediction showed, up to 40 minutes later (some past the window).
        const Record& shown = out[predictions[pick(static_cast<int>(predictions.size()))]];
        r.event.user_id = shown.event.user_id;
        r.event.item_id = shown.event.item_id;
        r.event.request_id = pick(3) == 0 ? "" : shown.event.request_id;
        r.event.ts_ms = shown.event.ts_ms + pick(40) * kMin;
      }
    }
    out.push_back(r);
  }
  // Events in the very millisecond of a prediction: they must not count in it.
  for (size_t i = 0; i < 300; ++i) {
    Record r = out[i];
    if (!r.prediction) continue;
    r.prediction = false;
    r.event.type = i % 2 ? EventType::kView : EventType::kClick;
    out.push_back(r);
  }
  std::stable_sort(out.begin(), out.end(), [](const Record& a, const Record& b) {
    return std::pair(a.event.ts_ms, !a.prediction) < std::pair(b.event.ts_ms, !b.prediction);
  });
  return out;
}

int64_t TileOf(int64_t ts, int64_t tile) { return ts >= 0 ? ts / tile : -((-ts + tile - 1) / tile); }

// A windowed count at as_of under the tile rule: tiles (as_of - window, as_of].
int64_t OracleCount(const std::vector<Record>& stream, size_t before, EntityKind kind, const std::string& id,
                    EventType type, int64_t as_of, int64_t window, int64_t tile) {
  int64_t n = 0;
  for (size_t i = 0; i < before; ++i) {
    const Record& r = stream[i];
    if (r.prediction || r.event.type != type || r.event.EntityId(kind) != id) continue;
    const int64_t t = TileOf(r.event.ts_ms, tile);
    if (t > TileOf(as_of - window, tile) && t <= TileOf(as_of, tile)) ++n;
  }
  return n;
}

// click_ts of the click that labels each prediction (by index), -1 for none.
std::vector<int64_t> OracleLabels(const std::vector<Record>& stream) {
  std::vector<int64_t> label(stream.size(), -1);
  for (size_t c = 0; c < stream.size(); ++c) {
    const Event& click = stream[c].event;
    if (stream[c].prediction || click.type != EventType::kClick) continue;
    // By request first (when the click has one), then by user and item.
    for (int by_request = click.request_id.empty() ? 0 : 1; by_request >= 0; --by_request) {
      int64_t best = -1;
      for (size_t p = 0; p < c; ++p) {
        const Record& r = stream[p];
        if (!r.prediction || label[p] >= 0 || r.event.item_id != click.item_id) continue;
        const bool key_matches = by_request ? r.event.request_id == click.request_id
                                            : r.event.request_id.empty() && r.event.user_id == click.user_id;
        if (!key_matches || click.ts_ms < r.event.ts_ms || click.ts_ms > r.event.ts_ms + kWindow) continue;
        if (best < 0 || r.event.ts_ms >= stream[best].event.ts_ms) best = static_cast<int64_t>(p);
      }
      if (best >= 0) {
        label[best] = click.ts_ms;
        break;
      }
    }
  }
  return label;
}

// Pairs the examples AddPrediction hands out with the labels that come out
// later, first in, first out, as featmon-export does; keeps the exported
// ones (label matured).
struct Collector {
  struct Exported {
    TrainingExample example;
    ExampleLabel label;
  };
  void Example(const TrainingExample* example) {
    if (example) unlabelled.push_back(*example);
  }
  void Labels(std::vector<ExampleLabel>* labels) {
    for (const ExampleLabel& label : *labels) {
      ASSERT_FALSE(unlabelled.empty()) << "a label before its example";
      EXPECT_EQ(label.ts_ms, unlabelled.front().ts_ms) << "a label carries its example's time";
      if (label.matured) exported.push_back({std::move(unlabelled.front()), label});
      else ++not_matured;
      unlabelled.pop_front();
    }
    labels->clear();
  }
  std::deque<TrainingExample> unlabelled;
  std::vector<Exported> exported;
  size_t not_matured = 0;
};

TEST(PointInTimeJoin, MatchesABruteForceOracle) {
  const FeatureSet set = *FeatureSet::Compile(DefaultSpecs());
  for (uint32_t seed : {1u, 2u, 3u}) {
    const std::vector<Record> stream = RandomStream(seed);
    PointInTimeJoin join(&set, "m", kWindow, kLateness);
    Collector collected;
    std::vector<ExampleLabel> labels;
    for (const Record& r : stream) {
      if (!r.prediction) {
        join.AddEvent(r.event, &labels);
        collected.Labels(&labels);
        continue;
      }
      drift::Prediction p;
      p.model = r.model;
      p.model_version = "v1";
      p.score = r.score;
      p.ts_ms = r.event.ts_ms;
      p.features = {{"user.views_24h", 1.0}};
      const TrainingExample* example =
          join.AddPrediction(r.event.request_id, r.event.user_id, r.event.item_id, std::move(p), &labels);
      EXPECT_EQ(example != nullptr, r.model == "m");
      collected.Labels(&labels);
      collected.Example(example);
    }
    const int64_t end = stream.back().event.ts_ms - kLateness;  // the watermark: the last labels are not due yet
    join.Finish(end, &labels);
    collected.Labels(&labels);
    EXPECT_EQ(join.counts().out_of_order, 0u);
    EXPECT_TRUE(collected.unlabelled.empty()) << "Finish labels every example";
    EXPECT_EQ(collected.not_matured, join.counts().not_matured);
    const std::vector<Collector::Exported>& examples = collected.exported;

    const std::vector<int64_t> oracle = OracleLabels(stream);
    size_t next = 0, expected_examples = 0, positives = 0;
    for (size_t i = 0; i < stream.size(); ++i) {
      const Record& r = stream[i];
      if (!r.prediction || r.model != "m") continue;
      const bool matured = oracle[i] >= 0 ? oracle[i] <= end : r.event.ts_ms + kWindow <= end;
      if (!matured) continue;
      ++expected_examples;
      ASSERT_LT(next, examples.size()) << "seed " << seed;
      const TrainingExample& ex = examples[next].example;
      const ExampleLabel& label = examples[next++].label;
      ASSERT_EQ(ex.ts_ms, r.event.ts_ms);
      ASSERT_EQ(ex.user_id, r.event.user_id);
      ASSERT_EQ(ex.item_id, r.event.item_id);
      ASSERT_EQ(ex.request_id, r.event.request_id);
      EXPECT_EQ(label.clicked, oracle[i] >= 0) << "seed " << seed << " prediction " << i;
      EXPECT_EQ(label.click_ts_ms, oracle[i]);
      positives += label.clicked;
      // First index at the prediction's millisecond that is not a prediction: events before it.
      size_t before = i;
      while (before > 0 && stream[before - 1].event.ts_ms == r.event.ts_ms) --before;
      for (EntityKind kind : {EntityKind::kUser, EntityKind::kItem}) {
        const auto& features = set.features(kind);
        const auto& values = kind == EntityKind::kUser ? ex.user : ex.item;
        ASSERT_EQ(values.size(), features.size());
        for (size_t f = 0; f < features.size(); ++f) {
          if (features[f].aggregation != Aggregation::kCount) continue;
          const SeriesSpec& series = set.series(kind)[features[f].series];
          const EventType type = features[f].name.rfind("views", 0) == 0 ? EventType::kView : EventType::kClick;
          const int64_t want = OracleCount(stream, before, kind, r.event.EntityId(kind), type, r.event.ts_ms - 1,
                                           features[f].window_ms, series.tile_ms);
          EXPECT_EQ(values[f].i, want) << "seed " << seed << " prediction " << i << " " << EntityKindName(kind)
                                       << "." << features[f].name;
        }
      }
    }
    EXPECT_EQ(examples.size(), expected_examples) << "seed " << seed;
    EXPECT_GT(positives, 20u) << "the stream exercises positives";
    EXPECT_LT(positives, expected_examples);
    EXPECT_GT(join.counts().not_matured, 0u);
    EXPECT_GT(join.counts().other_models, 0u);
  }
}

TEST(PointInTimeJoin, HandsOutExamplesAtOnceAndTheirLabelsInPredictionOrder) {
  const FeatureSet set = *FeatureSet::Compile(DefaultSpecs());
  PointInTimeJoin join(&set, "m", kWindow);
  std::vector<ExampleLabel> labels;
  drift::Prediction p;
  p.model = "m";
  p.ts_ms = kStart;
  const TrainingExample* first = join.AddPrediction("", "u1", "i1", drift::Prediction(p), &labels);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->user_id, "u1");
  p.ts_ms = kStart + 1;
  const TrainingExample* second = join.AddPrediction("", "u2", "i2", drift::Prediction(p), &labels);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->user_id, "u2");
  p.model = "other";
  EXPECT_EQ(join.AddPrediction("", "u3", "i3", drift::Prediction(p), &labels), nullptr) << "another model's is not exported";
  Event click;
  click.type = EventType::kClick;
  click.user_id = "u2";
  click.item_id = "i2";
  click.ts_ms = kStart + 5;
  join.AddEvent(click, &labels);
  join.Advance(kStart + 10, &labels);
  EXPECT_TRUE(labels.empty()) << "the second is labelled, but waits for the first";
  EXPECT_EQ(join.waiting(), 2u);
  join.Advance(kStart + kWindow, &labels);
  ASSERT_EQ(labels.size(), 2u);
  EXPECT_EQ(labels[0].ts_ms, kStart);
  EXPECT_EQ(labels[1].ts_ms, kStart + 1);
  EXPECT_TRUE(labels[0].matured);
  EXPECT_FALSE(labels[0].clicked);
  EXPECT_TRUE(labels[1].matured);
  EXPECT_TRUE(labels[1].clicked);
  EXPECT_EQ(labels[1].click_ts_ms, kStart + 5);
  EXPECT_EQ(join.waiting(), 0u);

  // Finish hands out what has not matured, marked so.
  labels.clear();
  p.model = "m";
  p.ts_ms = kStart + kWindow + 1;
  ASSERT_NE(join.AddPrediction("", "u4", "i4", drift::Prediction(p), &labels), nullptr);
  join.Finish(kStart + kWindow + 2, &labels);
  ASSERT_EQ(labels.size(), 1u);
  EXPECT_FALSE(labels[0].matured);
  EXPECT_EQ(join.counts().not_matured, 1u);
  EXPECT_EQ(join.counts().examples, 2u);
}

}  // namespace
}  // namespace featmon::training
