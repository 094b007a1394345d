// Runs one IngestPipeline per worker thread, each owning the partitions the
// consumer routes to it (partition % workers), like Kafka Streams' stream
// threads. State is keyed by input partition, so workers never share a key
// and each commits its own states and checkpoints.
//
// Rebalances arrive on the thread that calls KafkaConsumer::ServeEvents. They
// pause the workers between two batches (a pause flag, then an exclusive
// lock), let each pipeline commit or load its partitions, and resume them.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "common/heartbeats.h"
#include "daemon/ingest/ingest_pipeline.h"
#include "daemon/ingest/ingest_status.h"
#include "daemon/ingest/live_states.h"
#include "daemon/kafka/kafka_client.h"

namespace featmon {

class IngestWorkers final : public RebalanceListener, public IngestStatus, public LiveStates {
 public:
  // `store` (may be null: nothing recorded) keeps whether this instance
  // holds every task of its group, for the next start's serving rule.
  IngestWorkers(std::vector<std::unique_ptr<IngestPipeline>> pipelines, const Clock* clock, StateStore* store = nullptr);
  ~IngestWorkers() override;

  // Before the first assignment: each pipeline schedules the cleanup of the
  // stored tasks the consumer routes to it (IngestPipeline::ScheduleCleanupOfStoredTasks).
  Status ScheduleCleanupOfStoredTasks();
  // Before the first assignment: whether this instance is a cluster member
  // (TaskHoldings::cluster_member): `configured` (an advertised URL or a
  // changelog), or its holdings last changed to only some tasks.
  Status RecallHoldings(bool configured);
  // After RecallHoldings, for a full copy: `committed` is the group's
  // committed offset of each of `tps` (every input partition; -1 none,
  // negative otherwise: not known). Where the group is past the stored
  // copy, another member has processed that task since, so this instance
  // starts as a cluster member instead (cluster/serving_policy.h,
  // FirstPassedByGroup).
  Status CheckCopyAgainstGroup(const std::vector<TopicPartition>& tps, const std::vector<int64_t>& committed);
  // Warm standbys: `tasks` (called from the worker threads) names the tasks
  // this instance keeps standby copies of; each pipeline follows those the
  // consumer routes to it (IngestPipeline::set_standby_tasks). Before Start.
  void SetStandbyTasks(std::function<std::set<int32_t>()> tasks);
  // Starts one thread per pipeline reading consumer->worker_source(i); each
  // registers a loop in `heartbeats` (may be null) and beats every iteration.
  void Start(KafkaConsumer* consumer, LoopHeartbeats* heartbeats);
  // Stops the threads after their current batch and commits what they processed.
  Status StopAndCommit();

  void OnGroupCommitted(const std::vector<TopicPartition>& partitions, const std::vector<int64_t>& offsets) override;
  Status OnAssigned(const std::vector<TopicPartition>& partitions, std::vector<int64_t>* start_offsets) override;
  void OnRevoked(const std::vector<TopicPartition>& partitions) override;
  void OnTaskCount(int tasks) override;

  void CopyCached(EntityKind kind, std::string_view id, const std::vector<ShardId>& shards,
                  std::vector<std::pair<ShardId, EntityState>>* out) const override;
  IngestSnapshot Snapshot() const override;
  bool has_assignment() const override;
  bool healthy() const override;
  TaskHoldings Holdings() const override;
  std::vector<int32_t> RestoringTasks() const override;
  std::vector<std::pair<ShardId, int32_t>> ServingShards() const override;
  uint64_t OffPartitionEvents() const override;
  void KeepServingShards(std::vector<ShardId>* shards) const override;
  size_t size() const { return pipelines_.size(); }

 private:
  void Run(size_t worker, LoopHeartbeats::Heartbeat heartbeat);
  // Records whether every task is held; with the workers paused. Not while
  // stopping: the consumer's close revokes everything, which is no change
  // of what the instance owns.
  void RecordHoldings(bool every_task);
  // After an assignment or a revoke, with the workers paused.
  std::vector<std::unique_ptr<IngestPipeline>> pipelines_;
  const Clock* clock_;
  StateStore* store_;
  std::vector<std::thread> threads_;
  std::shared_mutex mu_;            // shared: a worker inside a batch; exclusive: a rebalance
  std::atomic<bool> pause_{false};  // asks workers to step back so the exclusive lock gets in
  std::atomic<bool> stop_{false};
  std::atomic<int> total_tasks_{0};
  // Read by every lookup: an atomic, so the common case takes no lock.
  std::atomic<bool> assigned_once_{false};
  std::atomic<bool> cluster_member_{false};
};

}  // namespace featmon
