// The monitoring state through a changelog of its own
// (kafka.monitor_changelog_topic, compacted; partition 0 holds it), so that
// it moves between instances as a task's feature state does: a featmond
// whose data directory is new or lost restores its models, pending labels,
// watermark and examples outbox from it, and reads the predictions and
// clicks on from the offsets they reflect, instead of starting over.
//
// It is a task changelog (daemon/kafka/task_changelog.h, claims and markers,
// cluster/changelog_fold.h) whose state records are the monitoring store's
// keys and whose markers carry every monitored partition's checkpoint, named
// "monitor:<topic>/<partition>". A restore of a store that has a position
// reads only the records after it. A commit whose claim was overtaken (another
// instance restored and claimed the state) is refused: that instance monitors
// from then on, and this one must stop.
//
// Thread-safety: none; the monitoring thread uses it.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "daemon/kafka/changelog_topic.h"
#include "daemon/kafka/task_changelog.h"
#include "daemon/store/state_store.h"

namespace featmon {

class MonitorChangelog {
 public:
  // `owner` names this instance in its claims; `store` must outlive this.
  MonitorChangelog(std::unique_ptr<ChangelogTopic> topic, std::string owner, StateStore* store)
      : topic_(std::move(topic)), owner_(std::move(owner)), store_(store) {}

  // Before the monitoring loads its state: brings the store's monitoring
  // state to the changelog's (its tail only, when the store has a position;
  // otherwise the local state is dropped and the whole partition read), with
  // the checkpoints the changelog's head reflects, and claims it.
  Status Restore();
  // Appends one monitoring commit: its writes (and the keys the changelog
  // asks to write again) and the checkpoint of every monitored partition.
  // On success, the position to store with the local commit. Unavailable,
  // and taken_over(), when another instance's claim holds.
  Status Ship(const std::vector<MonitorWrite>& writes,
              const std::vector<std::pair<TopicPartition, Checkpoint>>& checkpoints, ChangelogPosition* position);
  bool taken_over() const { return held_ && held_->taken_over(); }
  // What the last Restore read.
  const ChangelogRestoreStats& restored() const { return restored_; }
  const std::string& topic() const { return topic_->name(); }

 private:
  std::unique_ptr<ChangelogTopic> topic_;
  std::string owner_;
  StateStore* store_;
  std::unique_ptr<TaskChangelog> held_;
  ChangelogRestoreStats restored_;
};

}  // namespace featmon
