// Monitoring core figures (scripts/dev.sh bench runs this; so can you:
// build/bench/drift_bench). Each figure has a reference measured in the same
// run: detectors against a bare running mean over the same stream, the
// 500-feature evaluation against summing the same tiles without statistics,
// the label join's memory per pending label against the same keys and
// labels packed in one vector.
#include <benchmark/benchmark.h>

#include <malloc.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <random>

#include "drift/detectors.h"
#include "drift/label_joiner.h"
#include "drift/monitor.h"

namespace featmon::drift {
namespace {

std::vector<double> LossStream(size_t n) {
  std::mt19937_64 rng(3);
  std::bernoulli_distribution click(0.05);
  std::vector<double> out(n);
  for (double& x : out) x = click(rng) ? -std::log(0.05) : -std::log(0.95);
  return out;
}

template <typename Detector>
void BM_Detector(benchmark::State& state) {
  auto stream = LossStream(1 << 20);
  Detector d;
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(d.Update(stream[i++ & (stream.size() - 1)]));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Detector<Adwin>)->Name("detector_update/adwin");
BENCHMARK(BM_Detector<Ddm>)->Name("detector_update/ddm");
BENCHMARK(BM_Detector<PageHinkley>)->Name("detector_update/page_hinkley");

void BM_RunningMeanReference(benchmark::State& state) {
  auto stream = LossStream(1 << 20);
  double mean = 0, n = 0;
  size_t i = 0;
  for (auto _ : state) {
    n += 1;
    mean += (stream[i++ & (stream.size() - 1)] - mean) / n;
    benchmark::DoNotOptimize(mean);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RunningMeanReference)->Name("detector_update/reference_running_mean");

constexpr int64_t kHour = 3'600'000, kPeriod = 300'000, kStart = 1'700'000'000'000 / kHour * kHour;

// A model with `features` features (a tenth categorical), two hours of
// traffic at `per_tile` predictions per 5 minutes, reference frozen; in the
// second hour every numeric feature moves by `shift` standard deviations.
std::unique_ptr<Monitor> Loaded(int features, int per_tile, MonitorOptions options, double shift = 0.3) {
  auto m = std::make_unique<Monitor>(options, std::map<std::string, MonitorOptions>{}, 4);
  std::mt19937_64 rng(1);
  std::normal_distribution<double> normal;
  std::vector<std::string> names;
  for (int f = 0; f < features; ++f) names.push_back("f" + std::to_string(f));
  for (int64_t tile = 0; tile < 24; ++tile) {
    for (int i = 0; i < per_tile; ++i) {
      Prediction p;
      p.model = "m";
      p.model_version = "v";
      p.ts_ms = kStart + tile * kPeriod + i;
      p.sample_hash = rng();
      p.score = 0.05;
      for (int f = 0; f < features; ++f) {
        if (f % 10 == 9) p.cat_features.emplace_back(names[f], "c" + std::to_string(rng() % 30));
        else p.features.emplace_back(names[f], normal(rng) + (tile >= 12 ? shift : 0.0));
      }
      m->Observe(p);
    }
    (void)m->AdvanceWatermark(kStart + tile * kPeriod + kPeriod - 1);
  }
  return m;
}

// One evaluation of every feature (all statistics, BH, report) per iteration.
void BM_Evaluate(benchmark::State& state) {
  MonitorOptions options;
  options.reference = ReferenceKind::kFirstWindow;  // two hours of history: the seasonal default would have no reference
  options.min_samples = 100;
  options.cooldown_ms = 0;
  options.fast_window_ms = state.range(2) ? 900'000 : 0;  // range(2) = 0: the hour alone, the reference for the second scale
  // range(1) = 1: every numeric feature drifted (the KS p-value then needs
  // Smirnov's O(n) sum); 0: a stationary model.
  auto loaded = Loaded(static_cast<int>(state.range(0)), 200, options, state.range(1) ? 0.3 : 0.0);
  const std::string saved = loaded->SerializeModel("m");
  const int64_t boundary = kStart + 24 * kPeriod;  // current window: the 12 shifted tiles
  std::unique_ptr<Monitor> m;
  EvaluationOutput out;
  for (auto _ : state) {
    state.PauseTiming();  // a fresh copy of the same state, built and torn down untimed
    out = {};
    m = std::make_unique<Monitor>(options, std::map<std::string, MonitorOptions>{}, 4);
    if (!m->RestoreModel("m", saved).ok()) state.SkipWithError("restore");
    state.ResumeTiming();
    out = m->AdvanceWatermark(boundary);
    benchmark::DoNotOptimize(out);
  }
  if (out.drift.empty()) state.SkipWithError("nothing evaluated");
  state.counters["features"] = static_cast<double>(state.range(0));
}
BENCHMARK(BM_Evaluate)
    ->Name("evaluate_model")
    ->ArgNames({"features", "drifted", "fast_window"})
    ->Args({50, 0, 1})
    ->Args({500, 0, 1})
    ->Args({500, 1, 1})
    ->Args({500, 0, 0})
    ->Args({500, 1, 0})
    ->Unit(benchmark::kMillisecond);

// Bytes the heap holds (glibc's count: featmond's allocator), including what
// malloc keeps beside each block.
size_t HeapInUse() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

// The join keys and labels of `n` predictions, as featmond's monitor sees
// them: one item per request, keys and versions of realistic lengths.
std::pair<std::vector<std::string>, std::vector<PendingLabel>> PendingPredictions(size_t n) {
  std::vector<std::string> keys(n);
  std::vector<PendingLabel> labels(n);
  char request[32], item[16];
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(request, sizeof request, "req-%012zu", i);
    std::snprintf(item, sizeof item, "i%zu", (i * 7919) % 20000);
    keys[i] = JoinKeyByRequest(request, item);
    labels[i] = {.model = "ctr_ranker", .model_version = "v7", .score = 0.1,
                 .ts_ms = kStart + static_cast<int64_t>(i)};
  }
  return {std::move(keys), std::move(labels)};
}

// Heap bytes per pending label that `hold` keeps for the predictions of
// PendingPredictions(range(0)). One iteration: it is a size.
template <typename Hold>
void MeasurePendingLabels(benchmark::State& state, Hold hold) {
  const size_t n = static_cast<size_t>(state.range(0));
  auto [keys, labels] = PendingPredictions(n);
  size_t bytes = 0;
  for (auto _ : state) {
    const size_t before = HeapInUse();
    auto held = hold(keys, labels);
    bytes = HeapInUse() - before;
    benchmark::DoNotOptimize(held);
  }
  const double per_label = static_cast<double>(bytes) / static_cast<double>(n);
  state.counters["bytes_per_label"] = per_label;
  state.counters["MiB_per_1M"] = per_label * 1e6 / (1 << 20);
}

// The label join once every prediction waits for its click (the key, the
// label, the maturity queue's entry); featmond's monitor holds up to
// monitoring.max_pending_labels of them.
template <typename Joiner>
void BM_PendingLabelMemory(benchmark::State& state) {
  MeasurePendingLabels(state, [&](const std::vector<std::string>& keys, const std::vector<PendingLabel>& labels) {
    auto joiner = std::make_unique<Joiner>(3'600'000, keys.size());
    for (size_t i = 0; i < keys.size(); ++i)
      if (!joiner->AddPrediction(keys[i], labels[i])) state.SkipWithError("refused");
    (void)joiner->TakeDirty();  // as after featmond's commit
    return joiner;
  });
}
// The reference: the same keys and labels in one vector, nothing to find them by.
void BM_PendingLabelMemoryPacked(benchmark::State& state) {
  MeasurePendingLabels(state, [](const std::vector<std::string>& keys, const std::vector<PendingLabel>& labels) {
    std::vector<std::pair<std::string, PendingLabel>> packed;
    packed.reserve(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) packed.emplace_back(keys[i], labels[i]);
    return packed;
  });
}
BENCHMARK(BM_PendingLabelMemory<LabelJoiner>)->Name("pending_labels_memory/node_map_featmond")
    ->Arg(1'000'000)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PendingLabelMemory<FlatLabelJoiner>)->Name("pending_labels_memory/flat_map_export")
    ->Arg(1'000'000)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PendingLabelMemoryPacked)->Name("pending_labels_memory/reference_packed_vector")
    ->Arg(1'000'000)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace featmon::drift

BENCHMARK_MAIN();
