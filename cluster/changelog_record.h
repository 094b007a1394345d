// The records of a task's changelog partition (issue 13: state moves with its
// task through Kafka, as Kafka Streams' changelog topics move it).
//
// Partition n of the changelog topic (compacted) holds task n's state. A
// writer is one instance's hold of the task, named by a random 64-bit id. It
// opens its history with a claim naming the commit it continues from (its
// base), then appends, per changelog commit, one record per entity state the
// commit changed and a marker with the input offsets and stream times the
// state then reflects. cluster/changelog_fold.h says which records count.
//
//   key                      value
//   'S' + store key          version, writer, seq, present, state bytes  (state)
//   'M' + writer + seq       version, checkpoints                        (marker)
//   'C' + writer             version, base writer, base seq, owner       (claim)
//
// A deleted state is a state record with present = 0, not a Kafka tombstone:
// a tombstone has no value to say which commit it belongs to. Markers are
// keyed by commit and claims by writer, so compaction never drops one: a
// restore can always tell which state records count, and holds at most one
// commit's records while it waits for their marker. The cost is about 40
// bytes per commit that compaction keeps (at featmond's default 1 s commit
// interval, about 3.5 MB a day per task); compaction keeps only each store
// key's newest state.
//
// Pure: no Kafka. Thread-safety: none needed (values).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/status.h"

namespace featmon::changelog {

// One commit of one writer; writer 0 is the empty history (no commit yet).
struct CommitId {
  uint64_t writer = 0;
  uint64_t seq = 0;
  bool operator==(const CommitId&) const = default;
};

// Where one input of the task stood at a commit: the next offset to read and
// the largest event time seen (featmond's Checkpoint), by input topic.
struct SourceCheckpoint {
  std::string topic;
  int64_t next_offset = 0;
  int64_t stream_time_ms = 0;
  bool operator==(const SourceCheckpoint&) const = default;
};

struct StateRecord {
  std::string store_key;             // the entity's key within the task (opaque here)
  CommitId commit;
  std::optional<std::string> state;  // nullopt: the commit deleted it
};

struct MarkerRecord {
  CommitId commit;
  std::vector<SourceCheckpoint> checkpoints;
};

struct ClaimRecord {
  uint64_t writer = 0;  // never 0
  CommitId base;        // the commit the writer's state starts from
  std::string owner;    // the instance, for people reading the log
};

using Record = std::variant<StateRecord, MarkerRecord, ClaimRecord>;

// Key and value of each record.
std::string RecordKey(const Record& record);
std::string RecordValue(const Record& record);

// Names what is wrong with a record that does not decode (a damaged or
// foreign record in the topic).
Result<Record> DecodeRecord(std::string_view key, std::string_view value);

}  // namespace featmon::changelog
