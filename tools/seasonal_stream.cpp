#include "tools/seasonal_stream.h"

#include <algorithm>
#include <cmath>

namespace featmon::tools {

namespace {

constexpr int64_t kDayMs = 24LL * 3'600'000;
constexpr double kTwoPi = 6.283185307179586;

double NormalCdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

double NormalQuantile(double p) {  // by bisection: precise enough for bin edges
  double lo = -10, hi = 10;
  for (int i = 0; i < 100; ++i) {
    const double mid = (lo + hi) / 2;
    (NormalCdf(mid) < p ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

double PsiOfShift(double shift) {
  double psi = 0, below = 0;
  for (int i = 1; i <= 10; ++i) {
    const double cdf = i == 10 ? 1.0 : NormalCdf(NormalQuantile(i / 10.0) - shift);
    const double q = std::max(cdf - below, 1e-12);
    below = cdf;
    psi += (q - 0.1) * std::log(q / 0.1);
  }
  return psi;
}

double Sigmoid(double x) { return 1 / (1 + std::exp(-x)); }
double Logit(double p) { return std::log(p / (1 - p)); }

}  // namespace

StreamShape Stationary(uint64_t seed, double ctr, int64_t duration_ms, double predictions_per_s) {
  StreamShape s;
  s.seed = seed;
  s.duration_ms = duration_ms;
  s.predictions_per_s = predictions_per_s;
  s.traffic_amplitude = s.feature_amplitude = s.device_amplitude = 0;
  s.ctr_low = s.ctr_high = ctr;
  return s;
}

double ShiftForPsi(double psi) {
  double lo = 0, hi = 5;
  for (int i = 0; i < 100; ++i) {
    const double mid = (lo + hi) / 2;
    (PsiOfShift(mid) < psi ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

SeasonalStream::SeasonalStream(StreamShape shape, StreamChange change, std::string model, std::string version)
    : shape_(shape),
      change_(change),
      model_(std::move(model)),
      version_(std::move(version)),
      rng_(shape.seed),
      next_tile_ms_(shape.start_ms) {}

double SeasonalStream::Phase(int64_t ts_ms) const {
  const int64_t in_day = ((ts_ms - shape_.start_ms) % kDayMs + kDayMs) % kDayMs;
  return kTwoPi * static_cast<double>(in_day) / static_cast<double>(kDayMs);
}

bool SeasonalStream::NextTile(Tile* tile) {
  if (next_tile_ms_ >= shape_.start_ms + shape_.duration_ms) return false;
  tile->start_ms = next_tile_ms_;
  tile->end_ms = next_tile_ms_ + shape_.tile_ms;
  next_tile_ms_ = tile->end_ms;
  tile->predictions.clear();
  tile->labels.clear();
  const double rate =
      shape_.predictions_per_s * (1 + shape_.traffic_amplitude * std::sin(Phase(tile->start_ms + shape_.tile_ms / 2)));
  std::poisson_distribution<int64_t> count(std::max(rate, 0.0) * static_cast<double>(shape_.tile_ms) / 1000.0);
  std::uniform_int_distribution<int64_t> at(tile->start_ms, tile->end_ms - 1);
  std::vector<int64_t> times(static_cast<size_t>(count(rng_)));
  for (int64_t& t : times) t = at(rng_);
  std::sort(times.begin(), times.end());
  for (int64_t t : times) {
    SimLabel label;
    tile->predictions.push_back(Make(t, &label));
    tile->labels.push_back(std::move(label));
  }
  predictions_ += times.size();
  return true;
}

drift::Prediction SeasonalStream::Make(int64_t ts_ms, SimLabel* label) {
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> uniform;
  std::exponential_distribution<double> click_delay_s(1.0 / 180);  // clicks come 3 minutes later on average
  const double phase = Phase(ts_ms);
  const bool changed = change_.kind != StreamChange::kNone && ts_ms >= change_.at_ms;
  const bool shifted = changed && (change_.kind == StreamChange::kFeatureShift || change_.kind == StreamChange::kBoth);
  const bool under = changed && (change_.kind == StreamChange::kUnderPrediction || change_.kind == StreamChange::kBoth);

  drift::Prediction p;
  p.model = model_;
  p.model_version = version_;
  p.ts_ms = ts_ms;
  p.sample_hash = rng_();
  const double hour_signal = normal(rng_) + shape_.feature_amplitude * std::sin(phase);
  const double stable_a = normal(rng_) + (shifted ? change_.shift_sd : 0.0);
  const double stable_b = normal(rng_);
  const double latent = normal(rng_);
  const double mobile = 0.6 + shape_.device_amplitude * std::sin(phase);
  const double u = uniform(rng_);
  const char* device = u < mobile ? "mobile" : u < mobile + (1 - mobile) * 0.75 ? "desktop" : "tablet";
  p.features = {{"hour_signal", hour_signal}, {"stable_a", stable_a}, {"stable_b", stable_b}};
  p.cat_features = {{"device", device}};
  const double base_ctr =
      shape_.ctr_low + (shape_.ctr_high - shape_.ctr_low) * (1 + std::sin(phase + 1.0)) / 2;
  p.score = Sigmoid(Logit(base_ctr) + 0.8 * latent + 0.3 * stable_b);

  const double click_p = std::min(0.999, p.score * (under ? change_.click_factor : 1.0));
  const int64_t delay_ms = static_cast<int64_t>(click_delay_s(rng_) * 1000);
  const bool clicked = uniform(rng_) < click_p && delay_ms <= shape_.attribution_window_ms;
  label->due_ms = clicked ? ts_ms + delay_ms : ts_ms + shape_.attribution_window_ms;
  label->label = {model_, version_, p.score, clicked, ts_ms};
  return p;
}

drift::EvaluationOutput MonitorDriver::Feed(Tile& tile) {
  for (const auto& p : tile.predictions) monitor_->Observe(p);
  for (auto& l : tile.labels) pending_.push(std::move(l));
  while (!pending_.empty() && pending_.top().due_ms <= tile.end_ms) {
    const auto& l = pending_.top();
    if (l.label.clicked) monitor_->OnClickAttributed(l.label.model, l.label.model_version, l.due_ms);
    monitor_->OnLabel(l.label);
    pending_.pop();
  }
  return monitor_->AdvanceWatermark(tile.end_ms);
}

}  // namespace featmon::tools
