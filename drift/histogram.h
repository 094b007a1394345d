// A histogram over frozen bins, the unit every drift statistic compares.
// Numeric histograms also keep each bin's sum of values (bin means, for
// Wasserstein) and the sum of squares (the standard deviation);
// categorical ones count values the reference never saw.
#pragma once

#include <cstddef>
#include <vector>

namespace featmon::drift {

struct Hist {
  std::vector<double> counts, sums;
  double sumsq = 0;
  double unseen = 0;  // categorical: values not in the reference at all

  double total() const;
  void Add(const Hist& o);
  // Adds o with every count, sum and square scaled by w.
  void AddScaled(const Hist& o, double w);
  // Empties the histogram to `bins` zero counts, keeping its buffers.
  void Reset(size_t bins, bool numeric);
};

// Standard deviation of a numeric histogram's values.
double Std(const Hist& h);
// Mean value of each bin (0 for an empty bin).
void BinMeans(const Hist& h, std::vector<double>* means);
// Equal-mass edges from a sample: numpy's linear quantiles at i/bins,
// duplicates dropped (a feature with few distinct values gets fewer bins).
std::vector<double> QuantileEdges(std::vector<double> values, int bins);

}  // namespace featmon::drift
