#include "drift/histogram.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace featmon::drift {

double Hist::total() const { return std::accumulate(counts.begin(), counts.end(), 0.0); }

void Hist::Add(const Hist& o) {
  if (counts.size() < o.counts.size()) counts.resize(o.counts.size());
  if (sums.size() < o.sums.size()) sums.resize(o.sums.size());
  for (size_t i = 0; i < o.counts.size(); ++i) counts[i] += o.counts[i];
  for (size_t i = 0; i < o.sums.size(); ++i) sums[i] += o.sums[i];
  sumsq += o.sumsq;
  unseen += o.unseen;
}

void Hist::AddScaled(const Hist& o, double w) {
  if (counts.size() < o.counts.size()) counts.resize(o.counts.size());
  if (sums.size() < o.sums.size()) sums.resize(o.sums.size());
  for (size_t i = 0; i < o.counts.size(); ++i) counts[i] += w * o.counts[i];
  for (size_t i = 0; i < o.sums.size(); ++i) sums[i] += w * o.sums[i];
  sumsq += w * o.sumsq;
  unseen += w * o.unseen;
}

void Hist::Reset(size_t bins, bool numeric) {
  counts.assign(bins, 0.0);
  sums.assign(numeric ? bins : 0, 0.0);
  sumsq = unseen = 0;
}

double Std(const Hist& h) {
  double n = h.total();
  if (n <= 0) return 0;
  double mean = std::accumulate(h.sums.begin(), h.sums.end(), 0.0) / n;
  return std::sqrt(std::max(h.sumsq / n - mean * mean, 0.0));
}

void BinMeans(const Hist& h, std::vector<double>* means) {
  means->assign(h.counts.size(), 0.0);
  for (size_t i = 0; i < h.counts.size(); ++i)
    if (h.counts[i] > 0) (*means)[i] = h.sums[i] / h.counts[i];
}

std::vector<double> QuantileEdges(std::vector<double> values, int bins) {
  std::sort(values.begin(), values.end());
  std::vector<double> edges;
  for (int i = 0; i <= bins; ++i) {
    double pos = static_cast<double>(values.size() - 1) * i / bins;
    size_t lo = static_cast<size_t>(std::floor(pos));
    size_t hi = std::min(lo + 1, values.size() - 1);
    double e = values[lo] + (values[hi] - values[lo]) * (pos - static_cast<double>(lo));
    if (edges.empty() || e > edges.back()) edges.push_back(e);
  }
  return edges;
}

}  // namespace featmon::drift
