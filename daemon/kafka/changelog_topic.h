// librdkafka adapter for the changelog topic (cluster/changelog_record.h):
// appends a task's records to its partition and waits for their offsets,
// and reads a partition's records back in order.
//
// The producer is idempotent with no message timeout, as the examples
// outbox's: a task's records land once and in the order given, and an append
// either is confirmed or reports the broker's error, never "timed out,
// perhaps written". Records are sent to partition <task> explicitly, not by
// key. Reading back refuses a partition whose start moved past where the
// read had to begin (retention deleted records: the topic must be compacted,
// cleanup.policy=compact, not deleted).
//
// Thread-safety: none; one caller at a time.
#pragma once

#include <librdkafka/rdkafka.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cluster/changelog_record.h"
#include "daemon/kafka/kafka_client.h"

namespace featmon {

class ChangelogTopic {
 public:
  static Result<std::unique_ptr<ChangelogTopic>> Open(const KafkaClientOptions& options, std::string topic);
  ~ChangelogTopic();

  const std::string& name() const { return topic_; }
  // Partitions of the changelog (one per task), or of another topic of the
  // same cluster. NotFound when it does not exist.
  Result<int32_t> PartitionCount() { return PartitionCount(topic_); }
  Result<int32_t> PartitionCount(const std::string& topic);
  // The offsets of partition `task`'s first record and of the one after its last.
  Result<std::pair<int64_t, int64_t>> Bounds(int32_t task);

  // Appends `records` to partition `task`, in order, and returns their
  // offsets once all are written. An error when the broker refused one or
  // did not confirm them within 30 s; those still in flight may land later.
  Result<std::vector<int64_t>> Append(int32_t task, const std::vector<changelog::Record>& records);

  using Visitor = std::function<Status(int64_t offset, changelog::Record record, size_t bytes)>;
  // Hands the records of partition `task` in [from, to) to `visit` in
  // order, stopping at the first error it returns. A record that does not
  // decode is Corruption naming its offset; a partition that starts after
  // `from` is Corruption too (records were deleted).
  Status Read(int32_t task, int64_t from, int64_t to, const Visitor& visit);

 private:
  ChangelogTopic() = default;
  static void DeliveryCb(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque);

  KafkaClientOptions options_;
  std::string topic_;
  rd_kafka_t* producer_ = nullptr;
  // Filled by DeliveryCb during Append's flushes: each record's offset, or
  // its error.
  std::vector<int64_t> offsets_;
  std::vector<rd_kafka_resp_err_t> errors_;
  size_t delivered_ = 0;
  uint32_t generation_ = 0;  // of the append in progress: reports of earlier ones are told apart
};

}  // namespace featmon
