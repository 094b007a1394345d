#include "drift/detectors.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/byte_codec.h"

namespace featmon::drift {

// ---- ADWIN -----------------------------------------------------------------

Adwin::Adwin(AdwinOptions options) : options_(options) {}

DetectorState Adwin::Update(double x) {
  ++ticks_;
  ++width_;
  if (width_ > 1) {
    double mean_before = (total_) / static_cast<double>(width_ - 1);
    variance_ += static_cast<double>(width_ - 1) * (x - mean_before) * (x - mean_before) / static_cast<double>(width_);
  }
  total_ += x;
  if (rows_.empty()) rows_.emplace_back();
  rows_[0].push_back({x, 0.0});
  Compress();
  if (ticks_ % static_cast<uint64_t>(options_.clock) != 0 || width_ <= options_.grace_period) return DetectorState::kStable;
  if (!DetectCut()) return DetectorState::kStable;
  ++drifts_;
  return DetectorState::kDrift;
}

void Adwin::Compress() {
  for (size_t i = 0; i < rows_.size(); ++i) {
    if (static_cast<int>(rows_[i].size()) <= options_.max_buckets) break;
    // Merge the two oldest buckets of row i into one bucket of row i + 1.
    const double n = std::ldexp(1.0, static_cast<int>(i));
    Bucket a = rows_[i][0], b = rows_[i][1];
    rows_[i].erase(rows_[i].begin(), rows_[i].begin() + 2);
    double diff = a.total / n - b.total / n;
    Bucket merged{a.total + b.total, a.variance + b.variance + n * n * diff * diff / (2 * n)};
    if (i + 1 == rows_.size()) rows_.emplace_back();
    rows_[i + 1].push_back(merged);
  }
}

void Adwin::DropOldest() {
  for (size_t i = rows_.size(); i-- > 0;) {
    if (rows_[i].empty()) continue;
    const double n = std::ldexp(1.0, static_cast<int>(i));
    Bucket b = rows_[i].front();
    rows_[i].erase(rows_[i].begin());
    width_ -= static_cast<int64_t>(n);
    total_ -= b.total;
    double rest = static_cast<double>(width_);
    if (rest > 0) {
      double diff = b.total / n - total_ / rest;
      variance_ -= b.variance + n * rest * diff * diff / (n + rest);
    } else {
      variance_ = 0;
    }
    variance_ = std::max(variance_, 0.0);
    while (!rows_.empty() && rows_.back().empty()) rows_.pop_back();
    return;
  }
}

bool Adwin::DetectCut() {
  bool changed = false;
  for (bool cut = true; cut && width_ > 2 * options_.min_window;) {
    cut = false;
    const double w = static_cast<double>(width_);
    const double log_term = std::log(2.0 * std::log(w) / options_.delta);
    const double sigma2 = variance_ / w;
    double n0 = 0, n1 = w, u0 = 0, u1 = total_;
    // Walk cut points from the oldest bucket forwards.
    for (size_t i = rows_.size(); i-- > 0 && !cut;) {
      const double n = std::ldexp(1.0, static_cast<int>(i));
      for (const Bucket& b : rows_[i]) {
        n0 += n;
        n1 -= n;
        u0 += b.total;
        u1 -= b.total;
        if (n1 <= static_cast<double>(options_.min_window)) break;
        if (n0 <= static_cast<double>(options_.min_window)) continue;
        double m = 1.0 / (n0 - 4) + 1.0 / (n1 - 4);
        double eps = std::sqrt(2 * m * sigma2 * log_term) + 2.0 / 3.0 * log_term * m;
        if (std::fabs(u0 / n0 - u1 / n1) > eps) {
          cut = changed = true;
          DropOldest();
          break;
        }
      }
    }
  }
  return changed;
}

std::string Adwin::Serialize() const {
  std::string out;
  PutSigned(&out, width_);
  PutFixed(&out, total_);
  PutFixed(&out, variance_);
  PutVarint(&out, ticks_);
  PutVarint(&out, drifts_);
  PutVarint(&out, rows_.size());
  for (const auto& row : rows_) {
    PutVarint(&out, row.size());
    for (const Bucket& b : row) {
      PutFixed(&out, b.total);
      PutFixed(&out, b.variance);
    }
  }
  return out;
}

Status Adwin::Deserialize(std::string_view bytes) {
  ByteReader r(bytes);
  uint64_t rows = 0;
  if (!r.ReadSigned(&width_) || !r.ReadFixed(&total_) || !r.ReadFixed(&variance_) || !r.ReadVarint(&ticks_) ||
      !r.ReadVarint(&drifts_) || !r.ReadVarint(&rows) || rows > 64)
    return Status::Corruption("adwin state");
  rows_.assign(rows, {});
  for (auto& row : rows_) {
    uint64_t n = 0;
    if (!r.ReadVarint(&n) || n > 64) return Status::Corruption("adwin row");
    row.resize(n);
    for (Bucket& b : row)
      if (!r.ReadFixed(&b.total) || !r.ReadFixed(&b.variance)) return Status::Corruption("adwin bucket");
  }
  return r.done() ? Status::Ok() : Status::Corruption("adwin trailing bytes");
}

// ---- DDM -------------------------------------------------------------------

Ddm::Ddm(DdmOptions options) : options_(options) { Reset(); }

void Ddm::Reset() {
  n_ = 0;
  p_ = 0;
  p_min_ = s_min_ = ps_min_ = std::numeric_limits<double>::max();
}

DetectorState Ddm::Update(double x) {
  ++n_;
  p_ += (x - p_) / static_cast<double>(n_);
  double s = std::sqrt(p_ * (1 - p_) / static_cast<double>(n_));
  if (n_ < options_.warm_start) return DetectorState::kStable;
  if (p_ + s <= ps_min_) {
    p_min_ = p_;
    s_min_ = s;
    ps_min_ = p_ + s;
  }
  if (p_ + s > p_min_ + options_.drift_level * s_min_) {
    ++drifts_;
    Reset();
    return DetectorState::kDrift;
  }
  if (p_ + s > p_min_ + options_.warning_level * s_min_) return DetectorState::kWarning;
  return DetectorState::kStable;
}

std::string Ddm::Serialize() const {
  std::string out;
  PutSigned(&out, n_);
  for (double v : {p_, p_min_, s_min_, ps_min_}) PutFixed(&out, v);
  PutVarint(&out, drifts_);
  return out;
}

Status Ddm::Deserialize(std::string_view bytes) {
  ByteReader r(bytes);
  if (!r.ReadSigned(&n_) || !r.ReadFixed(&p_) || !r.ReadFixed(&p_min_) || !r.ReadFixed(&s_min_) ||
      !r.ReadFixed(&ps_min_) || !r.ReadVarint(&drifts_) || !r.done())
    return Status::Corruption("ddm state");
  return Status::Ok();
}

// ---- Page-Hinkley ----------------------------------------------------------

PageHinkley::PageHinkley(PageHinkleyOptions options) : options_(options) {}

void PageHinkley::Reset() {
  n_ = 0;
  mean_ = 0;
  sum_ = 0;
}

DetectorState PageHinkley::Update(double x) {
  ++n_;
  mean_ += (x - mean_) / static_cast<double>(n_);
  sum_ = std::max(0.0, options_.alpha * sum_ + x - mean_ - options_.delta);
  if (n_ < options_.min_instances) return DetectorState::kStable;
  if (sum_ >= options_.threshold) {
    ++drifts_;
    Reset();
    return DetectorState::kDrift;
  }
  return DetectorState::kStable;
}

std::string PageHinkley::Serialize() const {
  std::string out;
  PutSigned(&out, n_);
  PutFixed(&out, mean_);
  PutFixed(&out, sum_);
  PutVarint(&out, drifts_);
  return out;
}

Status PageHinkley::Deserialize(std::string_view bytes) {
  ByteReader r(bytes);
  if (!r.ReadSigned(&n_) || !r.ReadFixed(&mean_) || !r.ReadFixed(&sum_) || !r.ReadVarint(&drifts_) || !r.done())
    return Status::Corruption("page-hinkley state");
  return Status::Ok();
}

// ---- Calibration CUSUM -----------------------------------------------------

CalibrationCusum::CalibrationCusum(CalibrationCusumOptions options) : options_(options) {}

void CalibrationCusum::AddLabelBase(double score, double* up_base, double* down_base) const {
  const double s = std::clamp(score, 1e-7, 1 - 1e-7);
  const double r = options_.odds_ratio;
  *up_base -= std::log(1 - s + r * s);
  *down_base -= std::log(1 - s + s / r);
}

DetectorState CalibrationCusum::Update(double clicks, double up_base, double down_base) {
  const double log_r = std::log(options_.odds_ratio);
  up_ = std::max(0.0, up_ + clicks * log_r + up_base);
  down_ = std::max(0.0, down_ - clicks * log_r + down_base);
  if (up_ < options_.threshold && down_ < options_.threshold) return DetectorState::kStable;
  ++drifts_;
  last_drift_odds_ratio_ = up_ >= options_.threshold ? options_.odds_ratio : 1 / options_.odds_ratio;
  up_ = down_ = 0;
  return DetectorState::kDrift;
}

std::string CalibrationCusum::Serialize() const {
  std::string out;
  PutFixed(&out, up_);
  PutFixed(&out, down_);
  PutVarint(&out, drifts_);
  return out;
}

Status CalibrationCusum::Deserialize(std::string_view bytes) {
  ByteReader r(bytes);
  if (!r.ReadFixed(&up_) || !r.ReadFixed(&down_) || !r.ReadVarint(&drifts_) || !r.done())
    return Status::Corruption("calibration cusum state");
  return Status::Ok();
}

}  // namespace featmon::drift
