// The partitions a pipeline owns now, each with its checkpoint: the next
// offset to process, the next one persisted, the partition's stream time and
// the broker's end of it. Both pipelines keep one (each partition type holds a
// PartitionCheckpoint named `cp`); the table finds a message's partition,
// loads checkpoints at assignment, refreshes ends and lag gauges, lists what a
// commit must write and marks it written.
//
// Thread-safety: none; the pipeline's thread (assignment and revocation run
// while the pipeline is held out).
#pragma once

#include <algorithm>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "common/topic_partition.h"
#include "daemon/kafka/message_source.h"
#include "daemon/metrics/metrics.h"
#include "daemon/store/state_store.h"

namespace featmon {

struct PartitionCheckpoint {
  TopicPartition tp;
  int64_t next_offset = -1;       // next offset to process; -1 until the first message without a checkpoint
  int64_t committed_offset = -1;  // next offset persisted in the store
  int64_t stream_time_ms = 0;     // largest event time processed, persisted with the offset
  int64_t high_watermark = -1;    // the broker's end of the partition as last seen; -1 unknown
  bool dirty = false;             // processed past committed_offset
  prometheus::Gauge* lag = nullptr;  // featmon_consumer_lag_messages, or null when another pipeline reports it
  prometheus::Gauge* event_time_lag = nullptr;  // featmon_event_time_lag_seconds, likewise

  // Offsets below next_offset are already in the state (Kafka redelivers after a restart).
  bool Done(int64_t offset) const { return next_offset >= 0 && offset < next_offset; }
  void Processed(int64_t offset) {
    next_offset = offset + 1;
    dirty = true;
  }
};

// Loads the checkpoint stored under `stored_as` into *cp; false when none is stored.
Result<bool> LoadCheckpoint(StateStore* store, const TopicPartition& stored_as, PartitionCheckpoint* cp);

template <typename P>
class PartitionTable {
 public:
  using iterator = typename std::vector<std::unique_ptr<P>>::iterator;
  iterator begin() { return parts_.begin(); }
  iterator end() { return parts_.end(); }
  size_t size() const { return parts_.size(); }
  bool empty() const { return parts_.empty(); }

  P* Add(std::unique_ptr<P> p) {
    parts_.push_back(std::move(p));
    last_ = nullptr;
    return parts_.back().get();
  }
  // The partition of a message, or null when it is not (or no longer) ours.
  // Messages come in runs from one partition, so the last one found is tried first.
  P* Find(std::string_view topic, int32_t partition) {
    if (last_ && last_->cp.tp.partition == partition && last_->cp.tp.topic == topic) return last_;
    for (auto& p : parts_) {
      if (p->cp.tp.partition == partition && p->cp.tp.topic == topic) return last_ = p.get();
    }
    return nullptr;
  }
  // Drops the partitions in `tps` with their lag series; returns how many it held.
  size_t Remove(const std::vector<TopicPartition>& tps, Metrics* metrics) {
    const size_t before = parts_.size();
    std::erase_if(parts_, [&](const auto& p) {
      if (std::find(tps.begin(), tps.end(), p->cp.tp) == tps.end()) return false;
      if (p->cp.lag) metrics->RemoveConsumerLag(p->cp.lag);
      if (p->cp.event_time_lag) metrics->RemoveEventTimeLag(p->cp.event_time_lag);
      return true;
    });
    last_ = nullptr;
    return before - parts_.size();
  }
  // The broker's ends from the source's cached watermarks, and the lag
  // gauges; event-time lag is against the wall clock `now_ms`.
  void RefreshEnds(MessageSource* source, int64_t now_ms) {
    for (auto& p : parts_) {
      const PartitionCheckpoint& cp = p->cp;
      if (cp.event_time_lag && cp.stream_time_ms > 0)
        cp.event_time_lag->Set(static_cast<double>(now_ms - cp.stream_time_ms) / 1000.0);
    }
    if (!source || parts_.empty()) return;
    std::vector<TopicPartition> tps;
    for (const auto& p : parts_) tps.push_back(p->cp.tp);
    for (const auto& mark : source->HighWatermarks(tps))
      for (auto& p : parts_)
        if (p->cp.tp == mark.tp) p->cp.high_watermark = mark.high_watermark;
    for (auto& p : parts_) {
      const PartitionCheckpoint& cp = p->cp;
      if (cp.lag && cp.high_watermark >= 0 && cp.next_offset >= 0)
        cp.lag->Set(static_cast<double>(std::max<int64_t>(0, cp.high_watermark - cp.next_offset)));
    }
  }
  // The checkpoints of partitions processed since the last commit, each
  // stored under name(tp).
  template <typename Name>
  std::vector<std::pair<TopicPartition, Checkpoint>> DirtyCheckpoints(Name name) const {
    std::vector<std::pair<TopicPartition, Checkpoint>> out;
    for (const auto& p : parts_)
      if (p->cp.dirty) out.push_back({name(p->cp.tp), Checkpoint{p->cp.next_offset, p->cp.stream_time_ms}});
    return out;
  }
  // The checkpoint of every partition that has a position (a changelog
  // marker carries them all), each under name(tp).
  template <typename Name>
  std::vector<std::pair<TopicPartition, Checkpoint>> AllCheckpoints(Name name) const {
    std::vector<std::pair<TopicPartition, Checkpoint>> out;
    for (const auto& p : parts_)
      if (p->cp.next_offset >= 0) out.push_back({name(p->cp.tp), Checkpoint{p->cp.next_offset, p->cp.stream_time_ms}});
    return out;
  }
  // After a successful commit: what was processed is persisted. Returns the
  // offsets to commit to the group, for lag monitoring.
  std::vector<std::pair<TopicPartition, int64_t>> MarkCommitted() {
    std::vector<std::pair<TopicPartition, int64_t>> offsets;
    for (auto& p : parts_) {
      PartitionCheckpoint& cp = p->cp;
      if (!cp.dirty) continue;
      cp.dirty = false;
      cp.committed_offset = cp.next_offset;
      offsets.emplace_back(cp.tp, cp.next_offset);
    }
    return offsets;
  }

 private:
  std::vector<std::unique_ptr<P>> parts_;
  P* last_ = nullptr;
};

}  // namespace featmon
