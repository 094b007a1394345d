#include "daemon/pipeline/held_batch.h"

namespace featmon {

Status HeldBatch::Refill(MessageSource* source, size_t max, int timeout_ms, const Clock* clock) {
  if (!done()) return Status::Ok();
  messages_.clear();
  next_ = 0;
  Status st = source->Poll(max, timeout_ms, &messages_);
  polled_at_ms_ = clock->NowMs();
  polled_at_ns_ = clock->MonotonicNs();
  return st;
}

}  // namespace featmon
