// An in-memory examples topic (two partitions) and a sink that writes to it
// the way a broker would, with the faults a crash or a failed delivery
// leaves: records written without their delivery reports, deliveries that
// fail after the record was written, a local queue that refuses records.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "daemon/kafka/outbox_sink.h"

namespace featmon::testing {

struct FakeRecord {
  uint64_t outbox_id = 0, seq = 0;
  std::string key, value;
};

struct FakeTopic {
  std::vector<std::vector<FakeRecord>> partitions = std::vector<std::vector<FakeRecord>>(2);
  std::vector<FakeRecord> All() const {
    std::vector<FakeRecord> out;
    for (const auto& p : partitions) out.insert(out.end(), p.begin(), p.end());
    return out;
  }
};

class FakeOutboxSink final : public OutboxSink {
 public:
  // kDeliverAtOnce: the report arrives while producing (librdkafka serves
  // reports in every poll), so nothing is in flight when the commit asks.
  enum class Mode { kDeliver, kDeliverAtOnce, kFailAfterWriting, kRefuse };
  explicit FakeOutboxSink(FakeTopic* topic) : topic_(topic) {}
  Mode mode = Mode::kDeliver;

  Status Produce(uint64_t id, uint64_t seq, std::string_view key, std::string_view value) override {
    if (mode == Mode::kRefuse) return Status::Unavailable("local queue full");
    queued_.push_back({id, seq, std::string(key), std::string(value)});
    if (mode == Mode::kDeliverAtOnce) Write(&reported_);
    return Status::Ok();
  }
  void Flush(int, std::vector<OutboxDelivery>* out) override {
    out->insert(out->end(), reported_.begin(), reported_.end());
    reported_.clear();
    Write(out);
  }
  // The broker writes every queued record; their reports go to `out`.
  void Write(std::vector<OutboxDelivery>* out) {
    for (FakeRecord& r : queued_) {
      const int32_t p = PartitionOf(r.key);
      auto& log = topic_->partitions[p];
      log.push_back(r);
      out->push_back({r.seq, p, mode == Mode::kFailAfterWriting ? -1 : static_cast<int64_t>(log.size() - 1)});
    }
    queued_.clear();
  }
  size_t in_flight() const override { return queued_.size(); }
  Status FindDelivered(uint64_t id, const std::map<int32_t, int64_t>& from, std::set<uint64_t>* seqs,
                       std::map<int32_t, int64_t>* ends) override {
    ++read_backs;
    for (size_t p = 0; p < topic_->partitions.size(); ++p) {
      (*ends)[static_cast<int32_t>(p)] = static_cast<int64_t>(topic_->partitions[p].size());
      auto f = from.find(static_cast<int32_t>(p));
      const size_t start = f == from.end() ? 0 : static_cast<size_t>(f->second);
      for (size_t o = start; o < topic_->partitions[p].size(); ++o)
        if (topic_->partitions[p][o].outbox_id == id) seqs->insert(topic_->partitions[p][o].seq);
    }
    return Status::Ok();
  }
  // The broker took every queued record, and the process died before a
  // delivery report came back.
  void WriteWithoutReports() {
    std::vector<OutboxDelivery> lost;
    Write(&lost);
  }
  int read_backs = 0;

 private:
  static int32_t PartitionOf(const std::string& key) { return static_cast<int32_t>(std::hash<std::string>{}(key) % 2); }
  FakeTopic* topic_;
  std::vector<FakeRecord> queued_;
  std::vector<OutboxDelivery> reported_;  // kDeliverAtOnce's reports, not yet taken by Flush
};

}  // namespace featmon::testing
