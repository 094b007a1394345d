// When to delete the local state of tasks this instance no longer holds, as
// Kafka Streams deletes a revoked task's directory after
// state.cleanup.delay.ms: not at once, since a task often comes back within
// a rebalance or two (a rolling restart) and then needs only the
// changelog's tail; not never, since a copy nobody updates only takes disk.
// A task assigned again before its delay is up is no longer due.
//
// Pure: the caller passes the time (any monotonic milliseconds).
#pragma once

#include <cstdint>
#include <map>
#include <vector>

namespace featmon::cluster {

class RevokedStateCleanup {
 public:
  // delay_ms <= 0 keeps revoked state forever: nothing is ever due.
  explicit RevokedStateCleanup(int64_t delay_ms) : delay_ms_(delay_ms) {}

  // Task `task` was revoked at now_ms. Revoked again, it keeps its first time.
  void Revoked(int32_t task, int64_t now_ms);
  // Task `task` is held again: its state is in use, never due.
  void Assigned(int32_t task) { revoked_at_.erase(task); }
  // The tasks whose delay is up at now_ms, in task order; they are no
  // longer tracked (Revoked again to start over).
  std::vector<int32_t> TakeDue(int64_t now_ms);
  bool waiting() const { return !revoked_at_.empty(); }

 private:
  int64_t delay_ms_;
  std::map<int32_t, int64_t> revoked_at_;
};

}  // namespace featmon::cluster
