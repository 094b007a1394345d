#include "drift/track.h"

#include <algorithm>

#include "drift/statistics.h"

namespace featmon::drift {

namespace {
constexpr char kOtherCategory[] = "\x1f" "other";  // beyond max_reference_categories while counting
}  // namespace

int RuleField(Statistic s) {
  switch (s) {
    case Statistic::kPsi: return kPsiField;
    case Statistic::kKs: return kKsPValueField;
    case Statistic::kJensenShannon: return kJensenShannonField;
    case Statistic::kWasserstein: return kWassersteinField;
    case Statistic::kHellinger: return kHellingerField;
    case Statistic::kChiSquared: return kChi2PValueField;
    case Statistic::kLInfinity: return kLInfinityField;
  }
  return kPsiField;
}

Hist Track::Empty() const {
  Hist h;
  h.Reset(bins(), numeric());
  return h;
}

Hist& Track::TileAt(int64_t tile) {
  auto it = tiles.find(tile);
  if (it != tiles.end()) return it->second;
  return tiles.emplace(tile, Empty()).first->second;
}

void Track::AddNumeric(Hist& h, double v) const {
  int b;
  if (v < edges.front()) {
    b = 0;
  } else if (v > edges.back()) {
    b = static_cast<int>(edges.size());
  } else {
    const int i = static_cast<int>(std::upper_bound(edges.begin(), edges.end(), v) - edges.begin());  // 1..edges.size()
    b = std::min(i, static_cast<int>(edges.size()) - 1);
  }
  h.counts[b] += 1;
  h.sums[b] += v;
  h.sumsq += v * v;
}

void Track::AddCategory(Hist& h, const std::string& v) const {
  auto it = category_index.find(v);
  h.counts[it == category_index.end() ? categories.size() : static_cast<size_t>(it->second)] += 1;
  if (!seen.count(v)) h.unseen += 1;
}

void Track::SumTiles(int64_t start, int64_t end, Hist* h) const {
  h->Reset(bins(), numeric());
  for (auto it = tiles.lower_bound(start); it != tiles.end() && it->first < end; ++it) h->Add(it->second);
}

void Track::Sample(uint64_t hash, double value, size_t max_sample) {
  auto cmp = [](const auto& a, const auto& b) { return a.first < b.first; };
  if (sample.size() < max_sample) {
    sample.emplace_back(hash, value);
    std::push_heap(sample.begin(), sample.end(), cmp);
  } else if (hash < sample.front().first) {
    std::pop_heap(sample.begin(), sample.end(), cmp);
    sample.back() = {hash, value};
    std::push_heap(sample.begin(), sample.end(), cmp);
  }
}

void Track::CountCategory(const std::string& value, size_t max_categories) {
  auto it = category_counts.find(value);
  if (it != category_counts.end()) {
    it->second += 1;
  } else if (category_counts.size() < max_categories) {
    category_counts.emplace(value, 1.0);
  } else {
    category_counts[kOtherCategory] += 1;
  }
}

void Track::Freeze(int numeric_bins, int top_k) {
  if (frozen) return;
  if (numeric()) {
    if (sample.empty()) return;
    std::vector<double> values;
    for (auto& [h, x] : sample) values.push_back(x);
    edges = QuantileEdges(values, numeric_bins);
    reference = Empty();
    for (double x : values) AddNumeric(reference, x);
    sample.clear();
    sample.shrink_to_fit();
  } else {
    std::vector<std::pair<std::string, double>> ranked;
    for (auto& [value, count] : category_counts)
      if (value != kOtherCategory) ranked.emplace_back(value, count);
    std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    for (size_t i = 0; i < ranked.size() && static_cast<int>(i) < top_k; ++i) {
      category_index[ranked[i].first] = static_cast<int>(categories.size());
      categories.push_back(ranked[i].first);
    }
    for (auto& [value, count] : ranked) seen.insert(value);
    reference = Empty();
    for (auto& [value, count] : category_counts) {
      auto it = category_index.find(value);
      reference.counts[it == category_index.end() ? categories.size() : static_cast<size_t>(it->second)] += count;
    }
    category_counts.clear();
  }
  frozen = reference_ready = true;
}

bool Track::FreezeFromProfile(const nlohmann::json& spec) {
  try {
    if (numeric() && spec.contains("edges")) {
      spec.at("edges").get_to(edges);
      if (edges.empty()) return false;
      reference = Empty();
      auto counts = spec.at("counts").get<std::vector<double>>();
      if (counts.size() != bins()) return false;
      reference.counts = counts;
      reference.sums = spec.value("sums", std::vector<double>(bins(), 0.0));
      const double std_dev = spec.value("std", 1.0), mean = spec.value("mean", 0.0), n = reference.total();
      reference.sumsq = n * (std_dev * std_dev + mean * mean);
    } else if (!numeric() && spec.contains("categories")) {
      spec.at("categories").get_to(categories);
      for (size_t i = 0; i < categories.size(); ++i) category_index[categories[i]] = static_cast<int>(i);
      seen = {categories.begin(), categories.end()};
      reference = Empty();
      auto counts = spec.at("counts").get<std::vector<double>>();
      if (counts.size() != bins()) return false;
      reference.counts = counts;
    } else {
      return false;
    }
  } catch (const std::exception&) {
    return false;  // a malformed entry leaves the feature without verdict
  }
  frozen = reference_ready = true;
  return true;
}

void Track::FreezeAsLabel() {
  if (frozen) return;
  categories = {"0", "1"};
  category_index = {{"0", 0}, {"1", 1}};
  seen = {"0", "1"};
  frozen = true;
}

StatisticValues TrackStatistics(const Track& t, const Hist& ref, const Hist& cur, std::vector<double>* ref_means,
                                std::vector<double>* cur_means) {
  StatisticValues s = NoStatistics();
  if (t.numeric()) {
    s[kPsiField] = PopulationStabilityIndex(ref.counts, cur.counts);
    TestResult ks = KolmogorovSmirnov(ref.counts, cur.counts);
    s[kKsStatisticField] = ks.statistic;
    s[kKsPValueField] = ks.p_value;
    s[kJensenShannonField] = JensenShannonDistance(ref.counts, cur.counts);
    BinMeans(ref, ref_means);
    BinMeans(cur, cur_means);
    s[kWassersteinField] = WassersteinNormed(*ref_means, ref.counts, *cur_means, cur.counts, Std(ref));
    s[kHellingerField] = Hellinger(ref.counts, cur.counts);
  } else {
    TestResult chi = ChiSquared(ref.counts, cur.counts);
    s[kChi2StatisticField] = chi.statistic;
    s[kChi2PValueField] = chi.p_value;
    s[kJensenShannonField] = JensenShannonDistance(ref.counts, cur.counts);
    s[kLInfinityField] = LInfinity(ref.counts, cur.counts);
    const double n = cur.total();
    s[kUnseenShareField] = n > 0 ? cur.unseen / n : 0.0;
  }
  return s;
}

Verdict Judge(const FeatureRule& rule, double value, double reference_samples, double current_samples,
              int64_t min_samples) {
  const auto min = static_cast<double>(min_samples);
  if (reference_samples < min || current_samples < min || std::isnan(value)) return Verdict::kNoVerdict;
  if (IsPValueTest(rule.statistic))
    return value <= rule.alert ? Verdict::kDrift : value <= rule.warn ? Verdict::kWarn : Verdict::kOk;
  return value >= rule.alert ? Verdict::kDrift : value >= rule.warn ? Verdict::kWarn : Verdict::kOk;
}

}  // namespace featmon::drift
