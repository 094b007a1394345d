#include "daemon/pipeline/commit_health.h"

namespace featmon {

const char* CommitStallReason(const Status& st) {
  switch (st.code()) {
    case StatusCode::kNoSpace: return "disk_full";
    case StatusCode::kIOError: return "io_error";
    case StatusCode::kCorruption: return "corruption";
    case StatusCode::kUnavailable: return "unavailable";
    default: return "other";
  }
}

CommitHealth::CommitHealth(Metrics* metrics, const Clock* clock, Component component, std::string what)
    : metrics_(metrics), clock_(clock), component_(component), what_(std::move(what)) {}

CommitHealth::~CommitHealth() {
  if (reason_) metrics_->CommitsStalled(reason_).Decrement();
}

Status CommitHealth::Failed(const Status& st) {
  metrics_->CommitFailures().Increment();
  healthy_ = false;
  {
    std::lock_guard lock(error_mu_);
    error_ = st.ToString();
  }
  const char* reason = CommitStallReason(st);
  ++retries_;
  if (reason == reason_) return st;
  if (reason_) {
    metrics_->CommitsStalled(reason_).Decrement();
  } else {
    since_ns_ = clock_->MonotonicNs();
    retries_ = 1;
  }
  reason_ = reason;
  metrics_->CommitsStalled(reason_).Increment();
  Log(component_).error("{}: state commits failing ({}), holding offsets and retrying until they succeed: {}", what_,
                        reason_, st.ToString());
  return st;
}

void CommitHealth::Succeeded(int64_t started_ns) {
  metrics_->CommitDuration().Observe(static_cast<double>(clock_->MonotonicNs() - started_ns) / 1e9);
  if (!reason_) return;
  Log(component_).info("{}: state commits succeed again after {:.1f} s and {} failed attempts ({})", what_,
                       static_cast<double>(clock_->MonotonicNs() - since_ns_) / 1e9, retries_, reason_);
  Clear();
}

void CommitHealth::Reset() {
  if (reason_) Clear();
}

void CommitHealth::Clear() {
  if (reason_) metrics_->CommitsStalled(reason_).Decrement();
  reason_ = nullptr;
  healthy_ = true;
  std::lock_guard lock(error_mu_);
  error_.clear();
}

std::string CommitHealth::error() const {
  std::lock_guard lock(error_mu_);
  return error_;
}

}  // namespace featmon
