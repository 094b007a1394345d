// ReadWithTails must answer exactly what Read answers: the same type, the
// same integer, the same double to the last bit. Random streams over a few
// entities, mostly in time order with late events, idle gaps longer than
// the windows, distinct counts that go dense, and reads at the replay's time
// (where tails answer) and in the past (where they must not).
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>

#include "features/feature_engine.h"
#include "tests/features/test_specs.h"

namespace featmon {
namespace {

using namespace featmon::testing;

std::vector<FeatureSpec> SpecsWithSums() {
  std::vector<FeatureSpec> s = DefaultSpecs();
  for (auto [w, name] : {std::pair{kHour, "dwell_1h"}, {kDay, "dwell_24h"}, {7 * kDay, "dwell_7d"}}) {
    s.push_back(Spec(name, EntityKind::kItem, kViews | kClicks, Aggregation::kSum, w, EventField::kValue));
    s.push_back(Spec(name, EntityKind::kUser, kViews, Aggregation::kSum, w, EventField::kValue));
  }
  s.push_back(Ratio("dwell_per_view_24h", EntityKind::kItem, "dwell_24h", "views_24h"));
  s.push_back(Spec("distinct_users_1h", EntityKind::kItem, kViews | kClicks, Aggregation::kApproxDistinct, kHour,
                   EventField::kUserId));
  return s;
}

bool SameValue(const FeatureValue& a, const FeatureValue& b) {
  return a.type == b.type && a.i == b.i && std::memcmp(&a.d, &b.d, sizeof a.d) == 0 && a.strings == b.strings;
}

struct Entity {
  EntityState state;
  WindowTails tails;
};

class WindowTailsTest : public ::testing::TestWithParam<uint32_t> {
 protected:
  void SetUp() override {
    auto compiled = FeatureSet::Compile(SpecsWithSums());
    ASSERT_TRUE(compiled.ok()) << compiled.status().ToString();
    set_ = std::make_unique<FeatureSet>(std::move(*compiled));
    engine_ = std::make_unique<FeatureEngine>(set_.get());
  }
  // Reads with and without tails agree; counts the reads tails answered.
  void ExpectSame(EntityKind kind, Entity& e, int64_t as_of, const std::string& where) {
    const auto plain = engine_->Read(kind, {&e.state}, as_of);
    // One vector for every read, as the point-in-time join keeps it: no value
    // may survive from an earlier read.
    std::vector<FeatureValue>& tailed = tailed_[static_cast<int>(kind)];
    engine_->ReadWithTails(kind, e.state, as_of, &e.tails, &tailed);
    ASSERT_EQ(plain.size(), tailed.size());
    for (size_t f = 0; f < plain.size(); ++f)
      ASSERT_TRUE(SameValue(plain[f], tailed[f]))
          << where << " feature " << set_->features(kind)[f].name << " at " << as_of << ": plain i=" << plain[f].i
          << " d=" << plain[f].d << ", with tails i=" << tailed[f].i << " d=" << tailed[f].d;
    ++reads_;
  }
  std::unique_ptr<FeatureSet> set_;
  std::unique_ptr<FeatureEngine> engine_;
  std::vector<FeatureValue> tailed_[kEntityKindCount];
  int reads_ = 0;
};

TEST_P(WindowTailsTest, ReadWithTailsEqualsRead) {
  std::mt19937_64 rng(GetParam());
  std::map<std::string, Entity> users, items;
  bool saw_dense = false;
  int64_t now = 1'700'000'000'000;
  for (int n = 0; n < 20'000; ++n) {
    const double r = std::uniform_real_distribution<>(0, 1)(rng);
    if (r < 0.0002) now += std::uniform_int_distribution<int64_t>(kDay, 9 * kDay)(rng);  // idle past every window
    else now += std::uniform_int_distribution<int64_t>(0, 10'000)(rng);
    Event ev;
    ev.type = std::uniform_int_distribution<>(0, 9)(rng) == 0 ? EventType::kClick : EventType::kView;
    // One hot item whose distinct users go dense (past 2,048 sparse entries).
    ev.item_id = "i" + std::to_string(std::uniform_int_distribution<>(0, 1)(rng) == 0
                                          ? 0 : std::uniform_int_distribution<>(1, 5)(rng));
    ev.user_id = "u" + std::to_string(ev.item_id == "i0" ? std::uniform_int_distribution<>(0, 1'000'000)(rng)
                                                         : std::uniform_int_distribution<>(0, 6)(rng));
    ev.value = std::uniform_real_distribution<>(0, 100)(rng) / 3.0;  // sums that round
    ev.ts_ms = now;
    if (std::uniform_int_distribution<>(0, 19)(rng) == 0)  // late, by up to two hours
      ev.ts_ms -= std::uniform_int_distribution<int64_t>(1, 2 * kHour)(rng);
    for (EntityKind kind : {EntityKind::kUser, EntityKind::kItem}) {
      Entity& e = (kind == EntityKind::kUser ? users : items)[ev.EntityId(kind)];
      engine_->Apply(ev, kind, &e.state, nullptr, &e.tails);
      // As the export reads: just before a prediction at the replay's time.
      ExpectSame(kind, e, now + std::uniform_int_distribution<int64_t>(1, kMin)(rng), "at the replay");
      if (std::uniform_int_distribution<>(0, 49)(rng) == 0)  // in the past: tails must step aside
        ExpectSame(kind, e, now - std::uniform_int_distribution<int64_t>(0, 2 * kDay)(rng), "in the past");
      if (::testing::Test::HasFatalFailure()) return;
      for (const WindowTail& t : e.tails.tails) saw_dense |= t.distinct && !t.distinct->sketch.is_sparse();
    }
  }
  // Every entity once more, well after the last event: windows slide past
  // what the tails hold.
  for (auto* entities : {&users, &items})
    for (auto& [id, e] : *entities)
      for (int64_t later : {kMin, 2 * kHour, 30 * kHour, 8 * kDay})
        ExpectSame(entities == &users ? EntityKind::kUser : EntityKind::kItem, e, now + later, "after " + id);
  EXPECT_GT(reads_, 40'000);
  EXPECT_TRUE(saw_dense) << "the hot item's distinct count should have gone dense";
}

INSTANTIATE_TEST_SUITE_P(Seeds, WindowTailsTest, ::testing::Values(1u, 2u, 3u));

}  // namespace
}  // namespace featmon
