// Two-sample distribution statistics on binned data: the reference and the
// current window as counts over the same frozen bins. Each one matches a
// reference implementation fed the same binned data (see
// drift/golden/make_golden.py and tests/drift/statistics_test.cpp):
//
//   PSI            textbook sum over bins of (c - r) ln(c / r) on shares
//   KS             scipy.stats.ks_2samp(method="asymp"): statistic = largest
//                  gap between the two empirical CDFs at the bin edges,
//                  p-value = scipy.stats.kstwo.sf(D, round(n1 n2 / (n1 + n2)))
//   Jensen-Shannon scipy.spatial.distance.jensenshannon(p, q, base=2)
//   Wasserstein    scipy.stats.wasserstein_distance on each bin's mean value,
//                  weighted by its count, divided by max(reference std, 0.001)
//                  (Evidently's "normed" variant)
//   Hellinger      sqrt(sum (sqrt p - sqrt q)^2) / sqrt 2
//   chi-squared    scipy.stats.chi2_contingency on the 2 x K table
//   L-infinity     max |p - q| over bins
//
// Zero bins. PSI is the only statistic that divides by a share: an empty bin
// on either side is given the share 1e-4 (Evidently's floor), so one empty
// bin adds a bounded term, never infinity. Jensen-Shannon and Hellinger are
// finite on zeros by construction. Chi-squared drops columns that are empty
// in both windows (scipy rejects zero expected counts). An empty window makes
// every statistic NaN, which callers report as "no verdict".
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace featmon::drift {

// Share given to an empty bin in PSI.
inline constexpr double kPsiEmptyBinShare = 1e-4;

double PopulationStabilityIndex(std::span<const double> reference, std::span<const double> current);

struct TestResult {
  double statistic = 0;
  double p_value = 1;
};

// Counts over ordered bins.
TestResult KolmogorovSmirnov(std::span<const double> reference, std::span<const double> current);

// Survival function of the two-sided one-sample Kolmogorov statistic D_n,
// P(D_n > d), as scipy.stats.kstwo.sf (Simard and L'Ecuyer's choice of
// method per region: Ruben-Gambino, Smirnov's one-sided sum, the Durbin
// matrix, Pelz-Good).
double KolmogorovSurvival(int64_t n, double d);
// P(D+_n >= d), the one-sided Smirnov statistic, as scipy.special.smirnov.
double SmirnovSurvival(int64_t n, double d);

double JensenShannonDistance(std::span<const double> reference, std::span<const double> current);

// Bin means (value sum / count; ignored where the count is 0) and counts.
double WassersteinNormed(std::span<const double> reference_means, std::span<const double> reference_counts,
                         std::span<const double> current_means, std::span<const double> current_counts,
                         double reference_std);

double Hellinger(std::span<const double> reference, std::span<const double> current);

// Homogeneity of the 2 x K table; Yates' correction when there is one
// degree of freedom, as scipy does.
TestResult ChiSquared(std::span<const double> reference, std::span<const double> current);

double LInfinity(std::span<const double> reference, std::span<const double> current);

// Benjamini-Hochberg adjusted p-values (step-up, monotone, capped at 1), in
// the input's order: feature i is a discovery at false discovery rate q when
// adjusted[i] <= q.
std::vector<double> BenjaminiHochberg(std::span<const double> p_values);

}  // namespace featmon::drift
