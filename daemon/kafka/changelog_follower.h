// A warm standby's reader of changelog partitions (cluster.standby_replicas):
// one consumer outside any group, assigned the partitions of the tasks an
// ingest worker keeps standbys of, each from where its local copy stands,
// and polled without waiting from the worker's loop, as Kafka Streams'
// stream thread updates its standby tasks between batches of its active ones.
//
// A partition must still hold the offset it is followed from: one whose
// start moved past it (records deleted: the topic is not compacted) is
// Corruption, never a silent jump to what is left.
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
  // what was followed before.
  Status Follow(const std::map<int32_t, int64_t>& from);

  using Visitor = std::function<Status(int32_t task, int64_t offset, changelog::Record record, size_t bytes)>;
  // Hands up to `max` records the consumer has fetched to `visit`, in log
  // order per partition, waiting for none; stops at the first error.
  // Records of a partition no longer followed may still come: the caller
  // skips them.
  Status Poll(size_t max, const Visitor& visit);
  // The offset after partition `task`'s last record, as last fetched (no
  // request to the broker); -1 before its first fetch.
  int64_t End(int32_t task) const;

 private:
  ChangelogFollower() = default;

  std::string topic_;
  rd_kafka_t* consumer_ = nullptr;
};

}  // namespace featmon
