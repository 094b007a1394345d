#include "daemon/ingest/state_changelog.h"

#include <algorithm>
#include <chrono>

#include "daemon/logging/log.h"
#include "daemon/store/entity_key.h"

namespace featmon {

std::optional<std::string> StateChangelog::LocalKey(const Held& held, std::string_view changelog_key) {
  if (changelog_key.size() < 2) return std::nullopt;
  auto shard = held.shards.find(changelog_key[0]);
  if (shard == held.shards.end()) return std::nullopt;
  std::string key(kEntityKeyShardBytes, '\0');
  key.append(changelog_key.substr(1));
  SetEntityKeyShard(shard->second, &key);
  if (!ParseEntityKey(key)) return std::nullopt;
  return key;
}

std::optional<std::string> StateChangelog::ChangelogKey(const Held& held, std::string_view local_key) {
  auto parts = ParseEntityKey(local_key);
  if (!parts) return std::nullopt;
  for (const auto& [role, shard] : held.shards) {
    if (shard != parts->shard) continue;
    std::string key(1, role);
    key.append(local_key.substr(kEntityKeyShardBytes));
    return key;
  }
  return std::nullopt;
}

Status StateChangelog::AddWrites(const Held& held, int32_t task, std::vector<changelog::ChangelogFold::Write> writes,
                                 CommitBatch* batch) {
  for (auto& w : writes) {
    auto key = LocalKey(held, w.store_key);
    if (!key) return Status::Corruption("changelog state key of task " + std::to_string(task) +
                                        ": not an entity of its inputs (" + std::to_string(w.store_key.size()) +
                                        " bytes)");
    EntityWrite& e = batch->entities.emplace_back();
    e.key = std::move(*key);
    if (w.state) e.value = std::move(*w.state);
    else e.erase = true;
  }
  return Status::Ok();
}

Status StateChangelog::CheckPartitions() {
  if (partitions_checked_) return Status::Ok();
  auto tasks = topic_->PartitionCount(checkpoints_.views_topic());
  if (!tasks.ok()) return tasks.status();
  auto partitions = topic_->PartitionCount();
  if (!partitions.ok())
    return Status::Unavailable("kafka.changelog_topic " + topic_->name() + ": " + partitions.status().message() +
                               " (create it with " + std::to_string(*tasks) + " partitions, cleanup.policy=compact)");
  if (*partitions != *tasks)
    return Status::InvalidArgument("kafka.changelog_topic " + topic_->name() + " has " + std::to_string(*partitions) +
                                   " partitions, but the inputs (kafka.topics.views, kafka.topics.clicks) have " +
                                   std::to_string(*tasks) + ": it needs one per task");
  tasks_ = *tasks;
  partitions_checked_ = true;
  return Status::Ok();
}

Result<StateChangelog::StoredCopy> StateChangelog::LoadStoredCopy(int32_t task, const std::vector<ShardId>& shards) {
  StoredCopy copy;
  auto pos = store_->LoadChangelogPosition(task);
  if (!pos.ok()) return pos.status();
  if (*pos) {
    copy.head = {(*pos)->head_writer, (*pos)->head_seq};
    copy.fold = changelog::ChangelogFold(**pos);
    copy.next_offset = (*pos)->next_offset;
    copy.kept = true;
  } else if (Status st = store_->DropState(shards, checkpoints_.Names(task, tasks_), task); !st.ok()) {
    return st;  // not a commit of the changelog's history: replaced by it
  }
  return copy;
}

Status StateChangelog::Restore(int32_t task, const std::vector<Input>& inputs) {
  if (Status st = CheckPartitions(); !st.ok()) return st;
  auto started = std::chrono::steady_clock::now();
  Held held;
  for (const Input& in : inputs) held.shards[Role(in.tp)] = in.shard;
  changelog::ChangelogFold fold;
  changelog::CommitId local_head;
  int64_t from = 0;
  ChangelogRestoreStats stats;  // what this restore read, the background part included
  // A standby's copy: its fold is where its last read left the store, and
  // its checkpoints are those of its head, which it may not have stored yet.
  bool from_standby = false, was_standby = false;
  if (auto standby = standbys_.find(task); standby != standbys_.end()) {
    Standby& copy = standby->second;
    fold = std::move(copy.fold);
    from = copy.next_offset;
    from_standby = true;
    was_standby = copy.was_standby;
    if (copy.restoring) {
      stats = copy.read;
      started = copy.restore_started;
    }
    standbys_.erase(standby);
    if (Status st = Refollow(); !st.ok())  // the other copies start again from the store
      Log(Component::kIngest).warn("following the standby tasks' changelogs: {}", st.ToString());
  } else {
    std::vector<ShardId> shards;
    for (const Input& in : inputs) shards.push_back(in.shard);
    auto copy = LoadStoredCopy(task, shards);
    if (!copy.ok()) return copy.status();
    fold = std::move(copy->fold);
    local_head = copy->head;
    from = copy->next_offset;
    stats.from = from;
    if (!copy->kept) {
      for (const Input& in : inputs) {
        *in.stored = false;
        *in.checkpoint = Checkpoint{};
      }
    }
  }
  auto apply = [&](std::vector<changelog::ChangelogFold::Write> writes) -> Status {
    CommitBatch batch;
    batch.entities.reserve(writes.size());
    if (Status st = AddWrites(held, task, std::move(writes), &batch); !st.ok()) return st;
    return store_->Commit(batch);
  };
  ChangelogRestoreStats claim;
  auto claimed = TaskChangelog::Claim(topic_.get(), task, std::move(fold), from, owner_, apply, &claim);
  if (!claimed.ok()) return claimed.status();
  if (stats.records == 0) stats.from = claim.from;
  stats.records += claim.records;
  stats.bytes += claim.bytes;
  stats.states += claim.states;
  stats.to = claim.to;
  CommitBatch batch;
  if (from_standby || (*claimed)->head() != local_head) {
    // The inputs' checkpoints go back to the caller too; it loads the marks
    // of the items partition from the store.
    for (const changelog::SourceCheckpoint& c : (*claimed)->head_checkpoints()) {
      if (!checkpoints_.IsTaskCheckpoint(c.topic)) continue;
      const Checkpoint checkpoint{c.next_offset, c.stream_time_ms};
      batch.checkpoints.emplace_back(TopicPartition{c.topic, task}, checkpoint);
      for (const Input& in : inputs) {
        if (in.tp.topic != c.topic) continue;
        *in.checkpoint = checkpoint;
        *in.stored = true;
      }
    }
  }
  batch.changelog_positions.emplace_back(task, (*claimed)->position());
  if (Status st = store_->Commit(batch); !st.ok()) return st;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  Log(Component::kIngest).info(
      "task {}: restored {} entity states from {}/{} (offsets {} to {}, {} records, {:.1f} MiB) in {:.2f} s{}", task,
      stats.states, topic_->name(), task, stats.from, stats.to, stats.records,
      static_cast<double>(stats.bytes) / (1 << 20), seconds,
      was_standby ? std::string(", reading on from its standby copy")
      : batch.checkpoints.empty() ? std::string(", the local state was current") : std::string());
  last_restore_ = stats;
  held.changelog = std::move(*claimed);
  held_[task] = std::move(held);
  return Status::Ok();
}

Status StateChangelog::BeginRestores(const std::set<int32_t>& tasks) {
  if (!follower_) return Status::Internal("a restore in the background without a changelog follower");
  if (Status st = CheckPartitions(); !st.ok()) return st;
  bool followed_more = false;
  for (int32_t task : tasks) {
    if (held_.count(task)) return Status::Internal("task " + std::to_string(task) + " is already claimed here");
    auto it = standbys_.find(task);
    if (it == standbys_.end()) {
      auto standby = StartStandby(task);
      if (!standby.ok()) return standby.status();
      standby->was_standby = false;
      it = standbys_.emplace(task, std::move(*standby)).first;
      followed_more = true;
    }
    Standby& copy = it->second;
    copy.restoring = true;
    copy.read = ChangelogRestoreStats{};
    copy.read.from = copy.read.to = copy.next_offset;
    copy.restore_started = std::chrono::steady_clock::now();
    Log(Component::kIngest).info("task {}: restoring from {}/{} in the background, from offset {}{}", task,
                                 topic_->name(), task, copy.next_offset,
                                 copy.was_standby ? " (its standby copy)" : "");
  }
  return followed_more ? Refollow() : Status::Ok();
}

std::vector<int32_t> StateChangelog::CaughtUpRestores() const {
  std::vector<int32_t> out;
  for (const auto& [task, copy] : standbys_) {
    if (!copy.restoring) continue;
    const int64_t end = follower_->End(task);
    if (end >= 0 && copy.next_offset >= end) out.push_back(task);
  }
  return out;
}

void StateChangelog::Release(int32_t task) {
  held_.erase(task);
  auto it = standbys_.find(task);
  if (it == standbys_.end() || !it->second.restoring) return;
  standbys_.erase(it);
  if (Status st = Refollow(); !st.ok())
    Log(Component::kIngest).warn("following the standby tasks' changelogs: {}", st.ToString());
}

Result<StateChangelog::Standby> StateChangelog::StartStandby(int32_t task) {
  Standby standby;
  std::vector<ShardId> shards;
  for (const std::string& topic : checkpoints_.inputs()) {
    const TopicPartition tp{topic, task};
    auto shard = store_->RegisterShard(tp);
    if (!shard.ok()) return shard.status();
    standby.held.shards[Role(tp)] = *shard;
    shards.push_back(*shard);
  }
  auto copy = LoadStoredCopy(task, shards);
  if (!copy.ok()) return copy.status();
  standby.fold = std::move(copy->fold);
  standby.next_offset = copy->next_offset;
  return standby;
}

Status StateChangelog::Refollow() {
  std::map<int32_t, int64_t> from;
  for (const auto& [task, standby] : standbys_) from[task] = standby.next_offset;
  Status st = follower_->Follow(from);
  if (st.ok()) return st;
  // Standbys start again from the store at the next SetStandbys; restores
  // are begun again by their pipeline.
  standbys_.clear();
  return st;
}

Status StateChangelog::SetStandbys(const std::set<int32_t>& tasks) {
  if (!follower_) return tasks.empty() ? Status::Ok() : Status::Internal("standbys without a changelog follower");
  bool changed = false;
  for (auto it = standbys_.begin(); it != standbys_.end();) {
    if (tasks.count(it->first) || it->second.restoring) {
      ++it;
    } else {
      it = standbys_.erase(it);
      changed = true;
    }
  }
  for (int32_t task : tasks) {
    if (standbys_.count(task)) continue;
    if (held_.count(task)) return Status::Internal("task " + std::to_string(task) + " is held here, not a standby");
    if (Status st = CheckPartitions(); !st.ok()) return st;
    auto standby = StartStandby(task);
    if (!standby.ok()) return standby.status();
    Log(Component::kIngest).info("task {}: keeping a standby copy, following {}/{} from offset {}", task,
                                 topic_->name(), task, standby->next_offset);
    standbys_.emplace(task, std::move(*standby));
    changed = true;
  }
  return changed ? Refollow() : Status::Ok();
}

Status StateChangelog::UpdateStandbys(size_t max_records, int wait_ms) {
  if (!follower_ || standbys_.empty()) return Status::Ok();
  CommitBatch batch;
  std::set<int32_t> read;
  Status st = follower_->Poll(max_records, wait_ms, [&](int32_t task, int64_t offset, changelog::Record record,
                                                        size_t bytes) {
    auto it = standbys_.find(task);
    if (it == standbys_.end() || offset < it->second.next_offset) return Status::Ok();  // not followed, or read
    Standby& standby = it->second;
    standby.fold.Apply(offset, std::move(record));
    standby.next_offset = offset + 1;
    read.insert(task);
    auto writes = standby.fold.TakeWrites();
    if (standby.restoring) {
      ++standby.read.records;
      standby.read.bytes += bytes;
      standby.read.states += writes.size();
      standby.read.to = offset + 1;
    }
    return AddWrites(standby.held, task, std::move(writes), &batch);
  });
  for (int32_t task : read) {
    const Standby& standby = standbys_.at(task);
    if (!standby.fold.settled()) continue;
    const changelog::CommitId head = standby.fold.head();
    batch.changelog_positions.emplace_back(
        task, ChangelogPosition{head.writer, head.seq, standby.fold.current_writer(), standby.next_offset});
    for (const changelog::SourceCheckpoint& c : standby.fold.head_checkpoints())
      if (checkpoints_.IsTaskCheckpoint(c.topic))
        batch.checkpoints.emplace_back(TopicPartition{c.topic, task}, Checkpoint{c.next_offset, c.stream_time_ms});
  }
  if (st.ok() && (!batch.entities.empty() || !batch.changelog_positions.empty())) st = store_->Commit(batch);
  // The folds are past what the store holds: start again from it.
  if (!st.ok()) standbys_.clear();
  return st;
}

std::vector<StandbyStatus> StateChangelog::Copies(bool restoring) const {
  std::vector<StandbyStatus> out;
  for (const auto& [task, copy] : standbys_)
    if (copy.restoring == restoring) out.push_back({task, copy.next_offset, follower_->End(task)});
  return out;
}

std::vector<StandbyStatus> StateChangelog::Standbys() const { return Copies(false); }
std::vector<StandbyStatus> StateChangelog::Restores() const { return Copies(true); }

Status StateChangelog::Ship(const std::map<int32_t, TaskCommit>& commits,
                            std::vector<std::pair<int32_t, ChangelogPosition>>* positions,
                            std::vector<int32_t>* taken_over) {
  for (const auto& [task, commit] : commits) {
    auto it = held_.find(task);
    if (it == held_.end()) return Status::Internal("task " + std::to_string(task) + " has no changelog claim");
    Held& held = it->second;
    std::vector<changelog::StateRecord> states;
    // Keys whose newest changelog record another writer wrote: their states
    // again, before this commit's own.
    for (std::string& key : held.changelog->RepairKeys()) {
      auto local = LocalKey(held, key);
      if (!local) continue;  // not an entity state of this task's inputs
      auto parts = ParseEntityKey(*local);
      auto value = store_->Get(parts->shard, parts->kind, parts->id);
      if (!value.ok()) return value.status();
      states.push_back({std::move(key), {}, std::move(*value)});
    }
    for (const auto& [entity_key, state] : commit.states) {
      auto key = ChangelogKey(held, entity_key);
      if (!key) return Status::Internal("task " + std::to_string(task) + " was handed a state of another task");
      states.push_back({std::move(*key), {}, state});
    }
    std::vector<changelog::SourceCheckpoint> checkpoints;
    for (const auto& [tp, cp] : commit.checkpoints) checkpoints.push_back({tp.topic, cp.next_offset, cp.stream_time_ms});
    if (Status st = held.changelog->Commit(std::move(states), std::move(checkpoints)); !st.ok()) {
      if (!held.changelog->taken_over()) return st;
      taken_over->push_back(task);  // the caller gives it up (Release)
      continue;
    }
    positions->emplace_back(task, held.changelog->position());
  }
  return Status::Ok();
}

}  // namespace featmon
