// Which records of a task's changelog partition count, read in log order:
// the one rule that a restore, a standby and a writer checking its own
// partition apply (records: cluster/changelog_record.h).
//
// The history is a chain of writers, ordered by Kafka alone:
//  - A claim counts when its base is the head (the newest commit that counts)
//    at the claim's place in the log. Its writer becomes the current writer.
//    A claimer that restored less than the head lost a race with the writer
//    still committing, or with another claimer: its claim is refused, and
//    it must read on and claim again before it writes.
//  - A state record counts once a marker of the current writer at or past
//    its commit follows it. Records of any other writer never count: the
//    current writer's last commit before a claim that succeeds it was cut
//    short (a crash), or it went on writing after the group had moved its
//    task (a zombie).
// Nothing here is a protocol of our own: the group decides who holds a task,
// and the log's order decides which of two writers a reader believes.
// A writer checks the records that others appended between its own (their
// offsets show the gaps) with this same fold before it treats a commit as
// done: a claim among them means its task was taken over.
//
// Compaction keeps only a store key's newest state record. When that record
// does not count, compaction may remove the older one that did, so such keys
// are reported (RepairKeys) and the next claimer writes their restored
// states again in its first commit; the topic's min.compaction.lag.ms must
// exceed that time (a restore and a commit).
//
// Pure: no Kafka, no clock. Thread-safety: none.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cluster/changelog_record.h"

namespace featmon::changelog {

// Where a local copy of a task's state stands in its changelog partition
// (daemon/kafka/task_changelog.h), as a store records it: the last
// changelog commit it reflects, and the offset after that commit's marker,
// where a restore reads on.
struct Position {
  uint64_t head_writer = 0;     // the commit: its writer and seq
  uint64_t head_seq = 0;
  uint64_t current_writer = 0;  // the writer whose claim held then
  int64_t next_offset = 0;
};

class ChangelogFold {
 public:
  // Reads a partition from its start.
  ChangelogFold() = default;
  // Reads on from a local copy's position (its head's checkpoints are the
  // store's own).
  explicit ChangelogFold(const Position& at) : ChangelogFold({at.head_writer, at.head_seq}, {}, at.current_writer) {}
  // Reads on from where a local store's state stands: `head`, its last
  // changelog commit, which its writer made only once no claim had
  // overtaken it, and `current_writer`, whose claim held then (head's
  // writer, or a writer that claimed on head and had not committed yet).
  ChangelogFold(CommitId head, std::vector<SourceCheckpoint> head_checkpoints, uint64_t current_writer);

  // The record at `offset`; offsets increase.
  void Apply(int64_t offset, Record record);

  struct Write {
    std::string store_key;
    std::optional<std::string> state;  // nullopt: delete
  };
  // The state records that came to count since the last call, in log order:
  // applied in order to a store that held the state at the fold's start,
  // they bring it to head().
  std::vector<Write> TakeWrites();

  CommitId head() const { return head_; }
  // The input checkpoints of head() (empty for the empty history).
  const std::vector<SourceCheckpoint>& head_checkpoints() const { return head_checkpoints_; }
  // The writer whose claim holds; 0 before any claim.
  uint64_t current_writer() const { return current_; }
  // Store keys whose newest record would not count if a claim were appended
  // now (refused records, and the current writer's records without a marker):
  // the keys a new writer writes again in its first commit.
  std::vector<std::string> RepairKeys() const;

  // Nothing pending and no key whose newest record does not count: a
  // ChangelogFold(head(), head_checkpoints(), current_writer()) reading on
  // from the next offset folds, and reports repair keys, exactly as this one
  // does. Only then may a reader that does not write (a standby) store its
  // position.
  bool settled() const { return pending_.empty() && refused_newest_.empty(); }

  uint64_t ignored_records() const { return ignored_; }  // state records and markers that did not count
  uint64_t refused_claims() const { return refused_claims_; }
  uint64_t counted_states() const { return counted_states_; }

 private:
  struct Pending {
    int64_t offset;
    StateRecord record;
  };
  void Refuse(const std::string& store_key, int64_t offset);
  void Count(Pending pending);

  CommitId head_;
  std::vector<SourceCheckpoint> head_checkpoints_;
  uint64_t current_ = 0;
  std::vector<Pending> pending_;  // the current writer's records after its last marker
  std::vector<Write> writes_;
  // Keys whose newest record so far does not count, with that record's offset.
  std::map<std::string, int64_t> refused_newest_;
  uint64_t ignored_ = 0, refused_claims_ = 0, counted_states_ = 0;
};

}  // namespace featmon::changelog
