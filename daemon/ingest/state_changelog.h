// The ingest pipeline's side of the changelog (kafka.changelog_topic): a
// task assigned here is restored from its changelog partition and claimed
// there, and each commit's entity states go to the partition before the
// local store commits them, so the local state is never ahead of what the
// changelog holds and counts (daemon/kafka/task_changelog.h).
//
// A task is partition n of views and of clicks: two shards locally. In the
// changelog an entity state's key is its input's role ('v' views, 'c'
// clicks) and EntityKeyWithoutShard, so it maps onto whichever shard ids the
// restoring instance gave those partitions. Each state is whole
// (EncodeEntityState), never a delta: compaction keeps only the newest.
//
// Restore: the local state's changelog position, when the store has one,
// means the local state is a commit of the changelog's history, and only the
// records after it are read. Without one (a new data directory, or state
// from before the changelog was set), the task's local state is dropped and
// the whole partition restored. The input checkpoints then come from the
// changelog's head whenever it is past the local state.
//
// With a follower, a restore runs in the background, as Kafka Streams
// restores between its stream thread's batches: BeginRestores makes a task
// a standby that is being restored, UpdateStandbys reads it on a bounded
// step at a time, and once CaughtUpRestores lists it, Restore claims it,
// reading only what came after. The group's rebalance, and this worker's
// other tasks, wait for none of it.
//
// Thread-safety: none; the pipeline's worker (and the group thread while
// the worker is held out) uses it.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/ingest/ingest_status.h"
#include "daemon/ingest/task_checkpoints.h"
#include "daemon/kafka/changelog_follower.h"
#include "daemon/kafka/task_changelog.h"
#include "daemon/store/state_store.h"

namespace featmon {

class StateChangelog {
 public:
  // `items_topic`: the repartition topic, a third input of every task
  // (role 'i'), whose marks (daemon/ingest/rekeyed_event.h) are checkpoints
  // of the task too; empty: none.
  StateChangelog(std::unique_ptr<ChangelogTopic> topic, std::string owner, std::string views_topic,
                 std::string clicks_topic, StateStore* store, std::string items_topic = "")
      : topic_(std::move(topic)),
        owner_(std::move(owner)),
        checkpoints_(std::move(views_topic), std::move(clicks_topic), std::move(items_topic)),
        store_(store) {}

  // One input partition of a task, as the pipeline holds it.
  struct Input {
    TopicPartition tp;
    ShardId shard = 0;
    Checkpoint* checkpoint = nullptr;  // set to the restored one when the changelog is ahead
    bool* stored = nullptr;            // whether *checkpoint is a stored one
  };
  // Restores task `task` (its inputs, views and clicks) into the store and
  // claims it. Afterwards the inputs' checkpoints say where to resume. A
  // standby copy of the task (kept, or begun by BeginRestores) is read on from
  // where it stands.
  Status Restore(int32_t task, const std::vector<Input>& inputs);
  // Starts restoring assigned tasks in the background (needs a follower):
  // each from its standby copy when there is one, else from where the
  // store's copy stands. UpdateStandbys reads them on; Restore finishes each.
  Status BeginRestores(const std::set<int32_t>& tasks);
  // Tasks being restored whose copy has read their partition to its end as
  // last fetched: Restore now reads only what came since.
  std::vector<int32_t> CaughtUpRestores() const;
  bool restoring(int32_t task) const {
    auto it = standbys_.find(task);
    return it != standbys_.end() && it->second.restoring;
  }
  // The changelog needs a partition per task (per partition of the views
  // topic): an error naming the settings and both counts otherwise. Checked
  // before the first restore, until it holds.
  Status CheckPartitions();
  // The task is no longer assigned here: its claim, or its restore, ends.
  void Release(int32_t task);
  bool holds(int32_t task) const { return held_.count(task) > 0; }

  // Warm standbys (cluster.standby_replicas): copies of tasks this worker
  // does not hold, kept current by following their partitions, so that a
  // task assigned here restores only what came since (Restore takes over
  // the standby's fold, with nothing to read again). Needs set_follower.
  void set_follower(std::unique_ptr<ChangelogFollower> follower) { follower_ = std::move(follower); }
  bool has_follower() const { return follower_ != nullptr; }
  // Follows exactly `tasks` as standbys, none of them held here, besides the
  // tasks being restored. A task no longer in the set stops being followed;
  // its local copy is the caller's to keep or delete. A new one reads on
  // from its stored position, or drops its local state (not a commit of the
  // changelog) and reads from the start.
  Status SetStandbys(const std::set<int32_t>& tasks);
  // Stores the states of up to `max_records` fetched changelog records of
  // the standby and restoring tasks, waiting up to `wait_ms` for the first,
  // in one local commit; a task's position and its inputs' checkpoints go
  // with them whenever its fold is settled, so a restart reads on from there.
  Status UpdateStandbys(size_t max_records, int wait_ms = 0);
  std::vector<StandbyStatus> Standbys() const;
  // The tasks being restored in the background, and how far each has read.
  std::vector<StandbyStatus> Restores() const;
  bool keeps_standby(int32_t task) const { return standbys_.count(task) > 0; }
  // What the last Restore read (its log line says the same).
  const ChangelogRestoreStats& last_restore() const { return last_restore_; }

  // One task's part of a commit: its changed entities, as local entity keys
  // and whole encoded states, and every input's checkpoint.
  struct TaskCommit {
    std::vector<std::pair<std::string, std::string>> states;
    std::vector<std::pair<TopicPartition, Checkpoint>> checkpoints;
  };
  // Appends each task's commit to its partition, with the states the
  // changelog asked to write again. The positions to store with the local
  // commit go to `positions`. A task another instance has taken over (its
  // claim holds) goes to `taken_over`: its commit does not count, and the
  // caller must leave its part out of the local commit and give the task up
  // (Release). Any other error (the broker) means the local commit must not
  // happen at all.
  Status Ship(const std::map<int32_t, TaskCommit>& commits,
              std::vector<std::pair<int32_t, ChangelogPosition>>* positions, std::vector<int32_t>* taken_over);

 private:
  char Role(const TopicPartition& tp) const {
    return tp.topic == checkpoints_.views_topic() ? 'v' : tp.topic == checkpoints_.clicks_topic() ? 'c' : 'i';
  }
  struct Held;
  // A changelog key (role, then the entity key without its shard) as a
  // local entity key of this task's shard for that role; nullopt when the
  // role is not one of the task's inputs or the key names no entity.
  static std::optional<std::string> LocalKey(const Held& held, std::string_view changelog_key);
  // A local entity key of this task as its changelog key; nullopt when its
  // shard is not one of the task's.
  static std::optional<std::string> ChangelogKey(const Held& held, std::string_view local_key);
  // The states that came to count, as local entity writes appended to `batch`.
  static Status AddWrites(const Held& held, int32_t task, std::vector<changelog::ChangelogFold::Write> writes,
                          CommitBatch* batch);

  std::unique_ptr<ChangelogTopic> topic_;
  std::string owner_;
  TaskCheckpoints checkpoints_;
  StateStore* store_;
  int32_t tasks_ = 0;  // the inputs' partition count, once CheckPartitions has read it
  struct Held {
    std::unique_ptr<TaskChangelog> changelog;
    std::map<char, ShardId> shards;  // by role: the one map between the two
  };
  std::map<int32_t, Held> held_;
  bool partitions_checked_ = false;

  // Where the store's copy of a task stands, as a fold to read on from: its
  // changelog position's commit, or (no position: the copy is not a commit
  // of the changelog's history) nothing, once the copy is dropped.
  struct StoredCopy {
    changelog::ChangelogFold fold;
    changelog::CommitId head;
    int64_t next_offset = 0;
    bool kept = false;  // false: dropped, read the partition from 0
  };
  // Dropping the copy drops all its checkpoints (TaskCheckpoints::Names) with `shards`.
  Result<StoredCopy> LoadStoredCopy(int32_t task, const std::vector<ShardId>& shards);
  struct Standby {
    Held held;  // its shards; no claim
    changelog::ChangelogFold fold;
    int64_t next_offset = 0;
    // Assigned here and being restored (BeginRestores), not a standby role.
    bool restoring = false;
    bool was_standby = true;  // a standby copy before it was assigned
    ChangelogRestoreStats read;  // while restoring
    std::chrono::steady_clock::time_point restore_started;
  };
  // Registers the task's shards and starts its fold where the store stands.
  Result<Standby> StartStandby(int32_t task);
  std::vector<StandbyStatus> Copies(bool restoring) const;
  // Points the follower at every standby's next offset; on failure forgets
  // them all, for the next SetStandbys to start again from the store.
  Status Refollow();
  std::map<int32_t, Standby> standbys_;
  std::unique_ptr<ChangelogFollower> follower_;  // null: no standbys
  ChangelogRestoreStats last_restore_;
};

}  // namespace featmon
