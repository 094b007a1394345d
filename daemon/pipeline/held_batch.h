// The batch of messages a pipeline works through. A message that cannot be
// processed yet (its state unreadable, its dead letter not queued) stops the
// pipeline there; the batch keeps it and the rest, and the source is not
// polled again until they are done, so their bytes stay valid and their
// offsets are never passed.
//
//   if (Status st = batch.Refill(source, max, timeout_ms, clock); !st.ok()) return st;
//   for (; !batch.done(); batch.Advance()) { if (!Process(batch.next()).ok()) break; }
//
// Thread-safety: none; the pipeline's thread.
#pragma once

#include <cstdint>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "common/topic_partition.h"
#include "daemon/kafka/message_source.h"

namespace featmon {

class HeldBatch {
 public:
  // Polls a new batch once every message of the last one is done.
  Status Refill(MessageSource* source, size_t max, int timeout_ms, const Clock* clock);
  bool done() const { return next_ >= messages_.size(); }
  const InputMessage& next() const { return messages_[next_]; }
  void Advance() { ++next_; }
  // The wall clock when the batch was polled: bounds its future timestamps.
  int64_t polled_at_ms() const { return polled_at_ms_; }
  // The monotonic clock at the same moment: when its events were read.
  int64_t polled_at_ns() const { return polled_at_ns_; }
  // Forgets what is left of these partitions (revoked: their next owner, or
  // this pipeline if they come back, replays it from their checkpoints). The
  // rest stays: Kafka has moved past it and will not hand it over again.
  // True when the next message was among them.
  bool DropPartitions(const std::vector<TopicPartition>& partitions);

 private:
  std::vector<InputMessage> messages_;
  size_t next_ = 0;
  int64_t polled_at_ms_ = 0;
  int64_t polled_at_ns_ = 0;
};

}  // namespace featmon
