#include "daemon/ingest/task_checkpoints.h"

#include <algorithm>

#include "daemon/ingest/rekeyed_event.h"

namespace featmon {

TaskCheckpoints::TaskCheckpoints(std::string views_topic, std::string clicks_topic, std::string items_topic)
    : inputs_{std::move(views_topic), std::move(clicks_topic)}, items_topic_(std::move(items_topic)) {
  if (!items_topic_.empty()) inputs_.push_back(items_topic_);
}

std::vector<TopicPartition> TaskCheckpoints::Names(int32_t task, int32_t tasks) const {
  std::vector<TopicPartition> names;
  for (const std::string& topic : inputs_) names.push_back({topic, task});
  if (!rekeyed()) return names;
  for (size_t i = 0; i < 2 * static_cast<size_t>(tasks); ++i) names.push_back(MarkName(i, tasks, task));
  return names;
}

bool TaskCheckpoints::IsTaskCheckpoint(std::string_view topic) const {
  if (std::find(inputs_.begin(), inputs_.end(), topic) != inputs_.end()) return true;
  return rekeyed() && RekeyMarkSource(items_topic_, topic).has_value();
}

size_t TaskCheckpoints::MarkIndex(EventType source_type, int32_t source_partition, int32_t tasks) {
  return (source_type == EventType::kClick ? static_cast<size_t>(tasks) : 0) + static_cast<size_t>(source_partition);
}

TopicPartition TaskCheckpoints::MarkName(size_t index, int32_t tasks, int32_t task) const {
  const size_t per_type = static_cast<size_t>(tasks);
  const TopicPartition source{index < per_type ? views_topic() : clicks_topic(),
                              static_cast<int32_t>(index % per_type)};
  return RekeyMarkName(items_topic_, source, task);
}

}  // namespace featmon
