// Model monitoring's event-time watermark over its input partitions, as a
// pure rule: the partitions' progress and the monotonic time in, the
// watermark out.
//
// The watermark is the smallest event time among the active partitions, or
// the largest among all when every partition is idle, minus
// `allowed_lateness`, never moving back. A partition is active while it is
// behind its end (or its end is not known yet), or it delivered a message, or
// was assigned, within `partition_idle_timeout` (Flink's source idleness).
// Reading a backlog therefore advances it as slowly as the slowest partition,
// so a replay evaluates the same windows; live, a partition that has gone
// quiet does not hold it back. A partition that has delivered nothing yet
// holds the watermark for the idle timeout like any other: its first
// messages may be only moments away (a clicks batch still lingering in the
// producer), and a watermark taken over the predictions alone would mature
// their labels before their clicks are read.
//
// It also holds while any partition ever monitored here is not assigned now
// (a rebalance in progress, a restarted featmond whose dead predecessor still
// holds a share): that partition's events are unknown and could all fall
// behind a watermark taken over the others.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace featmon::drift {

struct PartitionClock {
  int64_t next_offset = -1;      // next offset to read; -1 before the first message without a checkpoint
  int64_t high_watermark = -1;   // the broker's end of the partition; -1 unknown
  int64_t stream_time_ms = 0;    // largest event time read from it
  int64_t last_activity_ns = 0;  // monotonic time of its last message, or of its assignment
};

struct WatermarkOptions {
  int64_t allowed_lateness_ms = 30'000;        // subtracted from the event time. Default: 30s
  int64_t partition_idle_timeout_ms = 30'000;  // a caught-up partition silent this long stops holding. Default: 30s
};

enum class WatermarkStep {
  kAdvanced,           // value() moved forward
  kUnchanged,          // nothing allows it to move
  kHeldForUnassigned,  // some partition monitored here before is not assigned now
};

class Watermark {
 public:
  explicit Watermark(WatermarkOptions options) : options_(options) {}

  // `assigned`: every partition assigned now; `known_partitions`: how many
  // have ever been monitored here (assigned ones included).
  WatermarkStep Advance(const std::vector<PartitionClock>& assigned, size_t known_partitions, int64_t now_ns);
  int64_t value() const { return value_; }
  void Restore(int64_t value) { value_ = value; }

  // True while a partition has unread messages, or its end is not known.
  static bool Behind(const PartitionClock& p);

 private:
  WatermarkOptions options_;
  int64_t value_ = 0;
};

}  // namespace featmon::drift
