// A MessageSource for pipeline tests: delivers what the test queued, in order.
#pragma once

#include <deque>
#include <map>
#include <string>
#include <vector>

#include "daemon/kafka/message_source.h"

namespace featmon::testing {

struct Stored {
  std::string topic;
  int32_t partition;
  int64_t offset;
  std::string payload;
};

class ScriptedSource : public MessageSource {
 public:
  // Queued as they are, offsets and all (redeliveries, gaps).
  std::deque<Stored> queue;
  // When set, HighWatermarks answers as a broker would: the next offset of
  // what Append queued on a partition, 0 for a partition with nothing
  // appended. Unset, it knows no partition (as before a first fetch).
  bool report_high_watermarks = false;

  // Queues a message at the partition's next offset.
  void Append(const std::string& topic, int32_t partition, std::string payload) {
    int64_t& next = high_[{topic, partition}];
    queue.push_back({topic, partition, next++, std::move(payload)});
  }
  Status Poll(size_t max, int, std::vector<InputMessage>* out) override {
    current_.clear();
    while (!queue.empty() && current_.size() < max) {
      current_.push_back(queue.front());
      queue.pop_front();
    }
    for (const auto& s : current_) out->push_back({s.topic, s.partition, s.offset, {}, s.payload});
    return Status::Ok();
  }
  void CommitForMonitoring(const std::vector<std::pair<TopicPartition, int64_t>>&) override {}
  // Drops what is queued on the partitions below where they resume, as a
  // seek does, and records the call.
  Status Resume(const std::vector<std::pair<TopicPartition, int64_t>>& from) override {
    ++resume_calls;
    if (resume_failures > 0) {
      --resume_failures;
      return Status::Unavailable("scripted: the seek failed");
    }
    for (const auto& start : from) {
      const TopicPartition& tp = start.first;
      const int64_t offset = start.second;
      std::erase_if(queue, [&](const Stored& s) {
        return s.topic == tp.topic && s.partition == tp.partition && s.offset < offset;
      });
      resumed[tp] = offset;
    }
    return Status::Ok();
  }
  // Where each partition was last resumed (Resume), and the calls made.
  std::map<TopicPartition, int64_t> resumed;
  int resume_calls = 0;
  int resume_failures = 0;  // the next this many calls fail
  std::vector<PartitionLag> HighWatermarks(const std::vector<TopicPartition>& tps) override {
    std::vector<PartitionLag> out;
    if (!report_high_watermarks) return out;
    for (const auto& tp : tps) {
      auto it = high_.find(tp);
      out.push_back({tp, it == high_.end() ? 0 : it->second});
    }
    return out;
  }

 private:
  std::map<TopicPartition, int64_t> high_;
  std::vector<Stored> current_;  // the bytes of the last Poll
};

}  // namespace featmon::testing
