#include "training/chronological_split.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

namespace featmon::training {
namespace {

TEST(ParseSplitFractions, TakesThreeFractionsAddingUpToOne) {
  auto f = ParseSplitFractions("0.7,0.2,0.1");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_DOUBLE_EQ(f->train, 0.7);
  EXPECT_DOUBLE_EQ(f->validation, 0.2);
  EXPECT_DOUBLE_EQ(f->test, 0.1);
  EXPECT_TRUE(ParseSplitFractions("1,0,0").ok());
  for (const char* bad : {"0.8,0.1", "0.8,0.1,0.2", "a,b,c", "0.8,,0.2", "-0.2,0.6,0.6", "0.8,0.1,0.1,0", "0.8x,0.1,0.1"}) {
    auto r = ParseSplitFractions(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find("--split"), std::string::npos) << r.status().ToString();
    }
  }
}

TEST(ChronologicalSplit, BoundariesFallAtQuantilesOfPredictionTime) {
  std::vector<int64_t> times;
  for (int i = 99; i >= 0; --i) times.push_back(1000 + 10 * i);  // 1000..1990, any order
  const SplitPlan plan = PlanChronologicalSplit(&times, {0.8, 0.1, 0.1}, 0);
  EXPECT_EQ(plan.validation_from_ms, 1800);
  EXPECT_EQ(plan.test_from_ms, 1900);
  int counts[4] = {0, 0, 0, 0};
  for (int64_t t : times) ++counts[static_cast<int>(plan.Assign(t))];
  EXPECT_EQ(counts[0], 80);
  EXPECT_EQ(counts[1], 10);
  EXPECT_EQ(counts[2], 10);
  EXPECT_EQ(counts[3], 0);
}

// An example whose label window reaches past a boundary is left out.
TEST(ChronologicalSplit, LeavesOutOneAttributionWindowBeforeEachBoundary) {
  std::vector<int64_t> times;
  for (int i = 0; i < 100; ++i) times.push_back(1000 + 10 * i);
  const SplitPlan plan = PlanChronologicalSplit(&times, {0.8, 0.1, 0.1}, 25);
  EXPECT_EQ(plan.Assign(1770), Split::kTrain);
  EXPECT_EQ(plan.Assign(1775), Split::kLeftOut);  // 1775 + 25 reaches the boundary at 1800
  EXPECT_EQ(plan.Assign(1790), Split::kLeftOut);
  EXPECT_EQ(plan.Assign(1800), Split::kValidation);
  EXPECT_EQ(plan.Assign(1870), Split::kValidation);
  EXPECT_EQ(plan.Assign(1880), Split::kLeftOut);
  EXPECT_EQ(plan.Assign(1900), Split::kTest);
  EXPECT_EQ(plan.Assign(99999), Split::kTest);
  // Where the left-out ones were taken from.
  EXPECT_EQ(plan.Period(1770), Split::kTrain);
  EXPECT_EQ(plan.Period(1790), Split::kTrain);
  EXPECT_EQ(plan.Period(1800), Split::kValidation);
  EXPECT_EQ(plan.Period(1880), Split::kValidation);
  EXPECT_EQ(plan.Period(1900), Split::kTest);
}

// The split's rule written out plainly: a split starts at the time of the
// example at its quantile's index, or after every example.
std::pair<int64_t, int64_t> ReferenceBoundaries(std::vector<int64_t> times, const SplitFractions& f) {
  std::sort(times.begin(), times.end());
  const double n = static_cast<double>(times.size());
  auto at_quantile = [&](double q) {
    const size_t i = static_cast<size_t>(std::floor(q * n + 1e-9));
    return i < times.size() ? times[i] : INT64_MAX;
  };
  const int64_t test = f.test > 0 ? at_quantile(f.train + f.validation) : INT64_MAX;
  return {f.validation > 0 ? at_quantile(f.train) : test, test};
}

// A caller with its examples in time order reads the times at two positions
// instead of holding them all (featmon-export reads them back from its
// spool): the plan the rule gives, whatever the times and fractions.
TEST(ChronologicalSplit, BoundaryTimesAtTheQuantileIndexesGiveThePlan) {
  std::mt19937 rng(7);
  const SplitFractions fractions[] = {{0.8, 0.1, 0.1}, {1, 0, 0}, {0.5, 0, 0.5}, {0.6, 0.4, 0}, {0, 0, 1}, {0.7, 0.2, 0.1}};
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<int64_t> times(rng() % 40);
    for (int64_t& t : times) t = 1000 + static_cast<int64_t>(rng() % 30);  // many ties
    std::sort(times.begin(), times.end());
    const SplitFractions& f = fractions[trial % std::size(fractions)];
    const BoundaryIndexes at = QuantileIndexes(times.size(), f);
    auto time_at = [&](size_t i) { return i < times.size() ? times[i] : INT64_MAX; };
    const SplitPlan from_positions = PlanFromBoundaryTimes(time_at(at.validation), time_at(at.test), 5);
    std::vector<int64_t> shuffled = times;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    const auto [validation, test] = ReferenceBoundaries(shuffled, f);
    EXPECT_EQ(from_positions.validation_from_ms, validation) << "trial " << trial;
    EXPECT_EQ(from_positions.test_from_ms, test) << "trial " << trial;
    EXPECT_EQ(from_positions.gap_ms, 5);
    const SplitPlan from_all = PlanChronologicalSplit(&shuffled, f, 5);
    EXPECT_EQ(from_all.validation_from_ms, validation) << "trial " << trial;
    EXPECT_EQ(from_all.test_from_ms, test) << "trial " << trial;
  }
  const BoundaryIndexes ten = QuantileIndexes(10, {0.8, 0.1, 0.1});
  EXPECT_EQ(ten.validation, 8u);
  EXPECT_EQ(ten.test, 9u);
  const BoundaryIndexes no_test = QuantileIndexes(10, {0.9, 0.1, 0});
  EXPECT_EQ(no_test.test, 10u) << "an empty split starts after every example";
}

TEST(ChronologicalSplit, EmptySplitsAndTies) {
  std::vector<int64_t> times(10, 5000);
  const SplitPlan ties = PlanChronologicalSplit(&times, {0.8, 0.1, 0.1}, 0);
  EXPECT_EQ(ties.Assign(5000), Split::kTest) << "every tie goes with the later split";

  std::vector<int64_t> some = {1, 2, 3, 4};
  const SplitPlan all_train = PlanChronologicalSplit(&some, {1, 0, 0}, 0);
  for (int64_t t : some) EXPECT_EQ(all_train.Assign(t), Split::kTrain);
  const SplitPlan no_validation = PlanChronologicalSplit(&some, {0.5, 0, 0.5}, 1);
  EXPECT_EQ(no_validation.Assign(1), Split::kTrain);
  EXPECT_EQ(no_validation.Assign(2), Split::kLeftOut);
  EXPECT_EQ(no_validation.Assign(3), Split::kTest);
  std::vector<int64_t> none;
  const SplitPlan empty = PlanChronologicalSplit(&none, {0.8, 0.1, 0.1}, 0);
  EXPECT_EQ(empty.Assign(7), Split::kTrain);
}

}  // namespace
}  // namespace featmon::training
