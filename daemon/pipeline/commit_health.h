// One pipeline's state commits as operators see them: a failed commit is
// counted (featmon_commit_failures_total), sets featmon_commits_stalled for its
// reason and logs one line when commits start failing (or the reason
// changes) and one when they succeed again, instead of a line per retry; a
// successful one is timed (featmon_commit_duration_seconds). /readyz reads
// healthy() and error() from HTTP threads.
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

class CommitHealth {
 public:
  // `what` names the pipeline in log lines ("ingest", "monitoring").
  CommitHealth(Metrics* metrics, const Clock* clock, Component component, std::string what);
  ~CommitHealth();
  CommitHealth(const CommitHealth&) = delete;
  CommitHealth& operator=(const CommitHealth&) = delete;

  // A commit failed; returns `st` for the caller to pass on.
  Status Failed(const Status& st);
  // A commit that started at `started_ns` (monotonic) succeeded.
  void Succeeded(int64_t started_ns);
  // Forgets a stall whose work was dropped (revoked partitions, which their
  // next owner replays from their checkpoints).
  void Reset();
  bool stalled() const { return reason_ != nullptr; }
  bool healthy() const { return healthy_.load(); }
  std::string error() const;

 private:
  void Clear();
  Metrics* metrics_;
  const Clock* clock_;
  Component component_;
  std::string what_;
  const char* reason_ = nullptr;  // of the current stall; null while commits succeed
  int64_t since_ns_ = 0;          // monotonic start of the current stall
  uint64_t retries_ = 0;          // failures since it started
  std::atomic<bool> healthy_{true};
  mutable std::mutex error_mu_;
  std::string error_;             // why commits fail; guarded by error_mu_
};

}  // namespace featmon
