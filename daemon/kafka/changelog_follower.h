// The reader of changelog partitions for warm standbys
// (cluster.standby_replicas) and for assigned tasks restoring in the
// background: one consumer outside any group, assigned the partitions of the
// tasks an ingest worker keeps copies of, each from where its local copy
// stands, and polled from the worker's loop, as Kafka Streams' stream thread
// restores and updates its standby tasks between batches of its active ones.
//
// A partition must still hold the offset it is followed from: one whose
// start moved past it (records deleted: the topic is not compacted) is
// Corruption, never a silent jump to what is left.
//
// Partitions are started and stopped one by one (librdkafka's per-partition
// consume_start/consume_stop, the stop waiting until it is done), not by
// assign(): each assign() stops every partition and starts them again, and
// two in quick succession (a restore finishing while another begins) can
// abort the process on librdkafka's duplicate stop (librdkafka#5573, seen
// here as "rd_kafka_assignment_partition_stopped: Assertion
// rktp->rktp_started failed"). A partition followed on from where its
// records were handed over keeps fetching.
//
// Thread-safety: none; one ingest worker uses it.
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "cluster/changelog_record.h"
#include "daemon/kafka/kafka_client.h"

namespace featmon {

class ChangelogFollower {
 public:
  static Result<std::unique_ptr<ChangelogFollower>> Open(const KafkaClientOptions& options, std::string topic);
  ~ChangelogFollower();

  // Follows exactly `from` (task -> the offset to read on from), replacing
  // what was followed before; a partition already followed restarts only
  // when its offset is not where its records were handed over up to.
  Status Follow(const std::map<int32_t, int64_t>& from);

  using Visitor = std::function<Status(int32_t task, int64_t offset, changelog::Record record, size_t bytes)>;
  // Hands up to `max` records the consumer has fetched to `visit`, in log
  // order per partition, waiting up to `wait_ms` for the first (0: none);
  // stops at the first error. Records of a partition no longer followed may
  // still come: the caller skips them.
  Status Poll(size_t max, int wait_ms, const Visitor& visit);
  // The offset after partition `task`'s last record, as last fetched (no
  // request to the broker); -1 before its first fetch.
  int64_t End(int32_t task) const;

 private:
  ChangelogFollower() = default;

  // Starts fetching partition `task` at `offset` into queue_, once it has
  // checked that the partition still holds that offset.
  Status Start(int32_t task, int64_t offset);
  void Stop(int32_t task);

  std::string topic_;
  rd_kafka_t* consumer_ = nullptr;
  rd_kafka_topic_t* handle_ = nullptr;
  rd_kafka_queue_t* queue_ = nullptr;
  std::map<int32_t, int64_t> next_;  // partitions fetching -> the offset after the last handed over
};

}  // namespace featmon
