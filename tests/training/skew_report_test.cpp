// The skew report compares each example as it is handed out and counts it
// once its label says it is exported: examples whose labels did not mature
// are not counted, and examples that logged no config feature's name, in
// between, do not shift the others' labels.
#include "training/skew_report.h"

#include <gtest/gtest.h>

#include "tests/features/test_specs.h"

namespace featmon::training {
namespace {

using namespace featmon::testing;

// The example logging user.views_1h as `logged`, recomputed as `recomputed`.
TrainingExample Logging(double logged, int64_t recomputed) {
  TrainingExample ex;
  ex.logged_numeric = {{"user.views_1h", logged}, {"dwell", 3.0}};
  ex.user = {FeatureValue::Int(recomputed)};
  return ex;
}

TEST(SkewReport, CountsTheExportedExamplesOnly) {
  const FeatureSet set =
      *FeatureSet::Compile({Spec("views_1h", EntityKind::kUser, kViews, Aggregation::kCount, kHour)});
  SkewReport report(&set);
  TrainingExample silent;  // logs no config feature
  silent.logged_numeric = {{"dwell", 1.0}};
  silent.user = {FeatureValue::Int(9)};

  report.Compare(Logging(2, 2));    // equal, exported
  report.Compare(silent);           // exported, nothing to compare
  report.Compare(Logging(7, 4));    // differs by 3, not matured
  report.Compare(Logging(5, 4));    // differs by 1, exported
  report.Compare(silent);           // not matured
  report.Compare(Logging(2, 2));    // equal, exported
  for (bool matured : {true, true, false, true, false, true}) report.Settle({.matured = matured});

  ASSERT_EQ(report.features().size(), 1u);
  const FeatureSkew& skew = report.features().at("user.views_1h");
  EXPECT_EQ(skew.compared, 3u);
  EXPECT_EQ(skew.differing, 1u);
  EXPECT_DOUBLE_EQ(skew.max_abs_difference, 1.0) << "the unmatured example's difference of 3 is not counted";
}

TEST(SkewReport, TellsAValueFromItsDoubleRoundTripApart) {
  const FeatureSet set =
      *FeatureSet::Compile({Spec("views_1h", EntityKind::kUser, kViews, Aggregation::kCount, kHour)});
  SkewReport report(&set);
  report.Compare(Logging(1'000'000.0000001, 1'000'000));  // within 1e-6 relative: the same
  report.Compare(Logging(1.01, 1));
  report.Settle({.matured = true});
  report.Settle({.matured = true});
  const FeatureSkew& skew = report.features().at("user.views_1h");
  EXPECT_EQ(skew.compared, 2u);
  EXPECT_EQ(skew.differing, 1u);
}

}  // namespace
}  // namespace featmon::training
