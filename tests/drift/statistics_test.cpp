// Every statistic against scipy on the same binned data (golden values from
// drift/golden/make_golden.py), within 1e-9 relative.
#include "drift/statistics.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

namespace featmon::drift {
namespace {

struct HistogramGolden {
  std::vector<double> reference, current, reference_means, current_means;
  double reference_std;
  double psi, ks_statistic, ks_p_value, jensen_shannon, wasserstein, hellinger, chi2, chi2_p_value, l_infinity;
};
struct KolmogorovGolden {
  int64_t n;
  double d, kstwo_sf, smirnov_sf;
};
struct BhGolden {
  std::vector<double> p_values, adjusted;
};

#include "tests/drift/golden_values.inc"

// Relative 1e-9, with an absolute floor for values that are 0 in exact
// arithmetic (a p-value of 1 - 1e-17 or a statistic of 1e-18).
void ExpectClose(double expected, double actual, const std::string& what) {
  if (std::isnan(expected)) {
    EXPECT_TRUE(std::isnan(actual)) << what;
    return;
  }
  double tolerance = std::max(1e-9 * std::fabs(expected), 1e-15);
  EXPECT_NEAR(expected, actual, tolerance) << what;
}

TEST(StatisticsGolden, HistogramStatisticsMatchScipy) {
  ASSERT_GE(kHistogramGolden.size(), 40u);
  for (size_t i = 0; i < kHistogramGolden.size(); ++i) {
    const auto& g = kHistogramGolden[i];
    std::string at = "case " + std::to_string(i);
    ExpectClose(g.psi, PopulationStabilityIndex(g.reference, g.current), at + " psi");
    TestResult ks = KolmogorovSmirnov(g.reference, g.current);
    ExpectClose(g.ks_statistic, ks.statistic, at + " ks statistic");
    ExpectClose(g.ks_p_value, ks.p_value, at + " ks p");
    ExpectClose(g.jensen_shannon, JensenShannonDistance(g.reference, g.current), at + " js");
    ExpectClose(g.wasserstein,
                WassersteinNormed(g.reference_means, g.reference, g.current_means, g.current, g.reference_std),
                at + " wasserstein");
    ExpectClose(g.hellinger, Hellinger(g.reference, g.current), at + " hellinger");
    TestResult chi = ChiSquared(g.reference, g.current);
    ExpectClose(g.chi2, chi.statistic, at + " chi2");
    ExpectClose(g.chi2_p_value, chi.p_value, at + " chi2 p");
    ExpectClose(g.l_infinity, LInfinity(g.reference, g.current), at + " linf");
  }
}

TEST(StatisticsGolden, KolmogorovDistributionMatchesScipyInEveryRegion) {
  for (const auto& g : kKolmogorovGolden) {
    std::string at = "n=" + std::to_string(g.n) + " d=" + std::to_string(g.d);
    ExpectClose(g.kstwo_sf, KolmogorovSurvival(g.n, g.d), at + " kstwo.sf");
    ExpectClose(g.smirnov_sf, SmirnovSurvival(g.n, g.d), at + " smirnov");
  }
}

TEST(StatisticsGolden, BenjaminiHochberg) {
  for (const auto& g : kBenjaminiHochbergGolden) {
    auto adjusted = BenjaminiHochberg(g.p_values);
    ASSERT_EQ(adjusted.size(), g.adjusted.size());
    for (size_t i = 0; i < adjusted.size(); ++i) ExpectClose(g.adjusted[i], adjusted[i], "bh " + std::to_string(i));
  }
}

TEST(Statistics, EmptyBinsNeverGiveInfinity) {
  std::vector<double> ref = {0, 10, 0, 5}, cur = {7, 0, 0, 9};
  for (double v : {PopulationStabilityIndex(ref, cur), JensenShannonDistance(ref, cur), Hellinger(ref, cur),
                   LInfinity(ref, cur), ChiSquared(ref, cur).statistic, KolmogorovSmirnov(ref, cur).statistic})
    EXPECT_TRUE(std::isfinite(v));
  // One empty bin on one side: its term is (c - 1e-4) ln(c / 1e-4), bounded.
  std::vector<double> a = {50, 50}, b = {100, 0};
  double expected = (1.0 - 0.5) * std::log(1.0 / 0.5) + (1e-4 - 0.5) * std::log(1e-4 / 0.5);
  EXPECT_NEAR(PopulationStabilityIndex(a, b), expected, 1e-12);
}

TEST(Statistics, EmptyWindowIsNoVerdict) {
  std::vector<double> ref = {1, 2, 3}, empty = {0, 0, 0};
  EXPECT_TRUE(std::isnan(PopulationStabilityIndex(ref, empty)));
  EXPECT_TRUE(std::isnan(KolmogorovSmirnov(empty, ref).p_value));
  EXPECT_TRUE(std::isnan(JensenShannonDistance(ref, empty)));
}

TEST(Statistics, IdenticalDistributionsAreZero) {
  std::vector<double> ref = {100, 200, 300}, cur = {10, 20, 30};
  EXPECT_NEAR(PopulationStabilityIndex(ref, cur), 0, 1e-15);
  EXPECT_NEAR(JensenShannonDistance(ref, cur), 0, 1e-7);
  EXPECT_NEAR(Hellinger(ref, cur), 0, 1e-7);
  EXPECT_EQ(KolmogorovSmirnov(ref, cur).statistic, 0);
  EXPECT_EQ(KolmogorovSmirnov(ref, cur).p_value, 1);
}

}  // namespace
}  // namespace featmon::drift
