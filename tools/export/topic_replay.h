// The views, clicks and predictions topics replayed in event-time order,
// for featmon-export: every partition from a start offset (the earliest, or
// the first at a time: offsets for times) up to its end when the replay
// began, merged the way Kafka Streams picks records: the next record is the
// oldest head among the partitions, a prediction before the events of its
// own millisecond.
//
// Each partition is read from its own librdkafka queue (not forwarded to the
// consumer queue), so the merge takes the next batch of exactly the
// partition whose head it used up, and librdkafka bounds each partition's
// prefetch by itself (queued.min.messages applies to a queue's length; with
// one shared queue, the partitions ahead in time filled it and stopped the
// fetches of the one the merge waited for). Memory: the prefetch and one
// decoded batch per partition, whatever the history's length.
//
// Messages that do not decode are counted by topic and reason, not fatal.
// Thread-safety: none.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <queue>
#include <string>
#include <variant>
#include <vector>

#include "common/status.h"
#include "daemon/codec/event_decoder.h"
#include "daemon/codec/prediction_record.h"
#include "features/event.h"

typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_queue_s rd_kafka_queue_t;

namespace featmon::exporter {

struct ReplayOptions {
  std::string brokers;
  std::map<std::string, std::string> properties;  // librdkafka settings, as featmond's kafka.properties
  std::string views_topic, clicks_topic, predictions_topic;
  int64_t events_from_ms = -1;       // views and clicks from the first offset at this time; -1: the earliest
  int64_t predictions_from_ms = -1;  // predictions likewise
  DecoderOptions decoder;
};

struct ReplayRecord {
  int64_t ts_ms = 0;
  std::variant<Event, PredictionRecord> record;
  bool prediction() const { return record.index() == 1; }
};

class TopicReplay {
 public:
  static Result<std::unique_ptr<TopicReplay>> Open(const ReplayOptions& options);
  ~TopicReplay();

  // The next record in event-time order; nullptr at the end. The record is
  // the caller's to change until the next call; what it swaps in (a
  // vector with capacity) the next decode into that slot reuses. An error when
  // the broker fails (the replay cannot go on without the missing records).
  Result<ReplayRecord*> Next();

  uint64_t total_messages() const { return total_; }  // across all partitions, from start to end
  uint64_t read_messages() const { return read_; }
  // "topic/reason" -> count of messages that did not decode
  const std::map<std::string, uint64_t>& rejected() const { return rejected_; }
  // Partitions read from their start because offsets-for-times found no
  // message at or after the start time in them.
  size_t timestamp_fallbacks() const { return timestamp_fallbacks_; }

 private:
  struct Partition {
    std::string topic;
    int32_t partition = 0;
    EventType type = EventType::kView;
    bool predictions = false;
    int64_t end = 0;        // offset the replay stops at
    int64_t next = 0;       // next offset to read
    rd_kafka_queue_t* queue = nullptr;  // its own; not forwarded to the consumer queue
    // Decoded, at most one batch: buffered[head, count); buffered[head] is
    // the partition's head. The slots stay from batch to batch and each
    // message is decoded into one, so their strings and vectors keep their
    // capacity (growing a fresh record's vectors cost about 1,200
    // instructions a prediction; a deque allocated for every record).
    std::vector<ReplayRecord> buffered;
    size_t head = 0, count = 0;
    bool has_buffered() const { return head < count; }
    bool done() const { return next >= end; }
  };
  // Head order: time, then predictions first, then partition index.
  struct Head {
    int64_t ts_ms;
    bool event;
    size_t partition;
    bool operator>(const Head& o) const { return std::tie(ts_ms, event, partition) > std::tie(o.ts_ms, o.event, o.partition); }
  };
  TopicReplay() = default;
  Status AddTopic(const std::string& topic, EventType type, bool predictions, int64_t from_ms);
  Status Start();
  // Reads partition `index` until it has a record buffered (its head joins
  // the merge) or has reached its end; an error when the broker fails or
  // delivers nothing for kStallTimeout.
  Status Refill(size_t index);
  void PushHead(size_t index);  // partition `index`'s first buffered record joins the merge
  // Replaces the partition's used-up batch with what its queue holds, else
  // waits briefly for one message.
  Status Fill(Partition& p);
  void Buffer(Partition& p, std::string_view payload, int64_t now_ms);
  Status ClientError();       // an error librdkafka reports on the consumer queue, if any
  void Pause(Partition& p);

  DecoderOptions decoder_options_;
  std::unique_ptr<EventDecoder> decoder_;
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_queue_t* queue_ = nullptr;
  std::vector<Partition> partitions_;
  std::priority_queue<Head, std::vector<Head>, std::greater<Head>> heads_;  // one per partition with buffered records
  // A partition whose last buffered record Next handed out: refilled at the
  // next call, so that record stays in place (not moved) until then.
  static constexpr size_t kNone = static_cast<size_t>(-1);
  size_t used_up_ = kNone;
  bool started_ = false;  // every partition has been read to its first record
  uint64_t total_ = 0, read_ = 0;
  size_t timestamp_fallbacks_ = 0;
  std::map<std::string, uint64_t> rejected_;
};

}  // namespace featmon::exporter
