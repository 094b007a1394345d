// Where an outbox delivers its records: a topic that can say, after a crash,
// which of them it already holds. Each record carries the outbox's id and its
// sequence number in a header, so the records a dead process had in flight
// are found by reading the topic back, not guessed.
//
// Thread-safety: one thread calls everything.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace featmon {

struct OutboxDelivery {
  uint64_t seq = 0;
  int32_t partition = -1;
  int64_t offset = -1;  // < 0: the delivery failed, and the record may or may not be in the topic
};

class OutboxSink {
 public:
  virtual ~OutboxSink() = default;
  // Queues a record; Unavailable when the local queue cannot take it now.
  virtual Status Produce(uint64_t outbox_id, uint64_t seq, std::string_view key, std::string_view value) = 0;
  // Waits up to timeout_ms for the fate of every queued record and appends
  // the fates learnt (in any order). Records still in flight stay queued.
  virtual void Flush(int timeout_ms, std::vector<OutboxDelivery>* out) = 0;
  // Records queued whose fate is not known yet.
  virtual size_t in_flight() const = 0;
  // The sequence numbers of outbox_id's records found in each partition from
  // `from` (a partition missing there: from its start) to its current end,
  // and those ends.
  virtual Status FindDelivered(uint64_t outbox_id, const std::map<int32_t, int64_t>& from, std::set<uint64_t>* seqs,
                               std::map<int32_t, int64_t>* ends) = 0;
};

}  // namespace featmon
