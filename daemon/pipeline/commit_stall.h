// One pipeline's failing state commits, as operators see them: the
// featmon_commits_stalled gauge by reason, one log line when commits start
// failing (or the reason changes) and one when they succeed again, instead of
// a line per retry.
//
// Several pipelines share the gauge, so each adds and removes only itself.
// Not thread-safe: one per pipeline, used from its thread.
#pragma once

#include <cstdint>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "daemon/logging/log.h"
#include "daemon/metrics/metrics.h"

namespace featmon {

// The reason label of a failed commit (one of kCommitStallReasons).
const char* CommitStallReason(const Status& st);

class CommitStallTracker {
 public:
  // `what` names the pipeline in log lines ("ingest", "monitoring").
  CommitStallTracker(Metrics* metrics, const Clock* clock, Component component, std::string what);
  ~CommitStallTracker();
  CommitStallTracker(const CommitStallTracker&) = delete;
  CommitStallTracker& operator=(const CommitStallTracker&) = delete;

  void Failed(const Status& st);
  void Succeeded();
  bool stalled() const { return reason_ != nullptr; }

 private:
  Metrics* metrics_;
  const Clock* clock_;
  Component component_;
  std::string what_;
  const char* reason_ = nullptr;  // of the current stall; null while commits succeed
  int64_t since_ns_ = 0;          // monotonic start of the current stall
  uint64_t retries_ = 0;          // failures since it started
};

}  // namespace featmon
