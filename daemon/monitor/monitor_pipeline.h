// The monitoring loop: predictions and clicks in (its own consumer group,
// "<group_id>.monitor", one member), labels attributed, models monitored on
// event time, retrain requests out; state committed with the offsets that
// produced it, as the ingest pipeline does for features.
//
// Watermark: drift::Watermark's rule (drift/watermark.h) over the assigned
// partitions, so a replay evaluates the same windows as living through them.
//
// Exactly-once: model state, pending labels, the watermark and the next
// offset of every partition go in one store commit. Retrain requests and
// dead letters are flushed before that commit, so a crash can repeat a
// request (at least once; its model, version and event time identify it)
// but never lose one. Labeled examples go through an outbox stored in that
// same commit (ExampleOutbox), so each matured prediction of a model with
// `examples: true` reaches the examples topic exactly once.
//
// Thread-safety: RunOnce, Commit, Load and the rebalance callbacks run on one
// thread (the App serves this consumer's group events on it). The report
// accessors are safe from any thread.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/string_map.h"
#include "daemon/monitor/example_outbox.h"
#include "daemon/monitor/monitor_changelog.h"
#include "daemon/monitor/monitor_options.h"
#include "daemon/monitor/monitoring_reports.h"
#include "daemon/monitor/retrain_sink.h"
#include "daemon/pipeline/commit_gate.h"
#include "daemon/pipeline/held_batch.h"
#include "daemon/pipeline/stall_health.h"
#include "daemon/pipeline/partition_table.h"
#include "daemon/codec/event_decoder.h"
#include "daemon/kafka/message_source.h"
#include "daemon/metrics/metrics.h"
#include "daemon/store/state_store.h"
#include "drift/label_joiner.h"
#include "drift/monitor.h"
#include "drift/watermark.h"

namespace featmon {

// The checkpoint name of a monitored partition, distinct from the ingest
// pipeline's checkpoint of the same clicks partition.
TopicPartition MonitorCheckpointName(const TopicPartition& tp);

class MonitorPipeline final : public RebalanceListener, public MonitoringReports {
 public:
  // `examples` may be null: then no LabeledExample is written.
  MonitorPipeline(MonitorPipelineOptions options, StateStore* store, DeadLetterSink* dead_letters,
                  RetrainSink* retrain, OutboxSink* examples, Metrics* metrics, const Clock* clock);
  ~MonitorPipeline() override;

  // Restores models, pending labels and the watermark; call before consuming.
  Status Load();
  void set_source(MessageSource* source) { source_ = source; }
  // The monitoring state also goes to its changelog (kafka.monitor_changelog_topic):
  // Load restores from it first, and each commit is shipped before it is
  // stored. Before Load.
  void set_changelog(std::unique_ptr<MonitorChangelog> changelog) { changelog_ = std::move(changelog); }
  Status RunOnce(int poll_timeout_ms);
  Status Commit();

  Status OnAssigned(const std::vector<TopicPartition>& partitions, std::vector<int64_t>* start_offsets) override;
  void OnRevoked(const std::vector<TopicPartition>& partitions) override;

  // Takes every model's series off /metrics: another instance monitors
  // from now on (daemon/monitor/monitoring_owner.h), and series left here
  // would go on showing this one's last values.
  void DropSeries();

  std::optional<std::string> ModelReport(const std::string& model) const override;
  std::string AllReports() const override;
  std::string CommitError() const override;

 private:
  struct Partition {
    PartitionCheckpoint cp;        // lag reported for predictions only: clicks are the ingest pipeline's
    bool predictions = false;
    int64_t last_activity_ns = 0;  // monotonic time of the last message, or of the assignment before the first
  };
  // An error: the prediction's dead letter could not be queued; nothing changed.
  Status ProcessPrediction(const InputMessage& msg, Partition* partition);
  void ProcessClick(const InputMessage& msg, Partition* partition);
  void AdvanceWatermark();
  bool WritesExamples(const std::string& model) const;
  void AddExample(const drift::MaturedLabel& label);
  // After a commit: produces the examples it stored and counts those delivered.
  void ProduceExamples();
  void Publish(drift::EvaluationOutput& out);
  void PublishReports();
  prometheus::Counter& LabelCounter(const std::string& model, bool clicked);

  MonitorPipelineOptions options_;
  StateStore* store_;
  DeadLetterSink* dead_letters_;
  RetrainSink* retrain_;
  Metrics* metrics_;
  const Clock* clock_;
  MessageSource* source_ = nullptr;
  EventDecoder decoder_;
  // Decoded into message after message: their vectors and strings keep
  // their capacity (growing a fresh prediction's cost about 1,200 instructions).
  PredictionRecord decoded_prediction_;
  Event decoded_click_;
  drift::Monitor monitor_;
  drift::LabelJoiner joiner_;
  std::unique_ptr<ExampleOutbox> outbox_;  // null without an examples sink
  std::unique_ptr<MonitorChangelog> changelog_;  // null: kafka.monitor_changelog_topic not set

  PartitionTable<Partition> partitions_;
  std::set<TopicPartition> known_partitions_;   // ever assigned here, persisted
  std::vector<TopicPartition> new_partitions_;  // not yet persisted
  drift::Watermark watermark_;
  bool watermark_held_ = false;                 // some known partition is not assigned
  HeldBatch batch_;
  std::set<std::string> unwritten_models_;       // changed since the last successful commit
  StringSet unwritten_label_keys_;
  bool watermark_changed_ = false;
  CommitGate gate_;
  size_t dead_letter_sink_ = 0, retrain_sink_ = 0;  // gate_'s indexes
  StallHealth health_;  // stalled() while a commit fails: RunOnce retries it before polling
  int64_t last_commit_ns_ = 0;
  std::map<RejectReason, prometheus::Counter*> reject_counters_;
  prometheus::Counter* consumed_ = nullptr;
  std::map<std::pair<std::string, bool>, prometheus::Counter*> label_counters_;  // resolved once per model
  prometheus::Counter* dropped_max_models_ = nullptr;   // created at 0, so rate() has a series
  prometheus::Counter* dropped_max_pending_ = nullptr;
  std::set<std::string> retrain_counted_models_;  // models whose retrain counters exist (at 0 or more)

  // One snapshot, published together: the reports and the watermark they
  // were made at (AllReports' watermark_ms). The live watermark_ may be
  // ahead of it by up to a commit interval.
  mutable std::mutex reports_mu_;
  std::map<std::string, std::string> reports_;  // model -> JSON report
  int64_t reports_watermark_ms_ = 0;
};

}  // namespace featmon
