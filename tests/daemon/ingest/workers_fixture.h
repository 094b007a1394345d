// What the IngestWorkers tests share: two pipelines over one RocksDB store,
// fed by scripted sources and run by hand (no worker threads), and a manual
// clock.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "daemon/ingest/ingest_workers.h"
#include "daemon/store/rocksdb_store.h"
#include "tests/daemon/null_dead_letters.h"
#include "tests/daemon/scripted_source.h"
#include "tests/daemon/temp_dir.h"
#include "tests/features/test_specs.h"
#include "tools/traffic.h"

namespace featmon::testing {

class WorkersFixture : public ::testing::Test {
 protected:
  static constexpr int kWorkers = 2;
  static constexpr int64_t kNow = 1'700'000'000'000;

  void OpenStore() {
    set_ = std::make_unique<FeatureSet>(*FeatureSet::Compile(DefaultSpecs()));
    RocksDbStoreOptions store_options;
    store_options.path = dir_.path();
    store_options.features = set_.get();
    store_ = std::move(*RocksDbStore::Open(store_options));
  }
  // Workers over store_ (replacing any before, as a restart would), each
  // pipeline passed to `setup` before the workers take it. They commit only
  // when the test says so.
  void StartWorkers(IngestPipelineOptions options, const std::function<void(IngestPipeline&)>& setup = {}) {
    workers_.reset();
    options.commit_interval_ms = 1'000'000;
    std::vector<std::unique_ptr<IngestPipeline>> pipelines;
    for (int w = 0; w < kWorkers; ++w) {
      pipelines.push_back(
          std::make_unique<IngestPipeline>(options, set_.get(), store_.get(), &sink_, &metrics_, &clock_));
      pipelines.back()->set_source(&sources_[w]);
      if (setup) setup(*pipelines.back());
      pipelines_[w] = pipelines.back().get();
    }
    workers_ = std::make_unique<IngestWorkers>(std::move(pipelines), &clock_, store_.get());
  }
  // An event of `user` at `offset` of the task's partition of views or
  // clicks, queued for the worker the task is routed to.
  void AddEvent(EventType type, int32_t task, int64_t offset, const std::string& user) {
    const std::string topic = type == EventType::kView ? "views" : "clicks";
    sources_[KafkaConsumer::WorkerOf({topic, task}, kWorkers)].queue.push_back(
        {topic, task, offset, EventPayload(type, user)});
  }
  // An event of `user` on item "i", as its topic carries it.
  static std::string EventPayload(EventType type, const std::string& user) {
    Event e;
    e.type = type;
    e.user_id = user;
    e.item_id = "i";
    e.ts_ms = kNow - 100;
    return EncodeEvent(e, WireFormat::kProtobuf);
  }
  // The tasks of the shards lookups may read, sorted (a task once per shard).
  std::vector<int32_t> ServedTasks() const {
    std::vector<int32_t> tasks;
    for (const auto& [shard, task] : workers_->ServingShards()) tasks.push_back(task);
    std::sort(tasks.begin(), tasks.end());
    return tasks;
  }
  // The next offset stored for a partition; -1 when none is.
  int64_t StoredOffset(const TopicPartition& tp) {
    auto cp = store_->LoadCheckpoint(tp);
    EXPECT_TRUE(cp.ok());
    return cp.ok() && cp->has_value() ? (*cp)->next_offset : -1;
  }

  TempDir dir_;
  ManualClock clock_{kNow};
  Metrics metrics_{"test"};
  NullDeadLetters sink_;
  ScriptedSource sources_[kWorkers];
  std::unique_ptr<FeatureSet> set_;
  std::unique_ptr<RocksDbStore> store_;
  IngestPipeline* pipelines_[kWorkers] = {};  // owned by workers_
  std::unique_ptr<IngestWorkers> workers_;
};

}  // namespace featmon::testing
