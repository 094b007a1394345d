#include "features/feature_engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "tests/features/test_specs.h"

namespace featmon {
namespace {

using namespace featmon::testing;

class FeatureEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto compiled = FeatureSet::Compile(DefaultSpecs());
    ASSERT_TRUE(compiled.ok()) << compiled.status().ToString();
    set_ = std::make_unique<FeatureSet>(std::move(*compiled));
    engine_ = std::make_unique<FeatureEngine>(set_.get());
  }
  Event Ev(EventType type, std::string user, std::string item, int64_t ts) {
    Event e;
    e.type = type;
    e.user_id = std::move(user);
    e.item_id = std::move(item);
    e.ts_ms = ts;
    return e;
  }
  int FeatureIndex(EntityKind k, const std::string& name) {
    const auto& f = set_->features(k);
    for (size_t i = 0; i < f.size(); ++i)
      if (f[i].name == name) return static_cast<int>(i);
    ADD_FAILURE() << "no feature " << name;
    return 0;
  }
  FeatureValue Get(EntityKind k, const EntityState& s, const std::string& name, int64_t as_of) {
    return engine_->Read(k, {&s}, as_of)[FeatureIndex(k, name)];
  }
  std::unique_ptr<FeatureSet> set_;
  std::unique_ptr<FeatureEngine> engine_;
};

TEST_F(FeatureEngineTest, UnknownEntityGetsDefaults) {
  auto values = engine_->Read(EntityKind::kUser, {}, 1000 * kDay);
  EXPECT_EQ(values[FeatureIndex(EntityKind::kUser, "views_1h")].type, FeatureValue::Type::kInt);
  EXPECT_EQ(values[FeatureIndex(EntityKind::kUser, "views_1h")].i, 0);
  EXPECT_EQ(values[FeatureIndex(EntityKind::kUser, "ctr_24h")].type, FeatureValue::Type::kNull);
  EXPECT_EQ(values[FeatureIndex(EntityKind::kUser, "last_clicked_items")].type, FeatureValue::Type::kStrings);
  EXPECT_TRUE(values[FeatureIndex(EntityKind::kUser, "last_clicked_items")].strings.empty());
  EXPECT_EQ(values[FeatureIndex(EntityKind::kUser, "last_event_ts_ms")].type, FeatureValue::Type::kNull);
}

TEST_F(FeatureEngineTest, CountsCtrAndLatest) {
  const int64_t t0 = 1000 * kDay;
  EntityState user;
  for (int i = 0; i < 4; ++i) engine_->Apply(Ev(EventType::kView, "u", "i" + std::to_string(i), t0 + i), EntityKind::kUser, &user);
  engine_->Apply(Ev(EventType::kClick, "u", "i1", t0 + 10), EntityKind::kUser, &user);
  EXPECT_EQ(Get(EntityKind::kUser, user, "views_1h", t0 + kMin).i, 4);
  EXPECT_EQ(Get(EntityKind::kUser, user, "clicks_24h", t0 + kMin).i, 1);
  EXPECT_DOUBLE_EQ(Get(EntityKind::kUser, user, "ctr_24h", t0 + kMin).d, 0.25);
  EXPECT_EQ(Get(EntityKind::kUser, user, "distinct_items_viewed_24h", t0 + kMin).i, 4);
  EXPECT_EQ(Get(EntityKind::kUser, user, "last_event_ts_ms", t0 + kMin).i, t0 + 10);
  // Two hours on, the 1h window is empty, the 24h one is not.
  EXPECT_EQ(Get(EntityKind::kUser, user, "views_1h", t0 + 2 * kHour).i, 0);
  EXPECT_EQ(Get(EntityKind::kUser, user, "views_24h", t0 + 2 * kHour).i, 4);
  // Eight days on, everything windowed is gone and ctr is null again.
  EXPECT_EQ(Get(EntityKind::kUser, user, "views_7d", t0 + 8 * kDay).i, 0);
  EXPECT_EQ(Get(EntityKind::kUser, user, "ctr_7d", t0 + 8 * kDay).type, FeatureValue::Type::kNull);
}

TEST_F(FeatureEngineTest, LastClickedItemsNewestFirstDistinctCapped) {
  const int64_t t0 = 1000 * kDay;
  EntityState user;
  for (int i = 0; i < 30; ++i) engine_->Apply(Ev(EventType::kClick, "u", "i" + std::to_string(i), t0 + i * 1000), EntityKind::kUser, &user);
  engine_->Apply(Ev(EventType::kClick, "u", "i3", t0 + 100'000), EntityKind::kUser, &user);   // re-click moves to front
  engine_->Apply(Ev(EventType::kClick, "u", "i29", t0 + 50), EntityKind::kUser, &user);       // an older click changes nothing
  engine_->Apply(Ev(EventType::kClick, "u", "late", t0 + 15'500), EntityKind::kUser, &user);  // late but recent enough to rank
  auto items = Get(EntityKind::kUser, user, "last_clicked_items", t0 + kHour).strings;
  ASSERT_EQ(items.size(), 20u);
  EXPECT_EQ(items[0], "i3");
  EXPECT_EQ(items[1], "i29");
  EXPECT_EQ(items[14], "i16");
  EXPECT_EQ(items[15], "late");  // between i16 and i15
  EXPECT_EQ(std::count(items.begin(), items.end(), "i3"), 1);
  // One shard is read without a merge; with a second, empty one it is
  // merged: the same list, at as_of times that cut it too.
  const EntityState empty = NewEntityState(*set_, EntityKind::kUser);
  const int f = FeatureIndex(EntityKind::kUser, "last_clicked_items");
  for (int64_t as_of : {t0 + kHour, t0 + 15'500, t0 + 15'499, t0 + 3'000, t0 - 1})
    EXPECT_EQ(engine_->Read(EntityKind::kUser, {&user}, as_of)[f].strings,
              engine_->Read(EntityKind::kUser, {&user, &empty}, as_of)[f].strings)
        << as_of - t0;
}

// The window guarantee, checked against a naive scan of the raw
// events: with tile T the value at as_of counts every event in
// (as_of - W + T, as_of] and none at or before as_of - W - T.
TEST_F(FeatureEngineTest, WindowBoundsHoldOnRandomStreams) {
  std::mt19937_64 rng(42);
  const int64_t base = 2000 * kDay;
  struct Window { std::string name; int64_t w, t; };
  const Window windows[] = {{"views_1h", kHour, 5 * kMin}, {"views_24h", kDay, kHour}, {"views_7d", 7 * kDay, kHour}};
  for (int round = 0; round < 40; ++round) {
    EntityState item;
    std::vector<int64_t> ts;
    const int64_t span = (round % 3 == 0 ? 2 * kHour : 9 * kDay);
    int64_t stream_time = 0;
    for (int i = 0; i < 300; ++i) {
      int64_t t = base + static_cast<int64_t>(rng() % span);
      stream_time = std::max(stream_time, t);
      if (set_->IsLate(EventType::kView, t, stream_time)) continue;
      ts.push_back(t);
      engine_->Apply(Ev(EventType::kView, "u" + std::to_string(i), "x", t), EntityKind::kItem, &item);
    }
    // as_of at or after the newest event, as lookups at "now" are.
    for (int q = 0; q < 20; ++q) {
      int64_t as_of = stream_time + static_cast<int64_t>(rng() % (2 * kHour));
      for (const Window& w : windows) {
        int64_t must = 0, may = 0;
        for (int64_t t : ts) {
          if (t > as_of - w.w + w.t && t <= as_of) ++must;
          if (t > as_of - w.w - w.t) ++may;
        }
        int64_t got = Get(EntityKind::kItem, item, w.name, as_of).i;
        EXPECT_GE(got, must) << w.name << " round " << round;
        EXPECT_LE(got, may) << w.name << " round " << round;
      }
    }
  }
}

TEST_F(FeatureEngineTest, ShardsMergeLikeOneState) {
  const int64_t t0 = 1000 * kDay;
  EntityState whole, a, b;
  std::mt19937 rng(7);
  for (int i = 0; i < 500; ++i) {
    Event e = Ev(i % 5 == 0 ? EventType::kClick : EventType::kView, "u" + std::to_string(rng() % 40), "it", t0 + i * 1000);
    engine_->Apply(e, EntityKind::kItem, &whole);
    engine_->Apply(e, EntityKind::kItem, (i % 2 ? &a : &b));
  }
  auto merged = engine_->Read(EntityKind::kItem, {&a, &b}, t0 + kHour);
  auto single = engine_->Read(EntityKind::kItem, {&whole}, t0 + kHour);
  ASSERT_EQ(merged.size(), single.size());
  for (size_t i = 0; i < merged.size(); ++i) {
    EXPECT_EQ(merged[i].i, single[i].i) << set_->features(EntityKind::kItem)[i].name;
    EXPECT_DOUBLE_EQ(merged[i].d, single[i].d) << set_->features(EntityKind::kItem)[i].name;
  }
}

// ReadTiles splits a windowed count across shards into the tiles that add
// up to it; features that are not a windowed count or sum have no tiles.
TEST_F(FeatureEngineTest, TilesOfAWindowedCountAddUpToItAcrossShards) {
  const int64_t t0 = 1000 * kDay;
  EntityState a, b;
  for (int i = 0; i < 300; ++i)
    engine_->Apply(Ev(EventType::kView, "u" + std::to_string(i % 7), "it", t0 + i * 20'000), EntityKind::kItem,
                   i % 2 ? &a : &b);
  const int64_t as_of = t0 + 300 * 20'000;
  for (const char* name : {"views_1h", "views_24h"}) {
    const size_t f = FeatureIndex(EntityKind::kItem, name);
    ASSERT_NE(engine_->TiledSeries(EntityKind::kItem, f), nullptr) << name;
    const auto tiles = engine_->ReadTiles(EntityKind::kItem, {&a, &b}, f, as_of);
    ASSERT_FALSE(tiles.empty()) << name;
    double total = 0;
    for (size_t i = 0; i < tiles.size(); ++i) {
      if (i > 0) {
        EXPECT_LT(tiles[i - 1].first, tiles[i].first) << name << ": oldest first";
      }
      total += tiles[i].second;
    }
    EXPECT_EQ(total, static_cast<double>(engine_->Read(EntityKind::kItem, {&a, &b}, as_of)[f].i)) << name;
  }
  for (const char* name : {"ctr_24h", "distinct_users_viewed_24h", "last_event_ts_ms"}) {
    const size_t f = FeatureIndex(EntityKind::kItem, name);
    EXPECT_EQ(engine_->TiledSeries(EntityKind::kItem, f), nullptr) << name;
    EXPECT_TRUE(engine_->ReadTiles(EntityKind::kItem, {&a, &b}, f, as_of).empty()) << name;
  }
}

TEST_F(FeatureEngineTest, OldTilesArePruned) {
  const int64_t t0 = 1000 * kDay;
  EntityState user;
  for (int d = 0; d < 30; ++d) engine_->Apply(Ev(EventType::kView, "u", "i", t0 + d * kDay), EntityKind::kUser, &user);
  // hourly views series keeps at most 7 days of tiles
  EXPECT_LE(std::get<Tiles<int64_t>>(user.series[2]).size(), 8u);
  EXPECT_EQ(std::get<Tiles<int64_t>>(user.series[0]).size(), 1u);
}

TEST_F(FeatureEngineTest, StateRoundTripsThroughEncoding) {
  const int64_t t0 = 1000 * kDay;
  EntityState user;
  for (int i = 0; i < 3000; ++i)
    engine_->Apply(Ev(i % 4 ? EventType::kView : EventType::kClick, "u", "i" + std::to_string(i), t0 + i * 60'000), EntityKind::kUser, &user);
  std::string bytes;
  EncodeEntityState(*set_, EntityKind::kUser, user, &bytes);
  EntityState back;
  ASSERT_TRUE(DecodeEntityState(*set_, EntityKind::kUser, bytes, &back).ok());
  int64_t peek = 0;
  ASSERT_TRUE(PeekLastEventTs(bytes, &peek));
  EXPECT_EQ(peek, user.last_event_ts_ms);
  auto a = engine_->Read(EntityKind::kUser, {&user}, t0 + 3000 * 60'000);
  auto b = engine_->Read(EntityKind::kUser, {&back}, t0 + 3000 * 60'000);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].i, b[i].i);
    EXPECT_EQ(a[i].strings, b[i].strings);
  }
  // Every truncation is reported, never a crash.
  for (size_t cut = 0; cut < bytes.size(); cut += 7) {
    EntityState tmp;
    EXPECT_FALSE(DecodeEntityState(*set_, EntityKind::kUser, std::string_view(bytes).substr(0, cut), &tmp).ok());
  }
}

TEST_F(FeatureEngineTest, DecayedCountHalvesPerHalfLife) {
  FeatureSpec d = Spec("decayed", EntityKind::kUser, kClicks, Aggregation::kDecayedCount);
  d.half_life_ms = kHour;
  auto set = FeatureSet::Compile({d});
  ASSERT_TRUE(set.ok());
  FeatureEngine engine(&*set);
  EntityState s;
  const int64_t t0 = 1000 * kDay;
  engine.Apply(Ev(EventType::kClick, "u", "i", t0), EntityKind::kUser, &s);
  engine.Apply(Ev(EventType::kClick, "u", "i", t0 + kHour), EntityKind::kUser, &s);
  engine.Apply(Ev(EventType::kClick, "u", "i", t0 - kHour), EntityKind::kUser, &s);  // out of order
  EXPECT_NEAR(engine.Read(EntityKind::kUser, {&s}, t0 + kHour)[0].d, 1 + 0.5 + 0.25, 1e-12);
  EXPECT_NEAR(engine.Read(EntityKind::kUser, {&s}, t0 + 2 * kHour)[0].d, (1 + 0.5 + 0.25) / 2, 1e-12);
}

// bf86bbb answered any as_of: latest_timestamp ignored it, a tiled count or
// distinct count took the whole tile holding as_of (events after as_of too),
// and decayed_count extrapolated backwards (1.5e217 at now-30d, null at 1).
TEST_F(FeatureEngineTest, APastAsOfIsAnsweredOnlyWhereTheStateIsExact) {
  const int64_t t0 = 1000 * kDay;  // tile-aligned for every tile width
  EntityState user;
  for (int64_t m : {1, 3, 7}) engine_->Apply(Ev(EventType::kView, "u", "i" + std::to_string(m), t0 + m * kMin), EntityKind::kUser, &user);
  engine_->Apply(Ev(EventType::kClick, "u", "i3", t0 + 8 * kMin), EntityKind::kUser, &user);
  const int64_t latest = t0 + 8 * kMin;
  EXPECT_EQ(FeatureEngine::LatestEvent({&user}), latest);
  EXPECT_FALSE(engine_->CheckAsOf(EntityKind::kUser, {&user}, latest).has_value());
  EXPECT_FALSE(engine_->CheckAsOf(EntityKind::kUser, {&user}, latest + kDay).has_value());

  // Between events: the lifetime features cannot say what held then.
  auto inexact = engine_->CheckAsOf(EntityKind::kUser, {&user}, t0 + 4 * kMin);
  ASSERT_TRUE(inexact.has_value());
  EXPECT_NE(inexact->why.find("' can answer exactly"), std::string::npos) << inexact->why;
  // At the last millisecond of a tile, tiled features would be exact, but
  // views_1h keeps its 5-minute tiles for one hour before the latest event
  // only, and a window ending at 4:59.999 needs a tile older than that.
  EntityState views_only;
  for (int64_t m : {1, 3, 7}) engine_->Apply(Ev(EventType::kView, "u", "i", t0 + m * kMin), EntityKind::kUser, &views_only);
  EXPECT_FALSE(engine_->CheckAsOf(EntityKind::kUser, {&views_only}, t0 + 7 * kMin).has_value());
  auto ts = engine_->CheckAsOf(EntityKind::kUser, {&views_only}, t0 + 5 * kMin - 1);
  ASSERT_TRUE(ts.has_value());
  EXPECT_EQ(set_->features(EntityKind::kUser)[ts->feature].name, "views_1h")
      << "views_1h's tiles older than its window before the latest event are dropped: " << ts->why;
}

// Where CheckAsOf says exact, a read reflects exactly the events of the
// tiles it spans that lie at or before as_of: none after it. Random streams,
// every as_of on a 1-minute grid, against a naive scan.
TEST_F(FeatureEngineTest, AnExactPastReadNeverReflectsALaterEvent) {
  std::vector<FeatureSpec> specs = {
      Spec("views_1h", EntityKind::kUser, kViews, Aggregation::kCount, kHour),
      Spec("views_6h", EntityKind::kUser, kViews, Aggregation::kCount, 6 * kHour),
      Spec("distinct_1h", EntityKind::kUser, kViews, Aggregation::kApproxDistinct, kHour, EventField::kItemId)};
  specs[1].tile_ms = 5 * kMin;  // views_1h and views_6h share one series of 5-minute tiles kept for 6 h
  auto set = FeatureSet::Compile(specs);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  FeatureEngine engine(&*set);
  std::mt19937_64 rng(7);
  int exact_reads = 0, refused = 0;
  for (int round = 0; round < 20; ++round) {
    const int64_t t0 = 1000 * kDay;
    std::vector<Event> events;
    EntityState state;
    for (int i = 0; i < 40; ++i) {
      Event e = Ev(EventType::kView, "u", "i" + std::to_string(rng() % 50), t0 + static_cast<int64_t>(rng() % (8 * kHour)));
      events.push_back(e);
    }
    std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) { return a.ts_ms < b.ts_ms; });
    for (const Event& e : events) engine.Apply(e, EntityKind::kUser, &state);
    for (int64_t as_of = t0; as_of <= t0 + 9 * kHour; as_of += kMin - 1) {
      if (engine.CheckAsOf(EntityKind::kUser, {&state}, as_of)) {
        ++refused;
        continue;
      }
      ++exact_reads;
      auto values = engine.Read(EntityKind::kUser, {&state}, as_of);
      for (int f = 0; f < 2; ++f) {
        const int64_t window = f == 0 ? kHour : 6 * kHour;
        const int64_t from = (TileOf(as_of - window, 5 * kMin) + 1) * 5 * kMin;
        int64_t want = 0;
        for (const Event& e : events) want += e.ts_ms >= from && e.ts_ms <= as_of;
        ASSERT_EQ(values[f].i, want) << "feature " << f << " at as_of " << as_of - t0;
      }
      std::set<std::string> distinct;
      for (const Event& e : events)
        if (e.ts_ms >= (TileOf(as_of - kHour, 5 * kMin) + 1) * 5 * kMin && e.ts_ms <= as_of) distinct.insert(e.item_id);
      ASSERT_LE(std::abs(values[2].i - static_cast<int64_t>(distinct.size())), 1) << as_of - t0;
    }
  }
  std::printf("%d exact past reads checked, %d refused\n", exact_reads, refused);
  EXPECT_GT(exact_reads, 1000);
  EXPECT_GT(refused, 1000);
}

TEST_F(FeatureEngineTest, LifetimeFeaturesAreExactOnlyFromTheirLatestEvent) {
  std::vector<FeatureSpec> specs = {Spec("clicks_decayed", EntityKind::kItem, kClicks, Aggregation::kDecayedCount),
                                    Spec("last_ts", EntityKind::kItem, kClicks, Aggregation::kLatestTimestamp)};
  specs[0].half_life_ms = kHour;
  auto set = FeatureSet::Compile(specs);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  FeatureEngine engine(&*set);
  const int64_t t0 = 1000 * kDay;
  EntityState item;
  engine.Apply(Ev(EventType::kClick, "u", "i", t0), EntityKind::kItem, &item);
  engine.Apply(Ev(EventType::kClick, "u", "i", t0 + kHour), EntityKind::kItem, &item);
  EXPECT_FALSE(engine.CheckAsOf(EntityKind::kItem, {&item}, t0 + kHour).has_value());
  for (int64_t as_of : {int64_t{1}, t0 - 30 * kDay, t0 + kHour - 1}) {
    auto inexact = engine.CheckAsOf(EntityKind::kItem, {&item}, as_of);
    ASSERT_TRUE(inexact.has_value()) << as_of;
    EXPECT_EQ(inexact->feature, 0u);
    EXPECT_NE(inexact->why.find("read it at as_of_ms >= " + std::to_string(t0 + kHour)), std::string::npos) << inexact->why;
  }
}

}  // namespace
}  // namespace featmon
