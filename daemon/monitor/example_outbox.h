// Labeled examples between their label's maturity and the examples topic,
// exactly once (a transactional outbox, read back after a crash):
//   1. A matured example is added here and written to the store in the
//      monitor's next commit, with the state and offsets that matured it, so
//      a crash after that commit cannot lose it and a crash before it
//      matures it again.
//   2. After that commit it is produced, carrying the outbox's id and its
//      sequence number in a header.
//   3. A commit after its delivery is confirmed deletes it, and stores each
//      partition's offset past the deliveries confirmed so far.
//   4. After a crash, the stored examples may or may not have reached the
//      topic; reading each partition back from its stored offset tells
//      which (Recover), and only the others are produced again. A delivery
//      that fails is resolved the same way before anything is produced.
// Kafka transactions would do step 4's work on a real broker, but librdkafka's
// mock cluster (every test's broker) accepts them without their guarantees;
// the read-back works on both and is what the kill test checks.
//
// The id is random, drawn when the outbox is first used and stored: a new
// data directory never mistakes another outbox's records for its own.
//
// Thread-safety: none; the monitor pipeline's thread owns it.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "daemon/kafka/outbox_sink.h"
#include "daemon/store/state_store.h"

namespace featmon {

class ExampleOutbox {
 public:
  // Keys of the monitor column family that are the outbox's start with this.
  static constexpr std::string_view kKeyPrefix = "x/";

  ExampleOutbox(OutboxSink* sink, size_t max_waiting) : sink_(sink), max_waiting_(max_waiting) {}

  // One stored key (starting with kKeyPrefix) at load.
  Status Restore(std::string_view key, std::string_view value);
  // Adds a matured example, keyed for the topic by `key` (the user).
  void Add(std::string model, std::string key, std::string value);
  // More examples wait than max_waiting: the monitor should stop reading
  // until deliveries catch up.
  bool backlogged() const { return entries_.size() >= max_waiting_; }
  size_t waiting() const { return entries_.size(); }

  // Before a store commit: learns what was delivered (waiting up to
  // timeout_ms) and appends the outbox's changes since the last successful
  // commit to `writes`.
  void PrepareCommit(int timeout_ms, std::vector<MonitorWrite>* writes);
  // After that commit succeeded: the changes are stored; produces what is
  // stored and not in flight, after reading the topic back when a crash or a
  // failed delivery left its fate unknown. An error (Kafka unreachable)
  // leaves the examples waiting for the next commit.
  Status Committed();

  // Examples confirmed in the topic since the last call, by model.
  std::map<std::string, uint64_t> TakeDelivered() { return std::exchange(delivered_, {}); }

 private:
  struct Entry {
    std::string model, key, value;
    bool in_flight = false;
  };
  // Drops a delivered entry; false when it was gone already.
  bool Forget(uint64_t seq);
  void Confirm(const OutboxDelivery& d);
  Status Recover();

  OutboxSink* sink_;
  size_t max_waiting_;
  uint64_t id_ = 0;  // 0 until drawn
  uint64_t next_seq_ = 0;
  std::map<uint64_t, Entry> entries_;     // by sequence
  std::map<int32_t, int64_t> confirmed_;  // partition -> offset past its last confirmed delivery
  std::vector<uint64_t> to_produce_;      // stored, not in flight (entries gone since are skipped)
  bool fate_unknown_ = false;             // some stored example may be in the topic: Recover before producing
  // Changed since the last successful commit: the entries from this
  // sequence on were added, these were removed, these offsets moved.
  uint64_t unwritten_from_ = 0;
  std::vector<uint64_t> unwritten_removed_;
  std::set<int32_t> unwritten_offsets_;
  std::map<std::string, uint64_t> delivered_;
};

}  // namespace featmon
