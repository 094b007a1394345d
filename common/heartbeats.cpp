#include "common/heartbeats.h"

namespace featmon {

LoopHeartbeats::Heartbeat LoopHeartbeats::Register(std::string name) {
  std::lock_guard lock(mu_);
  Loop& loop = loops_.emplace_back();
  loop.name = std::move(name);
  loop.last_ns.store(clock_->MonotonicNs(), std::memory_order_relaxed);
  return Heartbeat(&loop, clock_);
}

std::vector<std::string> LoopHeartbeats::Stalled(int64_t max_silence_ns) const {
  const int64_t now = clock_->MonotonicNs();
  std::vector<std::string> stalled;
  std::lock_guard lock(mu_);
  for (const Loop& loop : loops_) {
    if (now - loop.last_ns.load(std::memory_order_relaxed) > max_silence_ns) stalled.push_back(loop.name);
  }
  return stalled;
}

}  // namespace featmon
