// One instance's hold of a task's changelog partition: it restores the
// task's state from the partition, claims the task there, and appends each
// commit, checking with cluster/changelog_fold.h's rule that no other
// writer's claim has overtaken it.
//
// Claim: reads the partition from where the local state stands (offset 0
// when there is none), hands the states that count to the caller to store,
// then appends a claim on the head it reached and reads past it: a claim that
// did not hold (another writer committed or claimed meanwhile) is followed
// by reading on and claiming again.
//
// Commit: appends the commit's states, then its marker. Records of other
// writers may land between them (a zombie that has not noticed the
// rebalance, or the instance the group gave the task to): the offsets show
// those gaps, which are read and folded. A claim among them that holds means
// the task was taken over: the commit does not count, and the caller must
// not store it and gives the task up. States that others wrote are reported
// (RepairKeys) for the next commit to write again, so compaction cannot keep
// them instead of the states that count.
//
// Thread-safety: none; the task's ingest worker uses it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cluster/changelog_fold.h"
#include "daemon/kafka/changelog_topic.h"

namespace featmon {

struct ChangelogRestoreStats {
  uint64_t records = 0;   // records read
  uint64_t bytes = 0;     // their keys and values
  uint64_t states = 0;    // states that counted, handed to the caller
  int64_t from = 0, to = 0;  // the offsets read
};

class TaskChangelog {
 public:
  using Store = std::function<Status(std::vector<changelog::ChangelogFold::Write>)>;
  // `fold` starts at the local state's last changelog commit (or is empty)
  // and `from` is the offset after that commit's marker (or 0). `store`
  // receives the states that count, in order, in batches.
  static Result<std::unique_ptr<TaskChangelog>> Claim(ChangelogTopic* topic, int32_t task, changelog::ChangelogFold fold,
                                                      int64_t from, std::string owner, const Store& store,
                                                      ChangelogRestoreStats* stats);

  // Appends one commit. Unavailable, saying so, when another writer's claim
  // holds: the commit does not count.
  Status Commit(std::vector<changelog::StateRecord> states, std::vector<changelog::SourceCheckpoint> checkpoints);

  // The commit a local store records as where its state stands, and the
  // offset after its marker (where a later restore reads on from).
  changelog::CommitId head() const { return fold_.head(); }
  const std::vector<changelog::SourceCheckpoint>& head_checkpoints() const { return fold_.head_checkpoints(); }
  int64_t next_offset() const { return last_offset_ + 1; }
  // head() and next_offset(), as the local store records them.
  changelog::Position position() const {
    return {fold_.head().writer, fold_.head().seq, writer_, next_offset()};
  }
  uint64_t writer() const { return writer_; }
  // Another writer's claim has overtaken this one: every later Commit is refused.
  bool taken_over() const { return taken_over_; }
  int32_t task() const { return task_; }
  // Store keys whose newest record on the partition does not count: the
  // next commit writes their states again.
  std::vector<std::string> RepairKeys() const { return fold_.RepairKeys(); }

 private:
  TaskChangelog(ChangelogTopic* topic, int32_t task, changelog::ChangelogFold fold, uint64_t writer)
      : topic_(topic), task_(task), fold_(std::move(fold)), writer_(writer) {}
  // Folds others' records in [from, to), skipping `own` offsets.
  Status FoldOthers(int64_t from, int64_t to);

  ChangelogTopic* topic_;
  int32_t task_;
  changelog::ChangelogFold fold_;  // the partition as far as last_offset_, own states without their bytes
  uint64_t writer_;
  int64_t last_offset_ = -1;  // of this writer's last record (its claim, then its markers)
  uint64_t attempts_ = 0;     // commits tried: each gets the next seq
  bool taken_over_ = false;
};

}  // namespace featmon
