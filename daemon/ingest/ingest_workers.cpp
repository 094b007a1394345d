#include "daemon/ingest/ingest_workers.h"

#include "daemon/logging/log.h"
#include "daemon/pipeline/run_loop.h"

#include <algorithm>

namespace featmon {

IngestWorkers::IngestWorkers(std::vector<std::unique_ptr<IngestPipeline>> pipelines, const Clock* clock,
                             StateStore* store)
    : pipelines_(std::move(pipelines)), clock_(clock), store_(store) {}

IngestWorkers::~IngestWorkers() { (void)StopAndCommit(); }

void IngestWorkers::Start(KafkaConsumer* consumer, LoopHeartbeats* heartbeats) {
  for (size_t w = 0; w < pipelines_.size(); ++w) {
    pipelines_[w]->set_source(consumer->worker_source(static_cast<int>(w)));
    LoopHeartbeats::Heartbeat heartbeat;
    if (heartbeats) heartbeat = heartbeats->Register("ingest worker " + std::to_string(w));
    threads_.emplace_back([this, w, heartbeat] { Run(w, heartbeat); });
  }
}

void IngestWorkers::Run(size_t worker, LoopHeartbeats::Heartbeat heartbeat) {
  RunUntilStopped(stop_, heartbeat, clock_, Component::kIngest, "ingest worker " + std::to_string(worker), [&] {
    if (pause_.load()) {  // a rebalance waits for the exclusive lock
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      return Status::Ok();
    }
    std::shared_lock lock(mu_);
    return pipelines_[worker]->RunOnce(100);
  });
}

Status IngestWorkers::StopAndCommit() {
  stop_ = true;
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  Status result;
  for (auto& p : pipelines_) {
    Status st = p->Commit();
    if (!st.ok()) {
      Log(Component::kIngest).error("final commit failed: {}", st.ToString());
      result = st;
    }
  }
  return result;
}

Status IngestWorkers::ScheduleCleanupOfStoredTasks() {
  const int n = static_cast<int>(pipelines_.size());
  for (int w = 0; w < n; ++w) {
    auto mine = [&](int32_t task) { return KafkaConsumer::WorkerOf(TopicPartition{"", task}, n) == w; };
    if (Status st = pipelines_[w]->ScheduleCleanupOfStoredTasks(mine); !st.ok()) return st;
  }
  return Status::Ok();
}

void IngestWorkers::SetStandbyTasks(std::function<std::set<int32_t>()> tasks) {
  const int n = static_cast<int>(pipelines_.size());
  for (int w = 0; w < n; ++w) {
    pipelines_[w]->set_standby_tasks([tasks, n, w] {
      std::set<int32_t> mine;
      for (int32_t task : tasks())
        if (KafkaConsumer::WorkerOf(TopicPartition{"", task}, n) == w) mine.insert(task);
      return mine;
    });
  }
}

Status IngestWorkers::RecallHoldings(bool configured) {
  std::optional<bool> every_task;
  if (store_) {
    auto recorded = store_->LoadHoldsEveryTask();
    if (!recorded.ok()) return recorded.status();
    every_task = *recorded;
  }
  cluster_member_ = configured || (every_task && !*every_task);
  if (cluster_member_)
    Log(Component::kIngest).info("a cluster member ({}): lookups are answered from local state once the group has "
                                 "assigned this instance its tasks, and asked of their owners until then",
                                 configured ? "configured as one" : "it last held only some of its group's tasks");
  return Status::Ok();
}

Status IngestWorkers::CheckCopyAgainstGroup(const std::vector<TopicPartition>& tps,
                                            const std::vector<int64_t>& committed) {
  if (cluster_member_ || !store_) return Status::Ok();
  std::vector<CopyAgainstGroup> copy;
  std::vector<TopicPartition> compared;
  for (size_t i = 0; i < tps.size() && i < committed.size(); ++i) {
    if (committed[i] < -1) continue;  // not known: the group could not say
    auto stored = store_->LoadCheckpoint(tps[i]);
    if (!stored.ok()) return stored.status();
    copy.push_back({stored->has_value() ? (*stored)->next_offset : -1, committed[i]});
    compared.push_back(tps[i]);
  }
  const int passed = FirstPassedByGroup(copy);
  if (passed < 0) return Status::Ok();
  cluster_member_ = true;
  const TopicPartition& tp = compared[static_cast<size_t>(passed)];
  Log(Component::kIngest).warn(
      "the group has committed {}/{} up to offset {}, past this instance's stored copy ({}): another member has "
      "processed it since, so lookups are answered from local state only once the group has assigned this "
      "instance its tasks (until then 503)", tp.topic, tp.partition, copy[static_cast<size_t>(passed)].group_committed,
      copy[static_cast<size_t>(passed)].local_next_offset < 0
          ? std::string("nothing")
          : "offset " + std::to_string(copy[static_cast<size_t>(passed)].local_next_offset));
  return Status::Ok();
}

void IngestWorkers::RecordHoldings(bool every_task) {
  if (!store_ || stop_.load()) return;
  CommitBatch batch;
  batch.holds_every_task = every_task;
  // Failing, the next start decides on the record before: logged, since the
  // rebalance cannot be refused here.
  if (Status st = store_->Commit(batch); !st.ok())
    Log(Component::kIngest).error("recording the tasks held failed: {}", st.ToString());
}

Status IngestWorkers::OnAssigned(const std::vector<TopicPartition>& partitions, std::vector<int64_t>* start_offsets) {
  pause_ = true;
  std::unique_lock lock(mu_);
  pause_ = false;
  start_offsets->assign(partitions.size(), -1);
  const int n = static_cast<int>(pipelines_.size());
  for (int w = 0; w < n; ++w) {
    std::vector<TopicPartition> mine;
    std::vector<size_t> index;
    for (size_t i = 0; i < partitions.size(); ++i) {
      if (KafkaConsumer::WorkerOf(partitions[i], n) == w) {
        mine.push_back(partitions[i]);
        index.push_back(i);
      }
    }
    if (mine.empty()) continue;
    std::vector<int64_t> offsets;
    Status st = pipelines_[w]->OnAssigned(mine, &offsets);
    if (!st.ok()) {
      assigned_once_ = true;
      return st;
    }
    for (size_t j = 0; j < index.size(); ++j) (*start_offsets)[index[j]] = offsets[j];
  }
  assigned_once_ = true;
  const TaskHoldings now = Holdings();
  if (now.total > 0) RecordHoldings(now.held >= now.total);
  return Status::Ok();
}

// Runs on the group thread before OnAssigned; each pipeline keeps the offsets
// (only the group thread touches them) for the partitions it is then given.
void IngestWorkers::OnGroupCommitted(const std::vector<TopicPartition>& partitions, const std::vector<int64_t>& offsets) {
  for (auto& p : pipelines_) p->OnGroupCommitted(partitions, offsets);
}

std::vector<int32_t> IngestWorkers::RestoringTasks() const {
  std::vector<int32_t> all;
  for (const auto& p : pipelines_) {
    std::vector<int32_t> mine = p->RestoringTasks();
    all.insert(all.end(), mine.begin(), mine.end());
  }
  std::sort(all.begin(), all.end());
  return all;
}

// A task's partitions are in one pipeline (KafkaConsumer::WorkerOf routes by
// partition number), which publishes them with their restoring state.
std::vector<std::pair<ShardId, int32_t>> IngestWorkers::ServingShards() const {
  std::vector<std::pair<ShardId, int32_t>> all;
  for (const auto& p : pipelines_) {
    auto mine = p->ServingShards();
    all.insert(all.end(), mine.begin(), mine.end());
  }
  return all;
}

uint64_t IngestWorkers::OffPartitionEvents() const {
  uint64_t n = 0;
  for (const auto& p : pipelines_) n += p->off_partition_events();
  return n;
}

void IngestWorkers::OnRevoked(const std::vector<TopicPartition>& partitions) {
  pause_ = true;
  std::unique_lock lock(mu_);
  pause_ = false;
  // Recorded first: a crash right after the revoke must not find "every task".
  if (!partitions.empty()) RecordHoldings(false);
  for (auto& p : pipelines_) p->OnRevoked(partitions);  // each ignores partitions it does not hold
  assigned_once_ = true;
}

void IngestWorkers::OnTaskCount(int tasks) {
  total_tasks_ = tasks;
  for (auto& p : pipelines_) p->SetTaskCount(tasks);
}

// A task is a partition number (cluster/co_partitioning.h): its partitions
// are all in one pipeline (KafkaConsumer::WorkerOf routes by partition
// number), which counts it until it is revoked or given up.
TaskHoldings IngestWorkers::Holdings() const {
  int held = 0;
  for (const auto& p : pipelines_) held += p->held_tasks();
  return {assigned_once_.load(), held, total_tasks_.load(), cluster_member_.load()};
}

void IngestWorkers::KeepServingShards(std::vector<ShardId>* shards) const {
  std::vector<ShardId> kept;
  for (const auto& p : pipelines_) p->KeepServing(*shards, &kept);
  *shards = std::move(kept);
}

void IngestWorkers::CopyCached(EntityKind kind, std::string_view id, const std::vector<ShardId>& shards,
                               std::vector<std::pair<ShardId, EntityState>>* out) const {
  for (const auto& p : pipelines_) p->CopyCached(kind, id, shards, out);
}

IngestSnapshot IngestWorkers::Snapshot() const {
  IngestSnapshot all;
  for (const auto& p : pipelines_) {
    IngestSnapshot s = p->Snapshot();
    all.partitions.insert(all.partitions.end(), s.partitions.begin(), s.partitions.end());
    all.consumed_total += s.consumed_total;
    all.rejected_total += s.rejected_total;
    all.late_dropped_total += s.late_dropped_total;
    all.commits += s.commits;
    all.standbys.insert(all.standbys.end(), s.standbys.begin(), s.standbys.end());
    all.changelog_restores.insert(all.changelog_restores.end(), s.changelog_restores.begin(),
                                  s.changelog_restores.end());
    if (all.last_error.empty()) all.last_error = s.last_error;
  }
  std::sort(all.partitions.begin(), all.partitions.end(),
            [](const PartitionStatus& a, const PartitionStatus& b) { return a.tp < b.tp; });
  for (auto* copies : {&all.standbys, &all.changelog_restores})
    std::sort(copies->begin(), copies->end(), [](const StandbyStatus& a, const StandbyStatus& b) { return a.task < b.task; });
  return all;
}

bool IngestWorkers::has_assignment() const {
  for (const auto& p : pipelines_) {
    if (p->has_assignment()) return true;
  }
  return false;
}

bool IngestWorkers::healthy() const {
  for (const auto& p : pipelines_) {
    if (!p->healthy()) return false;
  }
  return true;
}

}  // namespace featmon
