// Concept-drift detectors on a stream of per-prediction losses, with
// river's defaults. Each update is O(1) amortised; state serialises to bytes
// so it is committed with the offsets that produced it.
//
//   ADWIN         (Bifet and Gavalda 2007) adaptive window of exponential-
//                 histogram buckets; drift when two sub-windows' means differ
//                 by more than eps(delta). Checked every `clock` updates.
//   DDM           (Gama et al. 2004) error rate p and s = sqrt(p(1-p)/n);
//                 warning at p + s > p_min + 2 s_min, drift at + 3 s_min.
//                 Expects values in [0, 1].
//   Page-Hinkley  cumulative S = max(0, alpha S + x - mean - delta); drift
//                 when S >= threshold (in the units of x).
//   Calibration CUSUM  (Steiner et al. 2000, the risk-adjusted Bernoulli
//                 CUSUM) on labels: the log-likelihood ratio of "the click
//                 odds are odds_ratio times what the score says" (and
//                 1/odds_ratio) against "the score is right", accumulated from
//                 zero; drift when either reaches threshold. Judged against
//                 the model's own scores, so a base CTR that follows the hour
//                 is no change, while a model that under- or over-predicts is
//                 caught within a few thousand labels. Between false alarms
//                 there are about e^threshold labels (Siegmund). Fed in
//                 batches of labels all of whose outcomes are known (every
//                 label of a prediction tile once it matured): clicks mature
//                 before non-clicks, so a stream in maturity order would read
//                 as under-prediction wherever traffic starts or rises.
// After a drift each detector starts afresh, as river's do.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace featmon::drift {

enum class DetectorState { kStable, kWarning, kDrift };

struct AdwinOptions {
  double delta = 0.002;      // confidence of a cut. Default: 0.002
  int clock = 32;            // updates between cut checks. Default: 32
  int max_buckets = 5;       // buckets per row before merging. Default: 5
  int64_t min_window = 5;    // smallest sub-window considered. Default: 5
  int64_t grace_period = 10; // updates before the first check. Default: 10
};

class Adwin {
 public:
  explicit Adwin(AdwinOptions options = {});
  DetectorState Update(double x);
  double mean() const { return width_ > 0 ? total_ / static_cast<double>(width_) : 0.0; }
  int64_t width() const { return width_; }
  uint64_t drifts() const { return drifts_; }
  std::string Serialize() const;
  Status Deserialize(std::string_view bytes);

 private:
  struct Bucket {
    double total = 0;
    double variance = 0;  // sum of squared deviations from the bucket's mean
  };
  bool DetectCut();
  void DropOldest();
  void Compress();

  AdwinOptions options_;
  std::vector<std::vector<Bucket>> rows_;  // rows_[i] holds buckets of 2^i values, oldest first
  int64_t width_ = 0;
  double total_ = 0, variance_ = 0;
  uint64_t ticks_ = 0, drifts_ = 0;
};

struct DdmOptions {
  int64_t warm_start = 30;      // updates before any verdict. Default: 30
  double warning_level = 2.0;   // in standard deviations. Default: 2
  double drift_level = 3.0;     // in standard deviations. Default: 3
};

class Ddm {
 public:
  explicit Ddm(DdmOptions options = {});
  DetectorState Update(double x);  // x in [0, 1]
  uint64_t drifts() const { return drifts_; }
  double error_rate() const { return p_; }
  std::string Serialize() const;
  Status Deserialize(std::string_view bytes);

 private:
  void Reset();
  DdmOptions options_;
  int64_t n_ = 0;
  double p_ = 0, p_min_ = 0, s_min_ = 0, ps_min_ = 0;
  uint64_t drifts_ = 0;
};

struct PageHinkleyOptions {
  int64_t min_instances = 30;     // updates before any verdict. Default: 30
  double delta = 0.005;           // tolerated increase. Default: 0.005
  double threshold = 50.0;        // drift level of S, in units of x. Default: 50
  double alpha = 1 - 1e-4;        // forgetting factor of S. Default: 1 - 1e-4
};

class PageHinkley {
 public:
  explicit PageHinkley(PageHinkleyOptions options = {});
  DetectorState Update(double x);
  uint64_t drifts() const { return drifts_; }
  double statistic() const { return sum_; }
  std::string Serialize() const;
  Status Deserialize(std::string_view bytes);

 private:
  void Reset();
  PageHinkleyOptions options_;
  int64_t n_ = 0;
  double mean_ = 0, sum_ = 0;
  uint64_t drifts_ = 0;
};

struct CalibrationCusumOptions {
  double odds_ratio = 1.5;  // the change to catch: click odds this many times the scores' (or 1/this). Default: 1.5
  double threshold = 18;    // drift when the log-likelihood ratio reaches this. Default: 18
};

class CalibrationCusum {
 public:
  explicit CalibrationCusum(CalibrationCusumOptions options = {});
  // The outcome-free part of one label's log-likelihood ratios, added to a
  // batch's sums (for odds ratio R: -ln(1 - s + R s); a click adds ln R).
  void AddLabelBase(double score, double* up_base, double* down_base) const;
  // One batch: its clicks and the sums of its labels' bases.
  DetectorState Update(double clicks, double up_base, double down_base);
  double under_prediction() const { return up_; }   // evidence the clicks outrun the scores
  double over_prediction() const { return down_; }  // evidence the scores outrun the clicks
  // The odds ratio the last drift caught: odds_ratio (under-prediction) or its inverse.
  double last_drift_odds_ratio() const { return last_drift_odds_ratio_; }
  uint64_t drifts() const { return drifts_; }
  std::string Serialize() const;
  Status Deserialize(std::string_view bytes);

 private:
  CalibrationCusumOptions options_;
  double up_ = 0, down_ = 0;
  uint64_t drifts_ = 0;
  double last_drift_odds_ratio_ = 1;  // not persisted: read at the evaluation after the drift
};

}  // namespace featmon::drift
