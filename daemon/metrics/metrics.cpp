#include "daemon/metrics/metrics.h"

#include <prometheus/text_serializer.h>

namespace featmon {

namespace {
const prometheus::Histogram::BucketBoundaries kLatencyBuckets = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
const prometheus::Histogram::BucketBoundaries kVisibilityBuckets = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10};
}

const prometheus::Histogram::BucketBoundaries& Metrics::ReadToVisibleBuckets() { return kVisibilityBuckets; }

Metrics::Metrics(const std::string& version)
    : registry_(std::make_shared<prometheus::Registry>()),
      consumed_(prometheus::BuildCounter().Name("featmon_events_consumed_total")
                    .Help("Events taken from Kafka, valid or not").Register(*registry_)),
      rejected_(prometheus::BuildCounter().Name("featmon_events_rejected_total")
                    .Help("Events sent to the dead-letter topic, by reason").Register(*registry_)),
      late_dropped_(prometheus::BuildCounter().Name("featmon_events_late_dropped_total")
                        .Help("Events older than every window that could see them").Register(*registry_)),
      off_partition_(prometheus::BuildCounter().Name("featmon_events_off_partition_total")
                         .Help("Events on another partition than Kafka's default partitioner (murmur2) gives their "
                               "user_id: lookups routed by that rule miss them").Register(*registry_)),
      lag_(prometheus::BuildGauge().Name("featmon_consumer_lag_messages")
               .Help("High watermark minus the next offset to process").Register(*registry_)),
      event_time_lag_(prometheus::BuildGauge().Name("featmon_event_time_lag_seconds")
                          .Help("Wall clock minus the largest event time processed on the partition").Register(*registry_)),
      changelog_copy_behind_(prometheus::BuildGauge().Name("featmon_changelog_copy_behind_records")
                                 .Help("Changelog records a local copy of a task has yet to read (role: a warm "
                                       "standby, or an assigned task restoring)").Register(*registry_)),
      read_to_visible_(prometheus::BuildHistogram().Name("featmon_read_to_visible_seconds")
                           .Help("From the poll that read an event to the moment feature lookups can see it "
                                 "(after it is applied under http.isolation read_uncommitted, committed under read_committed)")
                           .Register(*registry_).Add({}, kVisibilityBuckets)),
      http_duration_(prometheus::BuildHistogram().Name("featmon_http_request_duration_seconds")
                         .Help("HTTP request handling time by route").Register(*registry_)),
      commit_duration_(prometheus::BuildHistogram().Name("featmon_commit_duration_seconds")
                           .Help("Time to write one batch of state and offsets").Register(*registry_)
                           .Add({}, kLatencyBuckets)),
      commit_failures_(prometheus::BuildCounter().Name("featmon_commit_failures_total")
                           .Help("State commits that failed and will be retried").Register(*registry_).Add({})),
      store_read_failures_(prometheus::BuildCounter().Name("featmon_store_read_failures_total")
                               .Help("Entity-state reads that failed; the event is held and retried")
                               .Register(*registry_).Add({})),
      state_quarantined_(prometheus::BuildCounter().Name("featmon_state_quarantined_total")
                             .Help("Stored entity states that did not decode, kept aside; the entity starts afresh")
                             .Register(*registry_).Add({})),
      commits_stalled_(prometheus::BuildGauge().Name("featmon_commits_stalled")
                           .Help("Pipelines whose state commit is failing now, holding their offsets, by reason")
                           .Register(*registry_)),
      store_entities_(prometheus::BuildGauge().Name("featmon_store_entities")
                          .Help("Approximate entity shards in RocksDB").Register(*registry_).Add({})),
      store_disk_bytes_(prometheus::BuildGauge().Name("featmon_store_disk_bytes")
                            .Help("Bytes of entity state in RocksDB SST files").Register(*registry_).Add({})),
      cache_entities_(prometheus::BuildGauge().Name("featmon_cache_entities")
                          .Help("Entity states held in memory between commits").Register(*registry_).Add({})),
      cache_bytes_(prometheus::BuildGauge().Name("featmon_cache_bytes")
                       .Help("Estimated memory of the entity states held in memory").Register(*registry_).Add({})),
      tasks_held_(prometheus::BuildGauge().Name("featmon_tasks_held")
                      .Help("Tasks of the consumer group (partition n of views and clicks) this instance holds")
                      .Register(*registry_).Add({})),
      tasks_(prometheus::BuildGauge().Name("featmon_tasks")
                 .Help("Tasks the consumer group has (the views topic's partitions); 0 until known")
                 .Register(*registry_).Add({})),
      lookups_refused_(prometheus::BuildCounter().Name("featmon_lookups_refused_total")
                           .Help("Lookups answered 503 because this instance holds only some tasks, by reason: "
                                 "not_held (and no http.advertised_url to ask its owner), partial_entity, "
                                 "owner_unknown (no member announced the key's task), owner_unreachable, "
                                 "restoring (the key's task is catching up with its previous owner's state)")
                           .Register(*registry_)),
      lookups_forwarded_(prometheus::BuildCounter().Name("featmon_lookups_forwarded_total")
                             .Help("Lookups (ids of a batch counted one by one) sent to the member owning their task")
                             .Register(*registry_).Add({})),
      store_written_(prometheus::BuildCounter().Name("featmon_store_written_bytes_total")
                         .Help("Bytes RocksDB wrote to disk, by kind: wal, flush, compaction").Register(*registry_)),
      drift_score_(prometheus::BuildGauge().Name("featmon_drift_score")
                       .Help("Drift statistic of a signal at the last evaluation (reference vs current window)")
                       .Register(*registry_)),
      drift_detected_(prometheus::BuildGauge().Name("featmon_drift_detected")
                          .Help("1 while a signal is alerting (drifting for consecutive evaluations)").Register(*registry_)),
      logloss_(prometheus::BuildGauge().Name("featmon_model_logloss")
                   .Help("Log loss on matured labels of the last evaluated window").Register(*registry_)),
      normalized_entropy_(prometheus::BuildGauge().Name("featmon_model_normalized_entropy")
                              .Help("Log loss over the entropy of the window's click rate").Register(*registry_)),
      calibration_(prometheus::BuildGauge().Name("featmon_model_calibration_ratio")
                       .Help("Sum of predicted scores over clicks, matured labels").Register(*registry_)),
      auc_(prometheus::BuildGauge().Name("featmon_model_auc").Help("ROC AUC on matured labels").Register(*registry_)),
      labels_matured_(prometheus::BuildCounter().Name("featmon_labels_matured_total")
                          .Help("Predictions whose label is final, by label (clicked, not_clicked)").Register(*registry_)),
      retrain_requests_(prometheus::BuildCounter().Name("featmon_retrain_requests_total")
                            .Help("Retrain requests raised, by model and reason signal").Register(*registry_)),
      monitor_dropped_(prometheus::BuildCounter().Name("featmon_monitor_dropped_total")
                           .Help("Predictions not monitored or not labelled because of a configured limit")
                           .Register(*registry_)),
      monitor_late_(prometheus::BuildCounter().Name("featmon_monitor_late_predictions_total")
                        .Help("Predictions older than the monitoring watermark (counted in later windows only)")
                        .Register(*registry_).Add({})),
      monitor_watermark_(prometheus::BuildGauge().Name("featmon_monitor_watermark_seconds")
                             .Help("Event-time watermark of model monitoring, epoch seconds").Register(*registry_).Add({})),
      monitor_pending_(prometheus::BuildGauge().Name("featmon_monitor_pending_labels")
                           .Help("Predictions waiting for a click or the end of their attribution window")
                           .Register(*registry_).Add({})),
      examples_delivered_(prometheus::BuildCounter().Name("featmon_examples_delivered_total")
                              .Help("LabeledExamples confirmed by the examples topic, by model").Register(*registry_)),
      examples_waiting_(prometheus::BuildGauge().Name("featmon_examples_waiting")
                            .Help("Matured LabeledExamples stored and not yet confirmed by the examples topic")
                            .Register(*registry_).Add({})),
      webhook_failures_(prometheus::BuildCounter().Name("featmon_webhook_failures_total")
                            .Help("Retrain webhook deliveries given up after every attempt").Register(*registry_).Add({})) {
  prometheus::BuildGauge().Name("featmon_build_info").Help("Build of this featmond; always 1")
      .Register(*registry_).Add({{"version", version}}).Set(1);
  for (const char* reason : kCommitStallReasons) commits_stalled_.Add({{"reason", reason}});
  for (const char* reason : {"not_held", "partial_entity", "owner_unknown", "owner_unreachable", "restoring"}) lookups_refused_.Add({{"reason", reason}});
}

prometheus::Counter& Metrics::EventsConsumed(const std::string& topic) { return consumed_.Add({{"topic", topic}}); }
prometheus::Counter& Metrics::EventsRejected(const std::string& topic, const std::string& reason) {
  return rejected_.Add({{"topic", topic}, {"reason", reason}});
}
prometheus::Counter& Metrics::EventsLateDropped(const std::string& topic) { return late_dropped_.Add({{"topic", topic}}); }
prometheus::Counter& Metrics::EventsOffPartition(const std::string& topic) { return off_partition_.Add({{"topic", topic}}); }
prometheus::Gauge& Metrics::ConsumerLag(const std::string& topic, int32_t partition) {
  return lag_.Add({{"topic", topic}, {"partition", std::to_string(partition)}});
}
prometheus::Gauge& Metrics::ChangelogCopyBehind(int32_t task, const std::string& role) {
  return changelog_copy_behind_.Add({{"task", std::to_string(task)}, {"role", role}});
}
prometheus::Gauge& Metrics::EventTimeLag(const std::string& topic, int32_t partition) {
  return event_time_lag_.Add({{"topic", topic}, {"partition", std::to_string(partition)}});
}
void Metrics::SetStoreWrittenBytes(const std::string& kind, uint64_t total) {
  std::lock_guard lock(store_written_mu_);
  auto& counter = store_written_.Add({{"kind", kind}});
  const double delta = static_cast<double>(total) - counter.Value();
  if (delta > 0) counter.Increment(delta);
}

prometheus::Histogram& Metrics::HttpRequestDuration(const std::string& route) {
  return http_duration_.Add({{"route", route}}, kLatencyBuckets);
}

void Metrics::SetDriftScore(const std::string& model, const std::string& version, const std::string& signal,
                            const std::string& feature, const std::string& statistic, double value) {
  auto& g = drift_score_.Add({{"model", model}, {"model_version", version}, {"signal", signal}, {"feature", feature},
                              {"statistic", statistic}});
  g.Set(value);
  std::lock_guard lock(version_series_mu_);
  version_series_[{model, version}].insert({&drift_score_, &g});
}

void Metrics::SetDriftDetected(const std::string& model, const std::string& version, const std::string& signal,
                               const std::string& feature, bool drifting) {
  auto& g = drift_detected_.Add({{"model", model}, {"model_version", version}, {"signal", signal}, {"feature", feature}});
  g.Set(drifting ? 1 : 0);
  std::lock_guard lock(version_series_mu_);
  version_series_[{model, version}].insert({&drift_detected_, &g});
}

void Metrics::SetModelPerformance(const std::string& model, const std::string& version, double logloss,
                                  double normalized_entropy, double calibration, double auc) {
  std::lock_guard lock(version_series_mu_);
  auto& series = version_series_[{model, version}];
  for (auto [family, value] : {std::pair{&logloss_, logloss}, {&normalized_entropy_, normalized_entropy},
                               {&calibration_, calibration}, {&auc_, auc}}) {
    auto& g = family->Add({{"model", model}, {"model_version", version}});
    g.Set(value);
    series.insert({family, &g});
  }
}

void Metrics::RemoveModelVersion(const std::string& model, const std::string& version) {
  std::lock_guard lock(version_series_mu_);
  auto it = version_series_.find({model, version});
  if (it == version_series_.end()) return;
  for (auto [family, gauge] : it->second) family->Remove(gauge);
  version_series_.erase(it);
}

prometheus::Counter& Metrics::LabelsMatured(const std::string& model, const std::string& label) {
  return labels_matured_.Add({{"model", model}, {"label", label}});
}
prometheus::Counter& Metrics::ExamplesDelivered(const std::string& model) {
  return examples_delivered_.Add({{"model", model}});
}
prometheus::Counter& Metrics::RetrainRequests(const std::string& model, const std::string& reason) {
  return retrain_requests_.Add({{"model", model}, {"reason", reason}});
}
void Metrics::RemoveModel(const std::string& model, const std::vector<std::string>& retrain_reasons) {
  for (const char* label : {"clicked", "not_clicked"}) labels_matured_.Remove(&LabelsMatured(model, label));
  examples_delivered_.Remove(&ExamplesDelivered(model));
  for (const auto& reason : retrain_reasons) retrain_requests_.Remove(&RetrainRequests(model, reason));
}

prometheus::Counter& Metrics::MonitorDropped(const std::string& reason) { return monitor_dropped_.Add({{"reason", reason}}); }

std::string Metrics::Serialize() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace featmon
