#include "daemon/monitor/monitor_changelog.h"

#include <chrono>

#include "daemon/logging/log.h"

namespace featmon {

namespace {
constexpr int32_t kPartition = 0;
}  // namespace

Status MonitorChangelog::Restore() {
  const auto started = std::chrono::steady_clock::now();
  if (auto partitions = topic_->PartitionCount(); !partitions.ok())
    return Status::Unavailable("kafka.monitor_changelog_topic " + topic_->name() + ": " +
                               partitions.status().message() + " (create it with 1 partition, cleanup.policy=compact)");
  held_.reset();
  auto pos = store_->LoadChangelogPosition(kMonitorChangelogTask);
  if (!pos.ok()) return pos.status();
  changelog::ChangelogFold fold;
  changelog::CommitId local_head;
  int64_t from = 0;
  if (*pos) {
    local_head = {(*pos)->head_writer, (*pos)->head_seq};
    fold = changelog::ChangelogFold(**pos);
    from = (*pos)->next_offset;
  } else if (Status st = store_->DropMonitorState(); !st.ok()) {
    return st;  // not a commit of the changelog's history: replaced by it
  }
  auto apply = [this](std::vector<changelog::ChangelogFold::Write> writes) -> Status {
    CommitBatch batch;
    batch.monitor.reserve(writes.size());
    for (auto& w : writes) batch.monitor.push_back({std::move(w.store_key), std::move(w.state)});
    return store_->Commit(batch);
  };
  restored_ = ChangelogRestoreStats{};
  auto claimed = TaskChangelog::Claim(topic_.get(), kPartition, std::move(fold), from, owner_, apply, &restored_);
  if (!claimed.ok()) return claimed.status();
  CommitBatch batch;
  if ((*claimed)->head() != local_head) {
    for (const changelog::SourceCheckpoint& c : (*claimed)->head_checkpoints()) {
      auto tp = ParseTopicPartitionName(c.topic);
      if (!tp) return Status::Corruption("kafka.monitor_changelog_topic " + topic_->name() + ": checkpoint name '" +
                                         c.topic + "' is not <topic>/<partition>");
      batch.checkpoints.emplace_back(std::move(*tp), Checkpoint{c.next_offset, c.stream_time_ms});
    }
  }
  batch.changelog_positions.emplace_back(kMonitorChangelogTask, (*claimed)->position());
  if (Status st = store_->Commit(batch); !st.ok()) return st;
  held_ = std::move(*claimed);
  Log(Component::kMonitor).info(
      "restored {} monitoring keys from {}/{} (offsets {} to {}, {} records, {:.1f} MiB) in {:.2f} s{}",
      restored_.states, topic_->name(), kPartition, restored_.from, restored_.to, restored_.records,
      static_cast<double>(restored_.bytes) / (1 << 20),
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
      batch.checkpoints.empty() ? ", the local state was current" : "");
  return Status::Ok();
}

Status MonitorChangelog::Ship(const std::vector<MonitorWrite>& writes,
                              const std::vector<std::pair<TopicPartition, Checkpoint>>& checkpoints,
                              ChangelogPosition* position) {
  if (!held_) return Status::Internal("the monitoring changelog was not restored and claimed");
  std::vector<changelog::StateRecord> states;
  // Keys whose newest changelog record another writer wrote: their values
  // again, before this commit's own (which may change them once more).
  for (std::string& key : held_->RepairKeys()) {
    auto value = store_->GetMonitor(key);
    if (!value.ok()) return value.status();
    states.push_back({std::move(key), {}, std::move(*value)});
  }
  for (const MonitorWrite& w : writes) states.push_back({w.key, {}, w.value});
  std::vector<changelog::SourceCheckpoint> marks;
  marks.reserve(checkpoints.size());
  for (const auto& [tp, cp] : checkpoints) marks.push_back({TopicPartitionName(tp), cp.next_offset, cp.stream_time_ms});
  if (Status st = held_->Commit(std::move(states), std::move(marks)); !st.ok()) return st;
  *position = held_->position();
  return Status::Ok();
}

}  // namespace featmon
