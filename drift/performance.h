// Performance of a model on one tile of predictions: the matured labels'
// counts and losses, a score histogram per label (for ROC AUC), and, as
// predictions and clicks arrive, the expected and the attributed clicks.
#pragma once

#include <vector>

namespace featmon::drift {

inline constexpr int kAucBins = 256;  // score histogram per label for ROC AUC

struct Perf {
  double n = 0, clicks = 0, sum_score = 0, sum_logloss = 0;          // matured labels
  double predicted = 0, predicted_score = 0, attributed_clicks = 0;  // as predictions and clicks arrive
  double cusum_up_base = 0, cusum_down_base = 0;  // CalibrationCusum::AddLabelBase of the matured labels
  std::vector<double> positive = std::vector<double>(kAucBins), negative = std::vector<double>(kAucBins);

  void Add(const Perf& o);
  // One matured label: its score, whether it was clicked and its log loss.
  void AddLabel(double score, bool clicked, double loss);
};

// ROC AUC by binned score; pairs within one bin count half (the error is at
// most the share of pairs that share a bin, 1/256 wide). NaN without both labels.
double RocAuc(const Perf& p);

}  // namespace featmon::drift
