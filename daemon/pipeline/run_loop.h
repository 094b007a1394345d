// The loop every long-running thread of featmond runs: beat, take one step,
// and when a step fails, log it (at most once per 5 s) and back off, from
// 100 ms doubling to 2 s, until a step succeeds again.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "common/clock.h"
#include "common/heartbeats.h"
#include "common/status.h"
#include "daemon/logging/log.h"

namespace featmon {

struct RunLoopOptions {
  int64_t first_backoff_ms = 100;  // after the first failure; doubled after each further one. Default: 100ms
  int64_t max_backoff_ms = 2'000;  // Default: 2s
  int64_t log_interval_ms = 5'000;  // one error line per this. Default: 5s
};

// Runs `step` until `stop` is set. `what` prefixes the error lines.
void RunUntilStopped(const std::atomic<bool>& stop, LoopHeartbeats::Heartbeat heartbeat, const Clock* clock,
                     Component component, const std::string& what, const std::function<Status()>& step,
                     RunLoopOptions options = {});

}  // namespace featmon
