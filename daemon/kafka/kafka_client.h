// librdkafka implementations of MessageSource and DeadLetterSink.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "daemon/kafka/message_source.h"

namespace featmon {

struct KafkaClientOptions {
  std::string brokers;                            // bootstrap.servers. Required.
  std::string group_id = "featmond";              // group.id. Default: featmond
  // Consumers: co-partitioned topics (cluster/co_partitioning.h). The group
  // assigns partitions of topics[0]; partition p of each other topic goes
  // with partition p, so a task is never split between members. Required.
  std::vector<std::string> topics;
  // The config key naming each of `topics`, for errors. Default: the topic names
  std::vector<std::string> topic_settings;
  // group.instance.id: static membership, so a restarted member gets its own
  // partitions back without a rebalance (e.g. the pod's name). Default: none
  std::string group_instance_id;
  std::map<std::string, std::string> properties;  // extra librdkafka settings, applied last. Default: none
  // Settings for producers only (properties reach them only for security
  // and client.id, since consumer settings would make them refuse to start).
  // Default: none
  std::map<std::string, std::string> producer_properties;
};

// A group consumer whose partitions are spread over `workers` queues: the
// messages of partition p go to queue WorkerOf(p), which worker_source(w)
// reads, so workers own disjoint partitions (Kafka Streams' stream threads).
// The consumer's own queue carries only group events: ServeEvents() runs the
// rebalance callbacks on the calling thread.
//
// Assignment is cooperative-sticky: a member joining or leaving moves only
// the tasks that change owner, and the others keep being consumed through
// the rebalance (incremental assign and unassign). The listener hears of
// whole tasks. Create() checks that the topics are co-partitioned; when the
// brokers do not answer in time, the check runs at the first assignment.
//
// Thread-safety: worker_source(w) is polled by one thread each; ServeEvents,
// CommitForMonitoring, HighWatermarks and Resume may run on any thread.
class KafkaConsumer final {
 public:
  // `listener` must outlive the consumer.
  static Result<std::unique_ptr<KafkaConsumer>> Create(const KafkaClientOptions& options, RebalanceListener* listener,
                                                       int workers = 1);
  ~KafkaConsumer();
  // Joins the group: from here on, ServeEvents hears of assignments.
  Status Subscribe();
  // Instead of Subscribe: takes every partition of the topics itself, with
  // no group rebalances, asking the listener where each starts (OnAssigned).
  // The group id still names where CommitForMonitoring commits. The
  // partitions go with Close, without OnRevoked. `assigned`: every
  // partition taken, as OnAssigned was given them.
  Status AssignAll(std::vector<TopicPartition>* assigned = nullptr);

  static int WorkerOf(const TopicPartition& tp, int workers) { return tp.partition % workers; }
  MessageSource* worker_source(int w);
  // Serves group events (rebalances) for up to timeout_ms.
  Status ServeEvents(int timeout_ms);
  void CommitForMonitoring(const std::vector<std::pair<TopicPartition, int64_t>>& next_offsets);
  std::vector<PartitionLag> HighWatermarks(const std::vector<TopicPartition>& partitions);
  // MessageSource::Resume for any worker's partitions: seeks them, then
  // resumes them (they were assigned paused, kStartPaused).
  Status Resume(const std::vector<std::pair<TopicPartition, int64_t>>& from);
  // The group's committed offsets of `tps` (-1: none; kGroupCommittedUnknown:
  // that partition's answer was an error), or Unavailable after `timeout_ms`.
  // Before Subscribe this is one round trip to the group's coordinator.
  // After it, librdkafka holds the question until the join completes: 3 s
  // on the mock broker (its initial rebalance delay), and a whole session
  // timeout when a killed member's place is still held.
  Result<std::vector<int64_t>> CommittedOffsets(const std::vector<TopicPartition>& tps,
                                                int timeout_ms = kCommittedTimeoutMs);
  // Leaves the group (triggering OnRevoked) and releases the client, within
  // `timeout_ms`. A broker that does not answer can hold librdkafka's close
  // for minutes; past the deadline the close is left running on a thread of
  // its own with the handle (leaked on purpose), the listener is no longer
  // called, and Unavailable is returned; the consumer itself may then be
  // destroyed. Stored state and offsets are unaffected: they live in the
  // store, and the final commit happens before the close.
  Status Close(int timeout_ms = kCloseTimeoutMs);
  // True once a close has been left running past its deadline.
  bool abandoned() const { return callbacks_->abandoned.load(); }
  static constexpr int kCloseTimeoutMs = 3'000;

 private:
  class WorkerSource;
  KafkaConsumer() = default;
  static void RebalanceCb(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts, void* opaque);
  // The partition counts of topics_ against each other (cluster/co_partitioning.h).
  Status CheckCoPartitioning(int timeout_ms);
  static Result<std::vector<int64_t>> Committed(rd_kafka_t* rk, const std::vector<TopicPartition>& tps,
                                                int timeout_ms);
  // Committed, for an assignment: all kGroupCommittedUnknown (and a warning)
  // when the group did not answer in time.
  static std::vector<int64_t> GroupCommitted(rd_kafka_t* rk, const std::vector<TopicPartition>& tps);
  static constexpr int kCommittedTimeoutMs = 5'000;
  static constexpr int kSeekTimeoutMs = 10'000;
  // Serves an assignment of partitions of topics_[0]: their whole tasks.
  // `from_group`: the group assigned them, so the listener first hears what
  // the group had committed for them (an OffsetFetch); AssignAll's own
  // assignment has no previous owner to ask about.
  void AssignTasks(rd_kafka_t* rk, bool cooperative, rd_kafka_topic_partition_list_t* parts, bool from_group);
  void RevokeTasks(rd_kafka_t* rk, bool cooperative, const rd_kafka_topic_partition_list_t* parts);
  // Takes none of an assignment that cannot be served; `why` is logged after
  // `what` and returned by the next ServeEvents.
  void Decline(rd_kafka_t* rk, bool cooperative, std::string_view what, Status why);
  // Whether rd_kafka_destroy would abort after the close (librdkafka#4312);
  // asked before it.
  bool DestroyWouldAbort() const;

  rd_kafka_t* rk_ = nullptr;
  rd_kafka_queue_t* queue_ = nullptr;
  RebalanceListener* listener_ = nullptr;
  std::vector<std::string> topics_, topic_settings_;
  bool co_partitioning_checked_ = false;
  int partitions_ = 0;  // of each topic, once checked
  std::vector<rd_kafka_queue_t*> worker_queues_;
  std::vector<std::unique_ptr<WorkerSource>> sources_;
  Status rebalance_error_;
  int64_t reset_offset_ = RD_KAFKA_OFFSET_BEGINNING;  // where a partition with no stored checkpoint starts
  bool closed_ = false;
  // What the rebalance callback reaches through librdkafka's opaque. It is
  // shared with a close left running, so it outlives this consumer.
  struct Callbacks {
    KafkaConsumer* consumer = nullptr;
    std::atomic<bool> abandoned{false};  // set before the closing thread is left behind
    // An assignment reached the rebalance callback: a SyncGroup has answered,
    // so the assignor's state exists (DestroyWouldAbort, librdkafka#4312).
    std::atomic<bool> assigned{false};
  };
  std::shared_ptr<Callbacks> callbacks_ = std::make_shared<Callbacks>();
};

// An idempotent producer to one topic: dead letters (with reason headers) or
// plain keyed records such as retrain requests. It never drops a record: one
// that cannot be queued, or whose delivery fails, is kept and produced again
// by the next Flush, which succeeds only once every record sent so far is
// acknowledged. Delivery is therefore at least once.
//
// A dead letter's payload and key are cut to `max_payload_bytes` (and 4 KiB),
// so a message too large for the producer still gets one; headers say what
// was cut and how large it was.
//
// Thread-safety: one thread sends and flushes.
class KafkaTopicProducer final : public DeadLetterSink {
 public:
  static Result<std::unique_ptr<KafkaTopicProducer>> Create(const KafkaClientOptions& options, std::string topic,
                                                            size_t max_payload_bytes = kDefaultDeadLetterMaxPayloadBytes);
  ~KafkaTopicProducer() override;
  Status Send(const InputMessage& msg, std::string_view reason, std::string_view detail) override;
  Status Produce(std::string_view key, std::string_view value);
  Status Flush(int timeout_ms) override;
  // Records waiting to be produced again (their first attempt failed).
  size_t undelivered() const;

 private:
  struct Record {
    std::string key, value;
    std::vector<std::pair<std::string, std::string>> headers;
  };
  KafkaTopicProducer() = default;
  // Queues the record with librdkafka, or keeps it for the next Flush.
  void Enqueue(Record record);
  rd_kafka_resp_err_t TryProduce(const Record& record);
  void Keep(Record record, const std::string& why);
  static void DeliveryCb(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque);
  rd_kafka_t* rk_ = nullptr;
  std::string topic_;
  size_t max_payload_bytes_ = kDefaultDeadLetterMaxPayloadBytes;
  mutable std::mutex mu_;  // guards what delivery callbacks touch
  std::vector<Record> undelivered_;
  std::string last_error_;
};

}  // namespace featmon
