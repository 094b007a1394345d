// The members topic: where the instances of a consumer group announce the
// URL others reach them at and the tasks they hold (cluster/member_directory.h
// says how a task's owner follows from the announcements). A compacted topic
// keyed by URL, as Kafka Streams shares its metadata through Kafka rather
// than a protocol of its own.
//
// Everything goes to partition 0, so every reader applies the announcements
// in one order: create the topic with one partition and cleanup.policy=compact
// (a topic with more partitions works; only partition 0 is used). Each
// instance reads it from the start on a thread of its own, without a group.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cluster/member_directory.h"
#include "common/status.h"
#include "daemon/kafka/kafka_client.h"

namespace featmon {

class MembersTopic {
 public:
  static Result<std::unique_ptr<MembersTopic>> Start(const KafkaClientOptions& options, std::string topic);
  ~MembersTopic();

  // Queues this instance's announcement. librdkafka retries it; the owner
  // announces again on every change and periodically, so one that is lost
  // for good is replaced.
  Status Announce(const MemberAnnouncement& a);
  // A tombstone for `url`, waited for up to timeout_ms: this instance leaves.
  Status Leave(const std::string& url, int timeout_ms);

  // The owner of `task` as read so far, or nullopt when no member claims it.
  std::optional<MemberAnnouncement> OwnerOf(int32_t task) const;
  // The member that runs the monitoring as read so far, or nullopt.
  std::optional<MemberAnnouncement> MonitoringOwner() const;
  std::vector<MemberDirectory::Member> Members() const;
  std::vector<int32_t> Unclaimed(int32_t total_tasks) const;
  // Records read, and the last one that could not be (empty when none).
  uint64_t records_read() const { return records_read_.load(); }
  std::string last_error() const;

 private:
  MembersTopic() = default;
  void Read();
  void Apply(const rd_kafka_message_t* m);

  std::string topic_;
  rd_kafka_t* producer_ = nullptr;
  rd_kafka_t* consumer_ = nullptr;
  mutable std::mutex mu_;
  MemberDirectory directory_;  // under mu_
  std::string last_error_;     // under mu_
  std::atomic<uint64_t> records_read_{0};
  std::atomic<bool> stop_{false};
  std::thread reader_;
};

}  // namespace featmon
