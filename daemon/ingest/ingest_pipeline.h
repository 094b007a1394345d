// The ingest loop: messages in, decoded and validated, folded into entity
// states held in a record cache, and written with the offsets that produced
// them in one atomic store commit every commit interval.
//
// Exactly-once rests on three rules:
//  1. a commit writes entity states and the next offset of every partition
//     that fed them in one WriteBatch;
//  2. on assignment a partition resumes at its stored offset, and anything
//     below it that Kafka still hands over is skipped;
//  3. late-event decisions use the partition's stream time, which is stored
//     with its offset, so a replay decides exactly as the first pass did.
// Dead letters are flushed before the offsets that skip them are committed
// (at least once: a crash between the two can send a dead letter twice).
//
// With a repartition topic (options.items_topic, set_repartition), task n
// also reads partition n of it, and item state comes only from there, so
// each item's state lives in one task: views and clicks update their users
// and are re-keyed, sent to the items partition murmur2(item_id) % tasks
// (daemon/ingest/rekeyed_event.h). The commit flushes those records before
// the offsets that produced them move, so a crash sends some again and
// loses none. The items side applies each source offset once: it keeps the
// next offset it expects from every source partition and skips anything
// below it. That is exact because every producer sends a source partition's
// records in source order without gaps (an idempotent, gapless producer),
// starting from a committed offset: a new owner resends from there, and a
// zombie sends at most the same records again. Late items events are judged
// by the items partition's own stream time, so a replay decides the same.
// Kafka transactions would do this on a real broker; the mock broker of the
// tests accepts them without their guarantees (as for the changelog).
// A message whose entity states cannot be read (or whose dead letter cannot
// be queued) is not processed: the pipeline keeps the rest of its batch and
// retries from that message, so its offset never moves past it. A stored
// state that does not decode is kept aside in the store's quarantine, counted
// and logged with its key, and the entity starts afresh.
//
// Thread-safety: not thread-safe, except Snapshot(), has_assignment(),
// held_tasks(), healthy(), SetTaskCount() and CopyCached(). IngestWorkers runs RunOnce on the pipeline's
// worker thread and calls OnAssigned/OnRevoked from the group thread only
// while that worker is held out by its lock. The worker is the cache's only
// writer: it changes the cache (and the states in it) under cache_mu_, one
// event at a time, and reads it without; CopyCached reads under cache_mu_.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "cluster/revoked_state_cleanup.h"
#include "common/clock.h"
#include "daemon/ingest/ingest_options.h"
#include "daemon/ingest/ingest_status.h"
#include "daemon/pipeline/commit_gate.h"
#include "daemon/pipeline/held_batch.h"
#include "daemon/pipeline/stall_health.h"
#include "daemon/pipeline/partition_table.h"
#include "daemon/codec/event_decoder.h"
#include "daemon/ingest/state_changelog.h"
#include "daemon/ingest/task_checkpoints.h"
#include "daemon/kafka/message_source.h"
#include "daemon/metrics/histogram_batch.h"
#include "daemon/metrics/metrics.h"
#include "daemon/store/state_store.h"
#include "features/feature_engine.h"

namespace featmon {

class IngestPipeline final : public RebalanceListener {
 public:
  IngestPipeline(IngestPipelineOptions options, const FeatureSet* features, StateStore* store,
                 DeadLetterSink* dead_letters, Metrics* metrics, const Clock* clock);
  ~IngestPipeline() override;

  void set_source(MessageSource* source) { source_ = source; }
  // Where events are re-keyed by item; with options.items_topic, before the
  // first assignment. Null: item state comes from views and clicks directly.
  void set_repartition(RepartitionSink* sink);
  // With a changelog, assigned tasks are restored from it and every commit
  // goes there first (daemon/ingest/state_changelog.h). Before the first assignment.
  void set_changelog(std::unique_ptr<StateChangelog> changelog) { changelog_ = std::move(changelog); }
  // With a changelog, before the first assignment: the tasks whose local
  // state the store kept from an earlier run (`mine` picks this pipeline's)
  // are handled as if revoked now. One assigned again within
  // state_cleanup_delay keeps its state; one that moved to another instance
  // while this one was down has it deleted then, instead of keeping a copy
  // that nobody updates forever. Without a changelog it does nothing: the
  // copy is what spares a returning task a replay of its inputs.
  Status ScheduleCleanupOfStoredTasks(const std::function<bool(int32_t task)>& mine);
  // Warm standbys (a changelog with a follower, StateChangelog::set_follower):
  // `tasks` names the tasks this pipeline keeps standby copies of, asked
  // again every half second; those it holds are skipped. A standby copy is
  // never served and never deleted by the revoked-state cleanup; a task that
  // stops being a standby is due for cleanup after state_cleanup_delay.
  // Before Start.
  void set_standby_tasks(std::function<std::set<int32_t>()> tasks) { standby_source_ = std::move(tasks); }

  // One step: poll a batch, process it, commit when the interval is up.
  // While a commit keeps failing, it retries that commit and polls nothing,
  // so offsets never move past state that was not written. While a message
  // cannot be processed, it retries that message before the rest of its batch.
  Status RunOnce(int poll_timeout_ms);
  // Writes everything processed so far.
  Status Commit();

  void OnGroupCommitted(const std::vector<TopicPartition>& partitions, const std::vector<int64_t>& offsets) override;
  Status OnAssigned(const std::vector<TopicPartition>& partitions, std::vector<int64_t>* start_offsets) override;
  void OnRevoked(const std::vector<TopicPartition>& partitions) override;

  // The cached states of an entity in this pipeline's shards (LiveStates).
  void CopyCached(EntityKind kind, std::string_view id, const std::vector<ShardId>& shards,
                  std::vector<std::pair<ShardId, EntityState>>* out) const;

  IngestSnapshot Snapshot() const;
  // The shards of the tasks assigned and not restoring, each with its task
  // (its partition number). Any thread.
  std::vector<std::pair<ShardId, int32_t>> ServingShards() const;
  // Appends those of `candidates` that ServingShards lists. Any thread; a
  // lookup's path, so it copies nothing else.
  void KeepServing(const std::vector<ShardId>& candidates, std::vector<ShardId>* out) const;
  bool has_assignment() const { return assigned_count_.load() > 0; }
  // Tasks (partition numbers) this pipeline holds: assigned and not given
  // up. Any thread; read by every lookup.
  int held_tasks() const { return held_tasks_.load(); }
  // Tasks (partition numbers) assigned whose local state is behind what the
  // group had committed for them when they were assigned: a stale copy, or
  // none, of what their previous owner processed. Lookups of their keys are
  // refused until the state catches up. Sorted; any thread.
  std::vector<int32_t> RestoringTasks() const;
  // Events seen since start on another partition than Kafka's default
  // partitioner gives their user (CheckPartition). Any thread.
  uint64_t off_partition_events() const { return off_partition_total_.load(std::memory_order_relaxed); }
  // The group's task count (the input topics' partitions), once known: each
  // event is then checked to be on its user's default partition. Any thread.
  void SetTaskCount(int tasks) { task_count_.store(tasks, std::memory_order_relaxed); }
  bool healthy() const { return health_.healthy() && held_.healthy(); }

 private:
  struct Partition {
    PartitionCheckpoint cp;
    EventType type = EventType::kView;
    ShardId shard = 0;
    uint64_t consumed = 0;          // messages taken since assignment
    prometheus::Counter* consumed_counter = nullptr;
    prometheus::Counter* late_counter = nullptr;
    prometheus::Counter* off_partition_counter = nullptr;
    uint64_t pending_consumed = 0;  // added to the counters once per batch
    uint64_t pending_late = 0;
    uint64_t pending_off_partition = 0;
    bool warned_off_partition = false;  // logged once per assignment
    // A partition of the repartition topic: the next offset it expects from
    // each source partition, -1 for none yet (indexed and named as in
    // TaskCheckpoints; tasks_at_marks partitions per source type), and
    // whether one moved since the last commit.
    bool rekeyed = false;
    std::vector<int64_t> source_next;
    int32_t tasks_at_marks = 0;
    bool marks_dirty = false;
    bool warned_resent = false;  // a record sent again was skipped: logged once per assignment
    // Restoring until next_offset reaches this: the group's committed offset
    // at assignment, when it was past the local state's. -1,
    // kRestoreToPartitionEnd and kRestoreFromChangelog as in PartitionStatus.
    int64_t restore_until = -1;
    // What the group had committed for it at assignment (OnGroupCommitted):
    // -1 nothing, or kGroupCommittedUnknown.
    int64_t group_committed = -1;
  };
  struct CacheEntry;
  // Whether a dirty entry has anything to write: not one loaded for an
  // event that was never applied. Commit and ChangelogCommits agree on it.
  static bool HasStateToWrite(const CacheEntry& entry);
  struct CacheEntry {
    EntityState state;
    StateChanges changes;  // since the last commit: what its delta carries
    bool stored = false;   // the store holds a state to merge deltas into
    bool dirty = false;
    bool recent = false;   // used since the last eviction sweep: spared once
    uint32_t bytes = 0;    // this entry's share of cache_bytes_
  };
  using Cache = std::unordered_map<std::string, CacheEntry>;
  Status ProcessBatch();
  // Until when a partition's keys are refused, given where its state now
  // resumes and what its previous owner had stored (-1: not at all).
  static int64_t RestoreTarget(const Partition& p);
  // Sets restore_until to RestoreTarget, saying why when it is not -1.
  static void SetRestoreTarget(Partition* p);
  // Restores the task of `inputs` (its partitions) from the changelog and
  // claims it; their checkpoints follow the restored state. In the
  // background (a follower), only what came after the copy's read is read.
  // Their restore_until is the caller's to set.
  Status ClaimTask(int32_t task, const std::vector<Partition*>& inputs);
  // Background restores (a follower): begins them again after a failure,
  // claims those caught up and resumes their inputs where the state stands.
  void FinishRestores();
  // Starts a claimed task's paused inputs at their checkpoints.
  Status ResumeInputs(int32_t task);
  std::vector<Partition*> InputsOf(int32_t task);
  // This commit's part for the changelog, by task: the changed entities'
  // whole states and the checkpoints of every input of those tasks, from
  // the local commit `batch` Commit built from dirty_.
  std::map<int32_t, StateChangelog::TaskCommit> ChangelogCommits(const CommitBatch& batch);
  // Ends the restore of partitions that reached their target, and publishes
  // the tasks still restoring together with the shards just `added` (each
  // with its task), so lookups never see a restoring task as served.
  void UpdateRestoring(const std::vector<std::pair<ShardId, int32_t>>& added = {});
  Status Process(const InputMessage& msg, Partition* p);
  // A decoded view or click: applied to its user, and to its item unless a
  // repartition topic takes the item's part (sent there first).
  Status ProcessEvent(const InputMessage& msg, const Event& event, Partition* p);
  // A record of the repartition topic: its item's part, once per source offset.
  Status ProcessRekeyed(const InputMessage& msg, Partition* p);
  // An items partition's marks, from the store: what it has applied of each source.
  Status LoadRekeyMarks(Partition* p);
  // Appends the marks of the items partitions that moved since the last
  // commit to `out`, under their checkpoint names.
  void AppendMovedRekeyMarks(std::vector<std::pair<TopicPartition, Checkpoint>>* out);
  // Appends every mark of items partition `p` to `out`.
  void AppendRekeyMarks(const Partition& p, std::vector<std::pair<TopicPartition, Checkpoint>>* out) const;
  // Every checkpoint name a task's state has (TaskCheckpoints::Names).
  std::vector<TopicPartition> TaskCheckpointNames(int32_t task) const;
  // Counts (and logs once per partition) an event whose user's default
  // partition is not the one it came from.
  void CheckPartition(const InputMessage& msg, const Event& event, Partition* p);
  // The cached state of an entity, read from the store (or started afresh) on a miss.
  Result<CacheEntry*> Load(EntityKind kind, ShardId shard, std::string_view id);
  // A stored state that does not decode goes to the quarantine.
  Status KeepAside(const std::string& key, std::string_view value, const Status& why);
  void MarkDirty(Cache::value_type* node);
  // Stops processing and serving those of these partitions it holds,
  // forgetting their cached and uncommitted work (a revoke, or a task taken
  // over) and releasing their tasks' changelog; their local state is deleted
  // after state_cleanup_delay. Returns how many it held.
  size_t DropPartitions(const std::vector<TopicPartition>& tps);
  // Takes these tasks' part out of `batch` (a commit in progress) and drops them.
  void GiveUpTakenOverTasks(const std::vector<int32_t>& tasks, CommitBatch* batch);
  // Drops the cached states of these shards (revoked partitions), dirty or not.
  void ForgetShards(const std::vector<ShardId>& shards);
  // Deletes the local state of the revoked tasks whose delay is up.
  void DeleteRevokedState();
  // Follows the standby and restoring tasks' changelogs a step: a longer
  // one, waiting briefly for records, while a task restores.
  void KeepStandbys(bool restoring);
  // Drops clean entries, the least recently used first (second chance), while
  // the cache holds more than its entity or byte budget.
  void Evict();
  static uint32_t EntryBytes(const std::string& key, const EntityState& state);
  Status Reject(const InputMessage& msg, Partition* p, RejectReason reason, const std::string& detail);
  void CountBatch();
  // The events applied since the last mark are visible now to lookups that
  // read the cache; to the others once committed.
  void MarkApplied();
  void MarkCommittedVisible();
  Status FailCommit(const Status& st);
  void PublishSnapshot();
  // featmon_changelog_copy_behind_records of the snapshot's standby and
  // restoring copies; the series of copies gone are removed.
  void ReportChangelogCopies(const IngestSnapshot& s);
  void UpdateLag();
  void ReportCacheSize();

  IngestPipelineOptions options_;
  TaskCheckpoints checkpoints_;  // the tasks' inputs and checkpoint names, from options_
  const FeatureSet* features_;
  FeatureEngine engine_;
  StateStore* store_;
  DeadLetterSink* dead_letters_;
  Metrics* metrics_;
  const Clock* clock_;
  MessageSource* source_ = nullptr;
  std::unique_ptr<StateChangelog> changelog_;  // null: no changelog
  // With a changelog: revoked tasks whose local state goes after
  // options_.state_cleanup_delay_ms.
  cluster::RevokedStateCleanup revoked_cleanup_;
  std::function<std::set<int32_t>()> standby_source_;  // null: no standbys
  std::set<int32_t> standby_tasks_;                     // as last asked, less the tasks held
  int64_t standbys_asked_ns_ = 0;
  int64_t standby_error_logged_ns_ = 0;
  int64_t restore_error_logged_ns_ = 0;
  bool changelog_restoring_ = false;  // some task restores in the background
  std::map<std::pair<int32_t, bool>, prometheus::Gauge*> copy_gauges_;  // by task and whether restoring
  EventDecoder decoder_;

  PartitionTable<Partition> partitions_;
  mutable std::mutex cache_mu_;  // see Thread-safety above
  Cache cache_;
  std::vector<int32_t> restoring_tasks_;  // under cache_mu_
  std::map<ShardId, int32_t> shard_tasks_;  // the shards of the assigned partitions, with their tasks; under cache_mu_
  std::atomic<bool> any_restoring_{false};  // restoring_tasks_ is not empty: lookups skip the lock when false
  std::map<TopicPartition, int64_t> group_committed_;  // from OnGroupCommitted, for the OnAssigned that follows
  std::vector<Cache::value_type*> dirty_;  // map nodes are stable until erased, which happens only when clean
  HeldBatch batch_;
  CommitGate gate_;
  size_t dead_letter_sink_ = 0;  // gate_'s index of dead_letters_
  RepartitionSink* repartition_ = nullptr;  // null: no repartition topic
  size_t repartition_sink_ = 0;             // gate_'s index of repartition_
  std::string rekeyed_;                     // the record being sent, reused
  StallHealth health_;          // stalled() while a commit fails: RunOnce retries it before polling
  StallHealth held_;            // stalled() while a message cannot be processed: RunOnce retries it
  int64_t last_commit_ns_ = 0;
  HistogramBatch read_to_visible_;
  uint64_t applied_since_mark_ = 0;
  // Read-committed lookups: (poll time, events) applied but not committed yet.
  std::vector<std::pair<int64_t, uint64_t>> awaiting_commit_;
  int64_t reported_cache_size_ = 0;  // this pipeline's share of featmon_cache_entities
  size_t cache_bytes_ = 0;           // estimated memory of the cached entries
  int64_t reported_cache_bytes_ = 0;  // this pipeline's share of featmon_cache_bytes
  uint64_t commits_ = 0;
  std::map<std::pair<std::string, RejectReason>, prometheus::Counter*> reject_counters_;
  std::map<RejectReason, int64_t> last_reject_log_ns_;
  std::map<RejectReason, uint64_t> suppressed_logs_;
  std::atomic<uint64_t> consumed_total_{0}, rejected_total_{0}, late_total_{0};
  std::atomic<int> assigned_count_{0};
  std::atomic<int> held_tasks_{0};
  std::atomic<int> task_count_{0};  // 0: not known yet
  std::atomic<uint64_t> off_partition_total_{0};

  mutable std::mutex snapshot_mu_;
  IngestSnapshot snapshot_;
};

}  // namespace featmon
