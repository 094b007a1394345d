#include "daemon/pipeline/held_batch.h"

#include <algorithm>

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

bool HeldBatch::DropPartitions(const std::vector<TopicPartition>& partitions) {
  auto revoked = [&](const InputMessage& m) {
    return std::any_of(partitions.begin(), partitions.end(),
                       [&](const TopicPartition& tp) { return tp.partition == m.partition && tp.topic == m.topic; });
  };
  if (done()) return false;
  const bool next_dropped = revoked(messages_[next_]);
  messages_.erase(std::remove_if(messages_.begin() + static_cast<std::ptrdiff_t>(next_), messages_.end(), revoked),
                  messages_.end());
  return next_dropped;
}

}  // namespace featmon
