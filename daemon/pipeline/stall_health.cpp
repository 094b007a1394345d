#include "daemon/pipeline/stall_health.h"

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

namespace {
// How an operator reads each kind of stall: in /readyz and the line that
// starts it, and in the line that ends it. Tests and runbooks grep these.
struct StallWords {
  const char* error;    // "<error>: <status>" in /readyz
  const char* started;  // "<what>: <started> (<reason>), holding offsets ..."
  const char* ended;    // "<what>: <ended> after 1.0 s ..."
};
StallWords Words(StallHealth::Operation op) {
  if (op == StallHealth::Operation::kCommit)
    return {"state commits are failing", "state commits failing", "state commits succeed again"};
  return {"a message is held", "a message is held", "the held message went through"};
}
}  // namespace

StallHealth::StallHealth(Metrics* metrics, const Clock* clock, Component component, std::string what,
                         Operation operation)
    : metrics_(metrics), clock_(clock), component_(component), what_(std::move(what)), operation_(operation) {}

StallHealth::~StallHealth() { SetStalledGauge(-1); }

// featmon_commits_stalled counts pipelines whose commits fail; reads have no gauge.
void StallHealth::SetStalledGauge(int delta) {
  if (reason_ && operation_ == Operation::kCommit) metrics_->CommitsStalled(reason_).Increment(delta);
}

Status StallHealth::Failed(const Status& st) {
  if (operation_ == Operation::kCommit) metrics_->CommitFailures().Increment();
  healthy_ = false;
  {
    std::lock_guard lock(error_mu_);
    error_ = std::string(Words(operation_).error) + ": " + st.ToString();
  }
  const char* reason = CommitStallReason(st);
  ++retries_;
  if (reason == reason_) return st;
  if (reason_) {
    SetStalledGauge(-1);
  } else {
    since_ns_ = clock_->MonotonicNs();
    retries_ = 1;
  }
  reason_ = reason;
  SetStalledGauge(+1);
  Log(component_).error("{}: {} ({}), holding offsets and retrying: {}", what_, Words(operation_).started, reason_,
                        st.ToString());
  return st;
}

void StallHealth::Succeeded(int64_t started_ns) {
  if (operation_ == Operation::kCommit)
    metrics_->CommitDuration().Observe(static_cast<double>(clock_->MonotonicNs() - started_ns) / 1e9);
  if (!reason_) return;
  Log(component_).info("{}: {} after {:.1f} s and {} failed attempts ({})", what_, Words(operation_).ended,
                       static_cast<double>(clock_->MonotonicNs() - since_ns_) / 1e9, retries_, reason_);
  Clear();
}

void StallHealth::Reset() {
  if (reason_) Clear();
}

void StallHealth::Clear() {
  SetStalledGauge(-1);
  reason_ = nullptr;
  healthy_ = true;
  std::lock_guard lock(error_mu_);
  error_.clear();
}

std::string StallHealth::error() const {
  std::lock_guard lock(error_mu_);
  return error_;
}

}  // namespace featmon
