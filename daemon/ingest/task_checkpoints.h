// What a task's state is checkpointed under. Task n is partition n of every
// input: views, clicks and, with kafka.item_repartition_topic, the
// repartition topic. With that topic the task's items partition also keeps a
// mark per source partition (views and clicks, each of `tasks` partitions):
// the next source offset it expects (RekeyMarkName). These names commit
// together, travel together in the changelog and are deleted together.
// Pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/topic_partition.h"
#include "features/event.h"

namespace featmon {

class TaskCheckpoints {
 public:
  // `items_topic` empty: no repartition topic.
  TaskCheckpoints(std::string views_topic, std::string clicks_topic, std::string items_topic);

  const std::string& views_topic() const { return inputs_[0]; }
  const std::string& clicks_topic() const { return inputs_[1]; }
  const std::string& items_topic() const { return items_topic_; }
  bool rekeyed() const { return !items_topic_.empty(); }
  // The task's input topics: views, clicks, then the repartition topic if set.
  const std::vector<std::string>& inputs() const { return inputs_; }

  // Every checkpoint name of `task`, the inputs have `tasks` partitions.
  std::vector<TopicPartition> Names(int32_t task, int32_t tasks) const;
  // Whether a checkpoint named `topic` (at a task's partition) is a task's.
  bool IsTaskCheckpoint(std::string_view topic) const;

  // The marks of one items partition as a flat array of 2 * tasks entries,
  // views' source partitions then clicks': the index of one source
  // partition's mark, and that mark's checkpoint name.
  static size_t MarkIndex(EventType source_type, int32_t source_partition, int32_t tasks);
  TopicPartition MarkName(size_t index, int32_t tasks, int32_t task) const;

 private:
  std::vector<std::string> inputs_;
  std::string items_topic_;
};

}  // namespace featmon
