#include "drift/performance.h"

#include <algorithm>
#include <cmath>

namespace featmon::drift {

void Perf::Add(const Perf& o) {
  n += o.n, clicks += o.clicks, sum_score += o.sum_score, sum_logloss += o.sum_logloss;
  predicted += o.predicted, predicted_score += o.predicted_score, attributed_clicks += o.attributed_clicks;
  cusum_up_base += o.cusum_up_base, cusum_down_base += o.cusum_down_base;
  for (int i = 0; i < kAucBins; ++i) positive[i] += o.positive[i], negative[i] += o.negative[i];
}

void Perf::AddLabel(double score, bool clicked, double loss) {
  n += 1;
  clicks += clicked ? 1 : 0;
  sum_score += score;
  sum_logloss += loss;
  const int bin = std::min(kAucBins - 1, static_cast<int>(score * kAucBins));
  (clicked ? positive : negative)[bin] += 1;
}

double RocAuc(const Perf& p) {
  double pos = 0, neg = 0;
  for (int i = 0; i < kAucBins; ++i) pos += p.positive[i], neg += p.negative[i];
  if (pos == 0 || neg == 0) return NAN;
  double negatives_below = 0, area = 0;
  for (int i = 0; i < kAucBins; ++i) {
    area += p.positive[i] * (negatives_below + 0.5 * p.negative[i]);
    negatives_below += p.negative[i];
  }
  return area / (pos * neg);
}

}  // namespace featmon::drift
