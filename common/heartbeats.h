// Progress marks of a daemon's long-running loops. Each loop beats once per
// iteration; a supervisor (the systemd watchdog in featmond) asks which loops
// have been silent too long. A loop that is retrying an error still beats:
// only a loop that no longer comes round is stalled.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"

namespace featmon {

class LoopHeartbeats {
  struct Loop {
    std::string name;
    std::atomic<int64_t> last_ns{0};
  };

 public:
  // What a loop holds to beat; lock-free, valid while the LoopHeartbeats lives.
  class Heartbeat {
   public:
    Heartbeat() = default;
    void Beat() const {
      if (loop_) loop_->last_ns.store(clock_->MonotonicNs(), std::memory_order_relaxed);
    }

   private:
    friend class LoopHeartbeats;
    Heartbeat(Loop* loop, const Clock* clock) : loop_(loop), clock_(clock) {}
    Loop* loop_ = nullptr;  // null: beats go nowhere (a loop nobody watches)
    const Clock* clock_ = nullptr;
  };

  explicit LoopHeartbeats(const Clock* clock) : clock_(clock) {}

  // Adds a loop, counted as having just beaten.
  Heartbeat Register(std::string name);
  // Names of the loops silent for longer than max_silence_ns.
  std::vector<std::string> Stalled(int64_t max_silence_ns) const;

 private:
  const Clock* clock_;
  mutable std::mutex mu_;  // guards the deque's shape; beats only touch an element
  std::deque<Loop> loops_;  // a deque: Register never moves a loop another thread beats
};

}  // namespace featmon
