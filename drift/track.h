// One signal of one model version: the histogram of a feature (or the score,
// or the label) per evaluation tile over bins frozen from its reference, the
// reference itself, and the outcome of its last evaluation.
//
// Before its bins are frozen a numeric track keeps a bottom-k sample by hash
// (order-independent, so a replay freezes the same bins) and a categorical
// track counts its values; Freeze then turns them into bins and a reference.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "drift/histogram.h"
#include "drift/monitor_events.h"
#include "drift/monitor_options.h"
#include "drift/seasonal_profile.h"

namespace featmon::drift {

enum class TrackKind { kNumeric, kCategorical };

// The outcome of a track's last evaluation.
struct TrackResult {
  bool evaluated = false;
  double reference_samples = 0, current_samples = 0;
  StatisticValues values = NoStatistics();
  double value = NAN;  // of the rule's statistic (adjusted p-value for p-value tests)
  // The fast window (the current window's last fast_window): the rule's value there.
  double fast_reference_samples = 0, fast_current_samples = 0;
  double fast_value = NAN;
  bool fast_drift = false;  // drifting in the fast window only
  bool alerting = false;
  // The two histograms the statistic compared, per bin (Track::bins()), for
  // people to look at: empty before the first evaluation with both.
  std::vector<double> reference_counts, current_counts;
};

// The field of StatisticValues a rule judges.
int RuleField(Statistic s);

struct Track {
  Signal signal = Signal::kData;
  std::string feature;
  TrackKind kind = TrackKind::kNumeric;
  FeatureRule rule;
  // Reference phase (first_window): a bottom-k sample by hash, or counts.
  std::vector<std::pair<uint64_t, double>> sample;  // max-heap on the hash
  std::map<std::string, double> category_counts;
  // Frozen bins.
  bool frozen = false;
  std::vector<double> edges;
  std::vector<std::string> categories;
  std::unordered_map<std::string, int> category_index;
  std::set<std::string> seen;  // reference values, for the unseen share
  Hist reference;              // frozen reference (first_window, profile)
  bool reference_ready = false;
  std::map<int64_t, Hist> tiles;
  // reference: seasonal. Whole hours before learned_until_ms are in the profile.
  SeasonalProfile seasonal;
  int64_t learned_until_ms = 0;
  int streak = 0;
  Verdict verdict = Verdict::kNoVerdict;
  TrackResult last;

  bool numeric() const { return kind == TrackKind::kNumeric; }
  size_t bins() const { return numeric() ? edges.size() + 1 : categories.size() + 1; }
  Hist Empty() const;
  // The tile's histogram, created empty on first use.
  Hist& TileAt(int64_t tile);
  void AddNumeric(Hist& h, double v) const;
  void AddCategory(Hist& h, const std::string& v) const;
  // The sum of the tiles in [start, end) into *h, reusing its buffers.
  void SumTiles(int64_t start, int64_t end, Hist* h) const;

  // Reference phase.
  void Sample(uint64_t hash, double value, size_t max_sample);
  void CountCategory(const std::string& value, size_t max_categories);
  // Bins and reference from the sample or the counts.
  void Freeze(int numeric_bins, int top_k);
  // Bins and reference from a training profile entry; false leaves the
  // track without a verdict (a malformed or missing entry).
  bool FreezeFromProfile(const nlohmann::json& spec);
  // The two-category label track: "0" not clicked, "1" clicked.
  void FreezeAsLabel();
};

// Every statistic of a track's kind, on the same bins. `means` are scratch
// buffers reused across calls.
StatisticValues TrackStatistics(const Track& t, const Hist& ref, const Hist& cur,
                                std::vector<double>* ref_means, std::vector<double>* cur_means);

// The verdict of a rule's value, NaN or too few samples giving no verdict.
Verdict Judge(const FeatureRule& rule, double value, double reference_samples, double current_samples,
              int64_t min_samples);

}  // namespace featmon::drift
