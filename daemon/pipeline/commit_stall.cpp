#include "daemon/pipeline/commit_stall.h"

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

CommitStallTracker::CommitStallTracker(Metrics* metrics, const Clock* clock, Component component, std::string what)
    : metrics_(metrics), clock_(clock), component_(component), what_(std::move(what)) {}

CommitStallTracker::~CommitStallTracker() {
  if (reason_) metrics_->CommitsStalled(reason_).Decrement();
}

void CommitStallTracker::Failed(const Status& st) {
  const char* reason = CommitStallReason(st);
  ++retries_;
  if (reason == reason_) return;
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
}

void CommitStallTracker::Succeeded() {
  if (!reason_) return;
  metrics_->CommitsStalled(reason_).Decrement();
  Log(component_).info("{}: state commits succeed again after {:.1f} s and {} failed attempts ({})", what_,
                       static_cast<double>(clock_->MonotonicNs() - since_ns_) / 1e9, retries_, reason_);
  reason_ = nullptr;
}

}  // namespace featmon
