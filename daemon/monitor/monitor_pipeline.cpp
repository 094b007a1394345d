#include "daemon/monitor/monitor_pipeline.h"

#include "daemon/logging/log.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/byte_codec.h"
#include "daemon/codec/example_codec.h"

namespace featmon {

namespace {
// Keys of the monitor column family.
constexpr char kModelPrefix[] = "m/";   // + model: drift::Monitor::SerializeModel
constexpr char kLabelPrefix[] = "l/";   // + LabelJoiner stored key
constexpr char kWatermarkKey[] = "w";   // fixed64 watermark
constexpr char kPartitionPrefix[] = "p/";  // + topic '/' partition: monitored here once; empty value

// The reason label of featmon_retrain_requests_total.
std::string ReasonLabel(const drift::RetrainReason& r) {
  switch (r.signal) {
    case drift::Signal::kData: return "data_drift";
    case drift::Signal::kPrediction: return "prediction_drift";
    case drift::Signal::kLabel: return "label_drift";
    case drift::Signal::kPerformance: return r.feature;  // calibration, calibration_cusum, adwin, ddm, page_hinkley
  }
  return r.feature;
}
// Every value ReasonLabel can return. Their counters start at 0 when a model
// is first seen, so that increase() in an alert sees the first request.
constexpr const char* kRetrainReasonLabels[] = {"data_drift", "prediction_drift", "label_drift", "calibration",
                                                "calibration_cusum", "adwin", "ddm", "page_hinkley"};
}  // namespace

TopicPartition MonitorCheckpointName(const TopicPartition& tp) {
  return {kMonitorCheckpointTopicPrefix + tp.topic, tp.partition};
}

MonitorPipeline::MonitorPipeline(MonitorPipelineOptions options, StateStore* store, DeadLetterSink* dead_letters,
                                 RetrainSink* retrain, OutboxSink* examples, Metrics* metrics, const Clock* clock)
    : options_(std::move(options)),
      store_(store),
      dead_letters_(dead_letters),
      retrain_(retrain),
      metrics_(metrics),
      clock_(clock),
      decoder_(options_.decoder),
      monitor_(options_.defaults, options_.models, options_.max_models),
      joiner_(options_.defaults.attribution_window_ms, options_.max_pending_labels),
      watermark_({options_.allowed_lateness_ms, options_.partition_idle_timeout_ms}),
      gate_(10'000),
      health_(metrics, clock, Component::kMonitor, "monitoring") {
  dead_letter_sink_ = gate_.AddSink([this](int ms) { return dead_letters_->Flush(ms); });
  retrain_sink_ = gate_.AddSink([this](int ms) { return retrain_->Flush(ms); });
  for (RejectReason r : kAllRejectReasons)
    reject_counters_[r] = &metrics_->EventsRejected(options_.predictions_topic, std::string(RejectReasonName(r)));
  consumed_ = &metrics_->EventsConsumed(options_.predictions_topic);
  dropped_max_models_ = &metrics_->MonitorDropped("max_models");
  dropped_max_pending_ = &metrics_->MonitorDropped("max_pending_labels");
  last_commit_ns_ = clock_->MonotonicNs();
  if (examples) outbox_ = std::make_unique<ExampleOutbox>(examples, options_.max_waiting_examples);
}

MonitorPipeline::~MonitorPipeline() = default;

Status MonitorPipeline::Load() {
  if (changelog_)
    if (Status st = changelog_->Restore(); !st.ok()) return st;
  size_t models = 0, labels = 0;
  Status st = store_->ScanMonitor([&](std::string_view key, std::string_view value) -> Status {
    if (key.starts_with(kModelPrefix)) {
      ++models;
      return monitor_.RestoreModel(std::string(key.substr(sizeof(kModelPrefix) - 1)), value);
    }
    if (key.starts_with(kLabelPrefix)) {
      ++labels;
      return joiner_.Restore(key.substr(sizeof(kLabelPrefix) - 1), value);
    }
    if (key.starts_with(kPartitionPrefix)) {
      auto tp = ParseTopicPartitionName(key.substr(sizeof(kPartitionPrefix) - 1));
      if (!tp) return Status::Corruption("monitored partition key " + std::string(key));
      known_partitions_.insert(std::move(*tp));
      return Status::Ok();
    }
    if (key.starts_with(ExampleOutbox::kKeyPrefix)) {
      // Without an examples sink (tests only), stored examples stay stored.
      return outbox_ ? outbox_->Restore(key, value) : Status::Ok();
    }
    if (key == kWatermarkKey) {
      ByteReader r(value);
      int64_t w = 0;
      if (!r.ReadFixed(&w)) return Status::Corruption("monitoring watermark");
      watermark_.Restore(w);
      return Status::Ok();
    }
    return Status::Corruption("unknown monitoring key " + std::string(key));
  });
  if (!st.ok()) return Status(st.code() == StatusCode::kCorruption ? Status::Corruption("monitoring state: " + st.message()) : st);
  (void)monitor_.TakeChangedModels();
  (void)joiner_.TakeDirty();
  metrics_->MonitorPendingLabels().Set(static_cast<double>(joiner_.pending()));
  metrics_->MonitorWatermark().Set(static_cast<double>(watermark_.value()) / 1000.0);
  Log(Component::kMonitor).info("restored {} models, {} label entries, {} examples waiting for the topic, watermark {}",
                                models, labels, outbox_ ? outbox_->waiting() : 0, watermark_.value());
  if (outbox_) metrics_->ExamplesWaiting().Set(static_cast<double>(outbox_->waiting()));
  PublishReports();
  return Status::Ok();
}

Status MonitorPipeline::OnAssigned(const std::vector<TopicPartition>& tps, std::vector<int64_t>* start_offsets) {
  start_offsets->assign(tps.size(), -1);
  for (size_t i = 0; i < tps.size(); ++i) {
    auto p = std::make_unique<Partition>();
    p->cp.tp = tps[i];
    p->last_activity_ns = clock_->MonotonicNs();
    if (tps[i].topic == options_.predictions_topic) p->predictions = true;
    else if (tps[i].topic != options_.clicks_topic) return Status::InvalidArgument("monitor assigned unknown topic " + tps[i].topic);
    auto stored = LoadCheckpoint(store_, MonitorCheckpointName(tps[i]), &p->cp);
    if (!stored.ok()) return stored.status();
    if (*stored) (*start_offsets)[i] = p->cp.next_offset;
    // Lag of the clicks topic is the ingest pipeline's series; only predictions here.
    if (p->predictions) {
      p->cp.lag = &metrics_->ConsumerLag(tps[i].topic, tps[i].partition);
      p->cp.event_time_lag = &metrics_->EventTimeLag(tps[i].topic, tps[i].partition);
    }
    Log(Component::kMonitor).info("assigned {}/{}, resuming at {}", tps[i].topic, tps[i].partition,
                 *stored ? std::to_string(p->cp.next_offset) : std::string("the start"));
    if (known_partitions_.insert(tps[i]).second) new_partitions_.push_back(tps[i]);
    partitions_.Add(std::move(p));
  }
  return Status::Ok();
}

void MonitorPipeline::OnRevoked(const std::vector<TopicPartition>& tps) {
  Status st = Commit();
  if (!st.ok()) Log(Component::kMonitor).error("commit before revoke failed, the next owner replays: {}", st.ToString());
  partitions_.Remove(tps, metrics_);
  batch_.DropPartitions(tps);  // replayed from their checkpoints; the kept partitions' messages stay
}

Status MonitorPipeline::RunOnce(int poll_timeout_ms) {
  if (health_.stalled()) {
    Status st = Commit();
    if (!st.ok()) return st;
  }
  if (outbox_ && outbox_->backlogged()) {
    // Reading on would mature more examples than the limit holds.
    if (Status st = Commit(); !st.ok()) return st;
    if (outbox_->backlogged())
      return Status::Unavailable(std::to_string(outbox_->waiting()) +
                                 " labeled examples wait for the examples topic (monitoring.max_waiting_examples); "
                                 "reading predictions resumes once it takes them. Does kafka.examples_topic exist? "
                                 "Set examples: false for models whose examples nobody reads");
  }
  if (Status st = batch_.Refill(source_, options_.poll_batch, poll_timeout_ms, clock_); !st.ok()) return st;
  const int64_t now_ns = clock_->MonotonicNs();
  uint64_t consumed = 0;
  Status held;
  // A message whose dead letter cannot be queued stops the batch here and is
  // tried again: its offset must not move past it.
  for (; !batch_.done(); batch_.Advance()) {
    const InputMessage& msg = batch_.next();
    Partition* p = partitions_.Find(msg.topic, msg.partition);
    if (!p || p->cp.Done(msg.offset)) continue;  // not ours, or already in the state
    if (p->predictions) {
      held = ProcessPrediction(msg, p);
      if (!held.ok()) break;
      ++consumed;
    } else {
      ProcessClick(msg, p);
    }
    p->cp.Processed(msg.offset);
    p->last_activity_ns = now_ns;
  }
  if (consumed) consumed_->Increment(static_cast<double>(consumed));
  AdvanceWatermark();
  if (!held.ok()) return held;
  if (clock_->MonotonicNs() - last_commit_ns_ >= options_.commit_interval_ms * 1'000'000) return Commit();
  return Status::Ok();
}

Status MonitorPipeline::ProcessPrediction(const InputMessage& msg, Partition* part) {
  PredictionRecord& rec = decoded_prediction_;
  if (auto rejection = decoder_.DecodePredictionInto(msg.payload, batch_.polled_at_ms(), &rec)) {
    if (Status st = dead_letters_->Send(msg, RejectReasonName(rejection->reason), rejection->detail); !st.ok()) return st;
    gate_.Sent(dead_letter_sink_);
    reject_counters_[rejection->reason]->Increment();
    return Status::Ok();
  }
  drift::Prediction& p = rec.prediction;
  part->cp.stream_time_ms = std::max(part->cp.stream_time_ms, p.ts_ms);
  if (p.ts_ms < watermark_.value()) metrics_->MonitorLatePredictions().Increment();
  // Identity hash for the reference sample: same prediction, same hash, on every replay and build.
  p.sample_hash = drift::PredictionIdentityHash(rec.request_id, rec.user_id, rec.item_id, p.ts_ms);
  if (!monitor_.Observe(p)) {
    dropped_max_models_->Increment();
    return Status::Ok();
  }
  std::string key = rec.request_id.empty() ? drift::JoinKeyByUser(rec.user_id, rec.item_id)
                                           : drift::JoinKeyByRequest(rec.request_id, rec.item_id);
  drift::PendingLabel pending{p.model, p.model_version, p.score, p.ts_ms};
  if (outbox_ && WritesExamples(p.model)) pending.payload = EncodePendingExample(rec);
  int64_t early_click_ms = -1;
  if (!joiner_.AddPrediction(key, std::move(pending), &early_click_ms))
    dropped_max_pending_->Increment();
  else if (early_click_ms >= 0)
    monitor_.OnClickAttributed(p.model, p.model_version, early_click_ms);
  return Status::Ok();
}

void MonitorPipeline::ProcessClick(const InputMessage& msg, Partition* part) {
  // Bad clicks are the ingest pipeline's to dead-letter; here they are skipped.
  if (decoder_.DecodeInto(EventType::kClick, msg.payload, batch_.polled_at_ms(), &decoded_click_).has_value()) return;
  const Event& e = decoded_click_;
  part->cp.stream_time_ms = std::max(part->cp.stream_time_ms, e.ts_ms);
  std::vector<std::string> keys;
  if (!e.request_id.empty()) keys.push_back(drift::JoinKeyByRequest(e.request_id, e.item_id));
  keys.push_back(drift::JoinKeyByUser(e.user_id, e.item_id));
  if (auto matched = joiner_.AddClick(keys, e.ts_ms))
    monitor_.OnClickAttributed(matched->model, matched->model_version, e.ts_ms);
}

void MonitorPipeline::AdvanceWatermark() {
  if (partitions_.empty()) return;
  partitions_.RefreshEnds(source_, clock_->NowMs());
  std::vector<drift::PartitionClock> clocks;
  for (const auto& p : partitions_)
    clocks.push_back({p->cp.next_offset, p->cp.high_watermark, p->cp.stream_time_ms, p->last_activity_ns});
  const drift::WatermarkStep step = watermark_.Advance(clocks, known_partitions_.size(), clock_->MonotonicNs());
  if (step == drift::WatermarkStep::kHeldForUnassigned) {
    if (!watermark_held_)
      Log(Component::kMonitor).info("watermark held: {} of {} monitored partitions are not assigned here",
                                    known_partitions_.size() - partitions_.size(), known_partitions_.size());
    watermark_held_ = true;
    return;
  }
  watermark_held_ = false;
  if (step != drift::WatermarkStep::kAdvanced) return;
  const int64_t candidate = watermark_.value();
  watermark_changed_ = true;
  metrics_->MonitorWatermark().Set(static_cast<double>(candidate) / 1000.0);

  // Boundary by boundary, so each evaluation sees exactly the labels that
  // matured before it, however far the watermark jumped.
  bool evaluated = false;
  for (;;) {
    const int64_t step = std::min(candidate, monitor_.NextEvaluationMs());
    for (const drift::MaturedLabel& label : joiner_.Advance(step)) {
      // The label of a model that is gone counts nowhere (its series are gone
      // too); its example is still training data.
      if (monitor_.OnLabel(label)) LabelCounter(label.model, label.clicked).Increment();
      if (!label.payload.empty()) AddExample(label);
    }
    drift::EvaluationOutput out = monitor_.AdvanceWatermark(step);
    if (!out.changed_models.empty()) {
      Publish(out);
      evaluated = true;
    }
    if (step == candidate) break;
  }
  // One report snapshot per advance, however many boundaries it crossed.
  if (evaluated) PublishReports();
  metrics_->MonitorPendingLabels().Set(static_cast<double>(joiner_.pending()));
}

bool MonitorPipeline::WritesExamples(const std::string& model) const {
  auto it = options_.models.find(model);
  return it == options_.models.end() ? options_.defaults.examples : it->second.examples;
}

void MonitorPipeline::AddExample(const drift::MaturedLabel& label) {
  auto example = CompleteExample(label.payload, label);
  if (!example.ok()) {
    // Only a corrupted store could hold such bytes; the label itself counted.
    Log(Component::kMonitor).error("labeled example not written: {}", example.status().ToString());
    return;
  }
  outbox_->Add(label.model, std::move(example->key), std::move(example->value));
}

void MonitorPipeline::ProduceExamples() {
  if (!outbox_) return;
  // A topic that cannot take them now gets them at a later commit;
  // meanwhile they wait in the store.
  if (Status st = outbox_->Committed(); !st.ok())
    Log(Component::kMonitor).warn("labeled examples wait in the store: {}", st.ToString());
  // A model that is gone has no series left to count in (its examples still go out).
  for (const auto& [model, n] : outbox_->TakeDelivered())
    if (monitor_.Has(model)) metrics_->ExamplesDelivered(model).Increment(static_cast<double>(n));
  metrics_->ExamplesWaiting().Set(static_cast<double>(outbox_->waiting()));
}

prometheus::Counter& MonitorPipeline::LabelCounter(const std::string& model, bool clicked) {
  auto it = label_counters_.find({model, clicked});
  if (it == label_counters_.end())
    it = label_counters_.emplace(std::pair{model, clicked}, &metrics_->LabelsMatured(model, clicked ? "clicked" : "not_clicked")).first;
  return *it->second;
}

void MonitorPipeline::Publish(drift::EvaluationOutput& out) {
  for (const auto& g : out.drift) {
    if (retrain_counted_models_.insert(g.model).second)
      for (const char* reason : kRetrainReasonLabels) metrics_->RetrainRequests(g.model, reason);
    for (int i = 0; i < drift::kStatisticFieldCount; ++i)
      if (!std::isnan(g.values[i]))
        metrics_->SetDriftScore(g.model, g.model_version, drift::SignalName(g.signal), g.feature, drift::StatisticFieldName(i), g.values[i]);
    metrics_->SetDriftDetected(g.model, g.model_version, drift::SignalName(g.signal), g.feature, g.alerting);
  }
  for (const auto& g : out.performance)
    metrics_->SetModelPerformance(g.model, g.model_version, g.logloss, g.normalized_entropy, g.calibration, g.auc);
  for (const auto& [model, version] : out.removed_versions) metrics_->RemoveModelVersion(model, version);
  for (const auto& model : out.removed_models) {
    Log(Component::kMonitor).info("model {}: no version seen for version_ttl; dropped with its state and series", model);
    metrics_->RemoveModel(model, {std::begin(kRetrainReasonLabels), std::end(kRetrainReasonLabels)});
    label_counters_.erase({model, true});
    label_counters_.erase({model, false});
    retrain_counted_models_.erase(model);
  }
  for (const auto& r : out.retrain_requests) {
    std::set<std::string> reasons;
    std::string summary;
    for (const auto& reason : r.reasons) {
      reasons.insert(ReasonLabel(reason));
      summary += (summary.empty() ? "" : ", ") + std::string(drift::SignalName(reason.signal)) + "/" + reason.feature + " " + reason.statistic + "=" +
                 std::to_string(reason.value);
    }
    for (const auto& reason : reasons) metrics_->RetrainRequests(r.model, reason).Increment();
    Log(Component::kMonitor).warn("retrain requested for {} {} at event time {}: {}", r.model, r.model_version,
                 r.event_time_ms, summary);
    Status st = retrain_->Publish(r);
    if (!st.ok()) Log(Component::kMonitor).error("retrain request not produced: {}", st.ToString());
    gate_.Sent(retrain_sink_);
  }
}

void MonitorPipeline::DropSeries() {
  for (const auto& model : monitor_.Models()) {
    if (auto report = monitor_.Report(model); report && report->contains("versions"))
      for (const auto& [version, ignored] : (*report)["versions"].items()) metrics_->RemoveModelVersion(model, version);
    metrics_->RemoveModel(model, {std::begin(kRetrainReasonLabels), std::end(kRetrainReasonLabels)});
  }
  label_counters_.clear();
  // The gauges without labels read as on an instance that never monitored:
  // the group's dashboards take the maximum watermark and the sums.
  metrics_->MonitorPendingLabels().Set(0);
  metrics_->MonitorWatermark().Set(0);
  metrics_->ExamplesWaiting().Set(0);
}

void MonitorPipeline::PublishReports() {
  std::map<std::string, std::string> reports;
  for (const auto& model : monitor_.Models()) reports[model] = monitor_.Report(model)->dump();
  std::lock_guard lock(reports_mu_);
  reports_ = std::move(reports);
  reports_watermark_ms_ = watermark_.value();
}

std::optional<std::string> MonitorPipeline::ModelReport(const std::string& model) const {
  std::lock_guard lock(reports_mu_);
  auto it = reports_.find(model);
  if (it == reports_.end()) return std::nullopt;
  return it->second;
}

std::string MonitorPipeline::AllReports() const {
  std::lock_guard lock(reports_mu_);
  std::string out = "{\"watermark_ms\":" + std::to_string(reports_watermark_ms_) + ",\"models\":[";
  bool first = true;
  for (const auto& [model, report] : reports_) {
    out += (first ? "" : ",") + report;
    first = false;
  }
  return out + "]}";
}

std::string MonitorPipeline::CommitError() const { return health_.error(); }

Status MonitorPipeline::Commit() {
  const int64_t start = clock_->MonotonicNs();
  last_commit_ns_ = start;
  // Whatever the offsets skip must be durable elsewhere first.
  if (Status st = gate_.Open(); !st.ok()) return health_.Failed(st);
  for (auto& m : monitor_.TakeChangedModels()) unwritten_models_.insert(std::move(m));
  if (unwritten_label_keys_.empty()) unwritten_label_keys_ = joiner_.TakeDirty();
  else for (auto& k : joiner_.TakeDirty()) unwritten_label_keys_.insert(k);
  CommitBatch batch;
  for (const auto& model : unwritten_models_) {
    std::optional<std::string> state;  // nullopt deletes a model that is gone
    if (monitor_.Has(model)) state = monitor_.SerializeModel(model);
    batch.monitor.push_back({kModelPrefix + model, std::move(state)});
  }
  for (const auto& key : unwritten_label_keys_) batch.monitor.push_back({kLabelPrefix + key, joiner_.Encode(key)});
  for (const auto& tp : new_partitions_)
    batch.monitor.push_back({kPartitionPrefix + TopicPartitionName(tp), std::string()});
  if (watermark_changed_) {
    std::string w;
    PutFixed(&w, watermark_.value());
    batch.monitor.push_back({kWatermarkKey, w});
  }
  if (outbox_) outbox_->PrepareCommit(options_.examples_flush_timeout_ms, &batch.monitor);
  batch.checkpoints = partitions_.DirtyCheckpoints(MonitorCheckpointName);
  if (batch.monitor.empty() && batch.checkpoints.empty()) {
    // Nothing to store, but examples restored at start or refused by the
    // topic before still need producing.
    ProduceExamples();
    return Status::Ok();
  }
  if (changelog_) {
    // Shipped first: the local state is never ahead of what the changelog holds.
    ChangelogPosition position;
    if (Status st = changelog_->Ship(batch.monitor, partitions_.AllCheckpoints(MonitorCheckpointName), &position);
        !st.ok())
      return health_.Failed(st);
    batch.changelog_positions.emplace_back(kMonitorChangelogTask, position);
  }
  if (Status st = store_->Commit(batch); !st.ok()) return health_.Failed(st);
  health_.Succeeded(start);
  ProduceExamples();
  // Between evaluations the counters move on (predictions seen, labels
  // matured, detectors): publish what was just made durable, so a report
  // never lags the state by more than a commit interval. Reports published
  // only at evaluations froze whatever had been read by then, which differs
  // from run to run. A watermark that moved alone is published too: the
  // reports' watermark says how far they are complete.
  if (!unwritten_models_.empty() || watermark_changed_) PublishReports();
  unwritten_models_.clear();
  unwritten_label_keys_.clear();
  new_partitions_.clear();
  watermark_changed_ = false;
  const auto offsets = partitions_.MarkCommitted();
  if (source_) source_->CommitForMonitoring(offsets);
  return Status::Ok();
}

}  // namespace featmon
