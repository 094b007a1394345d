// What the ingest pipeline needs from Kafka, as narrow interfaces a test can
// replace: a source of messages with rebalance notifications, and a sink for
// dead letters.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/topic_partition.h"

namespace featmon {

struct InputMessage {
  std::string_view topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string_view key;
  std::string_view payload;
};

inline constexpr int64_t kGroupCommittedUnknown = -2;
// A start offset meaning "assign it, but fetch nothing until
// MessageSource::Resume says where to start": a task restoring its state
// from the changelog, whose input offsets are known only once it has.
inline constexpr int64_t kStartPaused = -3;

// Called on the thread serving group events (KafkaConsumer::ServeEvents).
class RebalanceListener {
 public:
  virtual ~RebalanceListener() = default;
  // Fills start_offsets (parallel to `partitions`) with where to resume;
  // kStartPaused holds a partition back until Resume; any other negative
  // value means "no stored position: use auto.offset.reset".
  virtual Status OnAssigned(const std::vector<TopicPartition>& partitions, std::vector<int64_t>* start_offsets) = 0;
  // Just before OnAssigned, with the same partitions: the offset the group
  // last committed for each (what their previous owner had processed and
  // stored), -1 when it has none, or kGroupCommittedUnknown when the group
  // could not be asked (a previous owner may have stored anything up to the
  // partition's end).
  virtual void OnGroupCommitted(const std::vector<TopicPartition>& /*partitions*/,
                                const std::vector<int64_t>& /*offsets*/) {}
  // Called before partitions go away: persist what was consumed from them.
  virtual void OnRevoked(const std::vector<TopicPartition>& partitions) = 0;
  // The number of tasks in the group (the first topic's partitions), once
  // the topics are checked; may come from any thread, before any assignment.
  virtual void OnTaskCount(int /*tasks*/) {}
};

struct PartitionLag {
  TopicPartition tp;
  int64_t high_watermark = -1;  // next offset the broker will write; -1 unknown
};

class MessageSource {
 public:
  virtual ~MessageSource() = default;
  // Appends up to `max` messages, waiting at most timeout_ms for the first.
  // Their bytes stay valid until the next Poll or Close.
  virtual Status Poll(size_t max, int timeout_ms, std::vector<InputMessage>* out) = 0;
  // Best-effort commit to the group, for lag monitoring only.
  virtual void CommitForMonitoring(const std::vector<std::pair<TopicPartition, int64_t>>& next_offsets) = 0;
  // Cached high watermarks of these partitions (no network round trip).
  virtual std::vector<PartitionLag> HighWatermarks(const std::vector<TopicPartition>& partitions) = 0;
  // Starts partitions assigned with kStartPaused at these offsets (negative:
  // auto.offset.reset). Nothing fetched for them before comes out of Poll.
  virtual Status Resume(const std::vector<std::pair<TopicPartition, int64_t>>& from) = 0;
};

// A dead letter's payload is cut beyond this, so that it fits the producer's
// message.max.bytes (1,000,000 by default) with its key and headers.
inline constexpr size_t kDefaultDeadLetterMaxPayloadBytes = 256 << 10;

// Unusable input goes here, unchanged (but cut to a size limit), with headers
// naming why.
class DeadLetterSink {
 public:
  virtual ~DeadLetterSink() = default;
  // An error means the dead letter was not queued; the caller must not move
  // past the message.
  virtual Status Send(const InputMessage& msg, std::string_view reason, std::string_view detail) = 0;
  // Waits until everything sent is acknowledged; called before offsets move past it.
  virtual Status Flush(int timeout_ms) = 0;
};

// Where the ingest pipeline re-keys events by item (kafka.item_repartition_topic):
// records to an explicit partition, each partition's records landing once,
// in the order sent and without gaps, or failing every later one too.
class RepartitionSink {
 public:
  virtual ~RepartitionSink() = default;
  // An error means the record was not queued (and nothing after it will
  // be until it is): the caller must not move past its message.
  virtual Status Send(int32_t partition, std::string_view key, std::string_view value) = 0;
  // Waits until everything sent is acknowledged; called before the offsets
  // of the messages that sent them are committed. An error that does not
  // pass (a gap the producer could not close) keeps failing.
  virtual Status Flush(int timeout_ms) = 0;
};

}  // namespace featmon
