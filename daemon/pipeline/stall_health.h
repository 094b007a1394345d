// One pipeline's stalls as operators see them: its state commits failing, or
// a message it cannot process yet (held, with the rest of its batch). A
// failed commit is counted (featmon_commit_failures_total) and sets
// featmon_commits_stalled for its reason; what holds a message counts itself
// where it fails (featmon_store_read_failures_total for a read). Either kind
// logs one line when the stall starts (or its reason changes) and one when it
// ends, instead of a line per retry; a successful commit is timed
// (featmon_commit_duration_seconds). /readyz reads healthy() and error() from
// HTTP threads.
//
// Several pipelines share the gauges, so each adds and removes only itself.
// Thread-safety: Failed, Succeeded, Reset and stalled() on the pipeline's
// thread; healthy() and error() from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "daemon/logging/log.h"
#include "daemon/metrics/metrics.h"

namespace featmon {

// The reason label of a failed commit (one of kCommitStallReasons).
const char* CommitStallReason(const Status& st);

class StallHealth {
 public:
  enum class Operation { kCommit, kHold };
  // `what` names the pipeline in log lines ("ingest", "monitoring").
  StallHealth(Metrics* metrics, const Clock* clock, Component component, std::string what,
              Operation operation = Operation::kCommit);
  ~StallHealth();
  StallHealth(const StallHealth&) = delete;
  StallHealth& operator=(const StallHealth&) = delete;

  // The operation failed; returns `st` for the caller to pass on.
  Status Failed(const Status& st);
  // A commit that started at `started_ns` (monotonic) succeeded.
  void Succeeded(int64_t started_ns);
  // A held message went through (kHold).
  void Succeeded() { Succeeded(0); }
  // Forgets a stall whose work was dropped (revoked partitions, which their
  // next owner replays from their checkpoints).
  void Reset();
  bool stalled() const { return reason_ != nullptr; }
  bool healthy() const { return healthy_.load(); }
  // "state commits are failing: <why>" or "a message is held: <why>"; "" otherwise.
  std::string error() const;

 private:
  void Clear();
  void SetStalledGauge(int delta);
  Metrics* metrics_;
  const Clock* clock_;
  Component component_;
  std::string what_;
  Operation operation_;
  const char* reason_ = nullptr;  // of the current stall; null while commits succeed
  int64_t since_ns_ = 0;          // monotonic start of the current stall
  uint64_t retries_ = 0;          // failures since it started
  std::atomic<bool> healthy_{true};
  mutable std::mutex error_mu_;
  std::string error_;             // see error(); guarded by error_mu_
};

}  // namespace featmon
