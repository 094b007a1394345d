// Deltas (issue 12, target 5): a base state plus the deltas of every commit
// since merges into exactly the state the engine holds, byte for byte, and a
// hot entity's delta carries its current tile, not its history.
#include <gtest/gtest.h>

#include <random>

#include "features/entity_state.h"
#include "features/feature_engine.h"
#include "tests/features/test_specs.h"

namespace featmon {
namespace {

using namespace featmon::testing;

class EntityDeltaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<FeatureSpec> specs = DefaultSpecs();
    FeatureSpec decayed = Spec("clicks_decayed", EntityKind::kItem, kClicks, Aggregation::kDecayedCount);
    decayed.half_life_ms = kHour;
    specs.push_back(decayed);
    specs.push_back(Spec("value_sum_1h", EntityKind::kItem, kViews, Aggregation::kSum, kHour, EventField::kValue));
    set_ = std::make_unique<FeatureSet>(*FeatureSet::Compile(specs));
  }
  static Event Ev(EventType type, int64_t ts, int user, int item) {
    Event e;
    e.type = type;
    e.user_id = "u" + std::to_string(user);
    e.item_id = "i" + std::to_string(item);
    e.ts_ms = ts;
    e.value = 0.5 * item;
    return e;
  }
  std::string Full(EntityKind kind, const EntityState& s) {
    std::string out;
    EncodeEntityState(*set_, kind, s, &out);
    return out;
  }
  std::unique_ptr<FeatureSet> set_;
};

// Random streams with late events, gaps long enough to prune every tile and
// commits at random points, for both kinds; the merge must equal the state.
TEST_F(EntityDeltaTest, BasePlusDeltasMergesIntoTheEngineState) {
  FeatureEngine engine(set_.get());
  std::mt19937_64 rng(7);
  for (EntityKind kind : {EntityKind::kUser, EntityKind::kItem}) {
    for (int round = 0; round < 200; ++round) {
      EntityState state = NewEntityState(*set_, kind);
      int64_t now = 1000 * kDay;
      const int warmup = static_cast<int>(rng() % 5);
      for (int i = 0; i < warmup; ++i) engine.Apply(Ev(EventType::kView, now += kMin, 1, i), kind, &state);
      const bool has_base = !state.empty();
      const std::string base = Full(kind, state);
      std::vector<std::string> deltas;
      StateChanges changes;
      const int events = 1 + static_cast<int>(rng() % 60);
      for (int i = 0; i < events; ++i) {
        const uint64_t dice = rng() % 100;
        if (dice < 5) now += 8 * kDay;                                   // every window's tiles go
        else if (dice < 30) now += static_cast<int64_t>(rng() % (3 * kHour));
        const int64_t ts = dice >= 90 ? now - static_cast<int64_t>(rng() % (2 * kDay)) : now;  // late
        const EventType type = rng() % 3 == 0 ? EventType::kClick : EventType::kView;
        engine.Apply(Ev(type, ts, static_cast<int>(rng() % 50), static_cast<int>(rng() % 50)), kind, &state, &changes);
        if (rng() % 4 == 0 || i + 1 == events) {
          std::string delta;
          EncodeEntityDelta(*set_, kind, state, changes, &delta);
          deltas.push_back(std::move(delta));
          changes = StateChanges{};
        }
      }
      std::vector<std::string_view> operands(deltas.begin(), deltas.end());
      const std::string_view base_view(base);
      std::string merged;
      ASSERT_TRUE(MergeEntityValues(*set_, kind, has_base ? &base_view : nullptr, operands, &merged).ok());
      ASSERT_EQ(merged, Full(kind, state)) << "kind " << static_cast<int>(kind) << " round " << round;
      // Operands merged in two steps (as RocksDB may, across compactions) give the same.
      std::string first_half;
      const size_t half = operands.size() / 2;
      ASSERT_TRUE(MergeEntityValues(*set_, kind, has_base ? &base_view : nullptr,
                                    {operands.begin(), operands.begin() + static_cast<long>(half)}, &first_half).ok());
      const std::string_view first_view(first_half);
      std::string second;
      ASSERT_TRUE(MergeEntityValues(*set_, kind, &first_view, {operands.begin() + static_cast<long>(half), operands.end()},
                                    &second).ok());
      ASSERT_EQ(second, merged);
    }
  }
}

TEST_F(EntityDeltaTest, AHotItemsDeltaCarriesItsCurrentTileNotItsHistory) {
  FeatureEngine engine(set_.get());
  EntityState item = NewEntityState(*set_, EntityKind::kItem);
  const int64_t start = 1000 * kDay;
  for (int m = 0; m < 20 * 60; ++m)  // 20 hours, 40 viewers a minute
    for (int u = 0; u < 40; ++u) engine.Apply(Ev(EventType::kView, start + m * kMin, m * 40 + u, 1), EntityKind::kItem, &item);
  StateChanges changes;
  engine.Apply(Ev(EventType::kView, start + 20 * kHour, 99'999, 1), EntityKind::kItem, &item, &changes);
  std::string delta;
  EncodeEntityDelta(*set_, EntityKind::kItem, item, changes, &delta);
  const std::string full = Full(EntityKind::kItem, item);
  EXPECT_LT(delta.size() * 10, full.size()) << "delta " << delta.size() << " bytes, full state " << full.size();
}

TEST_F(EntityDeltaTest, WhatCannotBeMergedSaysSoAndDecodesAsCorruption) {
  std::string merged;
  const std::vector<std::string_view> bad = {std::string_view("\x02\x01", 2)};
  Status st = MergeEntityValues(*set_, EntityKind::kUser, nullptr, bad, &merged);
  ASSERT_FALSE(st.ok());
  std::string marker;
  EncodeUnmergeable(st.message(), &marker);
  EntityState out;
  Status decoded = DecodeEntityState(*set_, EntityKind::kUser, marker, &out);
  EXPECT_EQ(decoded.code(), StatusCode::kCorruption);
  EXPECT_NE(decoded.message().find("could not be applied"), std::string::npos) << decoded.message();
  int64_t ts;
  EXPECT_FALSE(PeekLastEventTs(marker, &ts));  // the expiry filter leaves it for the quarantine
}

}  // namespace
}  // namespace featmon
