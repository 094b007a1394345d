#include "daemon/pipeline/run_loop.h"

#include <algorithm>
#include <thread>

namespace featmon {

void RunUntilStopped(const std::atomic<bool>& stop, LoopHeartbeats::Heartbeat heartbeat, const Clock* clock,
                     Component component, const std::string& what, const std::function<Status()>& step,
                     RunLoopOptions options) {
  int64_t backoff_ms = 0, last_log_ns = 0;
  uint64_t failures = 0;
  while (!stop.load()) {
    heartbeat.Beat();
    Status st = step();
    if (st.ok()) {
      backoff_ms = 0;
      failures = 0;
      continue;
    }
    ++failures;
    const int64_t now = clock->MonotonicNs();
    if (last_log_ns == 0 || now - last_log_ns >= options.log_interval_ms * 1'000'000) {
      Log(component).error("{}: {} (attempt {}, retrying)", what, st.ToString(), failures);
      last_log_ns = now;
    }
    backoff_ms = backoff_ms == 0 ? options.first_backoff_ms : std::min(backoff_ms * 2, options.max_backoff_ms);
    // Sleep in short slices so a stop request is seen promptly.
    for (int64_t slept = 0; slept < backoff_ms && !stop.load(); slept += 20) {
      heartbeat.Beat();
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(20, backoff_ms - slept)));
    }
  }
}

}  // namespace featmon
