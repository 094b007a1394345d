// Model monitoring once per group, not once per instance (issue 13), when
// kafka.monitor_changelog_topic is set.
//
// One instance at a time monitors: the one the consumer group
// "<group_id>.monitor-owner" assigns partition 0 of the monitoring changelog
// (Kafka's group protocol elects it, as Kafka Connect elects its leader; the
// partition is assigned paused and never read through this consumer). That
// instance takes every partition of predictions and clicks itself, so its
// reports are those of one instance reading everything, and it alone sends
// retrain requests and examples.
//
// A term of ownership begins by restoring the monitoring state from its
// changelog (daemon/monitor/monitor_changelog.h) and claiming it there, then
// reading on from the offsets it reflects. It ends when the group takes the
// partition away: the last state is committed (and shipped) before the
// partition is let go, so the next owner restores exactly it, and a retrain
// request already sent is not raised again. An owner that crashed cannot do
// that: the next one reads on from its last commit, as a restarted featmond
// does, so a request raised after that commit can go out twice (at least
// once, as across any crash). An owner that has not noticed that it lost the
// partition is fenced by the changelog: its commits are refused ("taken
// over") and its term ends.
//
// The others answer report requests by asking the owner (the HTTP API, with
// the members topic's "monitoring" claims): runs_here() is false for them.
//
// Thread-safety: RunOnce and Stop on the monitoring thread, which also serves
// the election group's events (the revoke ends a term on it); the reports
// and runs_here from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "daemon/kafka/kafka_client.h"
#include "daemon/monitor/monitor_pipeline.h"

namespace featmon {

struct MonitoringOwnerOptions {
  MonitorPipelineOptions pipeline;  // each term's pipeline
  KafkaClientOptions kafka;         // brokers and properties; topics and group are set here
  std::string group_id;             // kafka.group_id: the election group and the lag group derive from it
  std::string changelog_topic;      // kafka.monitor_changelog_topic
  std::string owner;                // this instance in changelog claims
  // After a term that failed to begin, or was taken over, the next try waits this long.
  int64_t retry_ms = 5'000;
};

// What every term's pipeline writes to; they outlive the MonitoringOwner.
struct MonitoringSinks {
  StateStore* store = nullptr;
  DeadLetterSink* dead_letters = nullptr;
  RetrainSink* retrain = nullptr;
  OutboxSink* examples = nullptr;
  Metrics* metrics = nullptr;
  const Clock* clock = nullptr;
};

class MonitoringOwner final : public RebalanceListener, public MonitoringReports {
 public:
  // Joins the election group; monitoring begins at the first RunOnce after
  // the group has assigned partition 0 here.
  static Result<std::unique_ptr<MonitoringOwner>> Start(MonitoringOwnerOptions options, MonitoringSinks sinks);
  ~MonitoringOwner() override;

  // Serves the election group's events, begins or ends a term as they say,
  // and runs the pipeline during one (waiting up to timeout_ms for input).
  Status RunOnce(int timeout_ms);
  // Ends the term (committing) and leaves the election group.
  void Stop();

  // Whether this instance monitors now (announced on the members topic).
  const std::atomic<bool>& owning() const { return owning_; }
  // Whether a consumer's close was left running (KafkaConsumer::abandoned):
  // librdkafka threads may outlive this object. Any thread.
  bool close_abandoned() const { return close_abandoned_.load(); }

  // The election group's partitions: assigned paused, never read.
  Status OnAssigned(const std::vector<TopicPartition>& partitions, std::vector<int64_t>* start_offsets) override;
  void OnRevoked(const std::vector<TopicPartition>& partitions) override;

  std::optional<std::string> ModelReport(const std::string& model) const override;
  std::string AllReports() const override;
  std::string CommitError() const override;
  bool runs_here() const override { return owning_.load(); }

 private:
  MonitoringOwner(MonitoringOwnerOptions options, MonitoringSinks sinks)
      : options_(std::move(options)), sinks_(sinks) {}
  Status BeginTerm();
  // `commit`: false when the changelog refused the last commit (taken over).
  void EndTerm(bool commit);
  std::shared_ptr<MonitorPipeline> pipeline() const;

  MonitoringOwnerOptions options_;
  MonitoringSinks sinks_;
  std::unique_ptr<KafkaConsumer> election_;
  bool elected_ = false;  // partition 0 is assigned here
  struct Term {
    std::shared_ptr<MonitorPipeline> pipeline;
    MonitorChangelog* changelog = nullptr;  // the pipeline's
    std::unique_ptr<KafkaConsumer> consumer;
    std::vector<TopicPartition> partitions;  // every partition of predictions and clicks
  };
  std::unique_ptr<Term> term_;
  std::chrono::steady_clock::time_point next_try_{};
  mutable std::mutex mu_;
  std::shared_ptr<MonitorPipeline> serving_;  // under mu_: the term's pipeline, for the reports
  std::atomic<bool> owning_{false};
  std::atomic<bool> close_abandoned_{false};
};

}  // namespace featmon
