// featmond's Prometheus metrics (prometheus-cpp), one registry per process.
// Names follow Prometheus conventions: featmon_ prefix, base units, _total
// for counters. No label ever carries a user or item id: labels are topics,
// partitions, reasons and routes, all bounded sets.
//
// Thread-safety: prometheus-cpp metrics are atomic; the per-label lookups
// here take a lock, so hot paths resolve their metric once and keep the
// reference.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace featmon {

// Why a state commit fails, as the reason label of featmon_commits_stalled.
inline constexpr const char* kCommitStallReasons[] = {"disk_full", "io_error", "corruption", "unavailable", "other"};

class Metrics {
 public:
  Metrics(const std::string& version);

  prometheus::Counter& EventsConsumed(const std::string& topic);
  prometheus::Counter& EventsRejected(const std::string& topic, const std::string& reason);
  prometheus::Counter& EventsLateDropped(const std::string& topic);
  // Events on a partition other than their user's under Kafka's default
  // partitioner (cluster/key_partitioner.h): their producer does not key by
  // user_id with murmur2, so routing lookups by that rule misses them.
  prometheus::Counter& EventsOffPartition(const std::string& topic);
  prometheus::Gauge& ConsumerLag(const std::string& topic, int32_t partition);
  // Drops the series of a partition this instance no longer owns.
  void RemoveConsumerLag(prometheus::Gauge* gauge) { lag_.Remove(gauge); }
  // Wall clock minus the largest event time processed on a partition.
  prometheus::Gauge& EventTimeLag(const std::string& topic, int32_t partition);
  void RemoveEventTimeLag(prometheus::Gauge* gauge) { event_time_lag_.Remove(gauge); }
  // Changelog records a local copy of a task has yet to read: a warm
  // standby's (role "standby") or an assigned task's restore ("restoring").
  prometheus::Gauge& ChangelogCopyBehind(int32_t task, const std::string& role);
  void RemoveChangelogCopyBehind(prometheus::Gauge* gauge) { changelog_copy_behind_.Remove(gauge); }
  // From the poll that read an event to the moment lookups can see it.
  prometheus::Histogram& ReadToVisible() { return read_to_visible_; }
  // The bucket bounds of ReadToVisible, for ObserveMultiple.
  static const prometheus::Histogram::BucketBoundaries& ReadToVisibleBuckets();
  prometheus::Histogram& CommitDuration() { return commit_duration_; }
  prometheus::Histogram& HttpRequestDuration(const std::string& route);
  prometheus::Counter& CommitFailures() { return commit_failures_; }
  // Entity-state reads that failed; the event waits and is retried.
  prometheus::Counter& StoreReadFailures() { return store_read_failures_; }
  // Stored entity states that did not decode, kept aside in the store's
  // quarantine column family; the entity starts afresh.
  prometheus::Counter& StateQuarantined() { return state_quarantined_; }
  // Pipelines whose state commit is failing right now (offsets held), by
  // reason: one of kCommitStallReasons. Every reason's series exists from the start.
  prometheus::Gauge& CommitsStalled(const std::string& reason) { return commits_stalled_.Add({{"reason", reason}}); }
  prometheus::Gauge& StoreEntities() { return store_entities_; }
  prometheus::Gauge& StoreDiskBytes() { return store_disk_bytes_; }
  prometheus::Gauge& CacheEntities() { return cache_entities_; }
  prometheus::Gauge& CacheBytes() { return cache_bytes_; }
  // The consumer group's tasks this instance holds, and how many there are.
  prometheus::Gauge& TasksHeld() { return tasks_held_; }
  prometheus::Gauge& Tasks() { return tasks_; }
  // Lookups answered 503 by the serving policy: not_held (the key's task is
  // not held here, and no owner can be asked), partial_entity (an item,
  // partial on one instance), owner_unknown (no member announced the task),
  // owner_unreachable (the owner did not answer), restoring (the key's task
  // is catching up with what its previous owner stored).
  prometheus::Counter& LookupsRefused(const std::string& reason) { return lookups_refused_.Add({{"reason", reason}}); }
  // Lookups sent to the member that owns their task.
  prometheus::Counter& LookupsForwarded() { return lookups_forwarded_; }
  // featmon_store_written_bytes_total{kind}: brings the counter of `kind`
  // (wal, flush, compaction) up to RocksDB's own running total.
  void SetStoreWrittenBytes(const std::string& kind, uint64_t total);

  // ---- model monitoring. Labels are model, model_version, signal, feature and
  // statistic names: bounded by monitoring.max_models, max_versions and
  // max_features.
  void SetDriftScore(const std::string& model, const std::string& version, const std::string& signal,
                     const std::string& feature, const std::string& statistic, double value);
  void SetDriftDetected(const std::string& model, const std::string& version, const std::string& signal,
                        const std::string& feature, bool drifting);
  void SetModelPerformance(const std::string& model, const std::string& version, double logloss,
                           double normalized_entropy, double calibration, double auc);
  // Drops every series of a model_version that is gone.
  void RemoveModelVersion(const std::string& model, const std::string& version);
  prometheus::Counter& LabelsMatured(const std::string& model, const std::string& label);
  // Drops the counters of a model that is gone (featmon_labels_matured_total,
  // featmon_examples_delivered_total and featmon_retrain_requests_total with
  // these reasons).
  void RemoveModel(const std::string& model, const std::vector<std::string>& retrain_reasons);
  prometheus::Counter& RetrainRequests(const std::string& model, const std::string& reason);
  prometheus::Counter& MonitorDropped(const std::string& reason);  // max_models, max_pending_labels
  prometheus::Counter& MonitorLatePredictions() { return monitor_late_; }
  prometheus::Gauge& MonitorWatermark() { return monitor_watermark_; }
  prometheus::Gauge& MonitorPendingLabels() { return monitor_pending_; }
  prometheus::Counter& WebhookFailures() { return webhook_failures_; }
  // featmon_examples_delivered_total{model}: LabeledExamples the examples
  // topic confirmed (once each, across restarts).
  prometheus::Counter& ExamplesDelivered(const std::string& model);
  // featmon_examples_waiting: matured examples not yet confirmed by the topic.
  prometheus::Gauge& ExamplesWaiting() { return examples_waiting_; }

  // Prometheus text exposition of everything registered.
  std::string Serialize() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& consumed_;
  prometheus::Family<prometheus::Counter>& rejected_;
  prometheus::Family<prometheus::Counter>& late_dropped_;
  prometheus::Family<prometheus::Counter>& off_partition_;
  prometheus::Family<prometheus::Gauge>& lag_;
  prometheus::Family<prometheus::Gauge>& event_time_lag_;
  prometheus::Family<prometheus::Gauge>& changelog_copy_behind_;
  prometheus::Histogram& read_to_visible_;
  prometheus::Family<prometheus::Histogram>& http_duration_;
  prometheus::Histogram& commit_duration_;
  prometheus::Counter& commit_failures_;
  prometheus::Counter& store_read_failures_;
  prometheus::Counter& state_quarantined_;
  prometheus::Family<prometheus::Gauge>& commits_stalled_;
  prometheus::Gauge& store_entities_;
  prometheus::Gauge& store_disk_bytes_;
  prometheus::Gauge& cache_entities_;
  prometheus::Gauge& cache_bytes_;
  prometheus::Gauge& tasks_held_;
  prometheus::Gauge& tasks_;
  prometheus::Family<prometheus::Counter>& lookups_refused_;
  prometheus::Counter& lookups_forwarded_;
  prometheus::Family<prometheus::Counter>& store_written_;
  std::mutex store_written_mu_;

  prometheus::Family<prometheus::Gauge>& drift_score_;
  prometheus::Family<prometheus::Gauge>& drift_detected_;
  prometheus::Family<prometheus::Gauge>& logloss_;
  prometheus::Family<prometheus::Gauge>& normalized_entropy_;
  prometheus::Family<prometheus::Gauge>& calibration_;
  prometheus::Family<prometheus::Gauge>& auc_;
  prometheus::Family<prometheus::Counter>& labels_matured_;
  prometheus::Family<prometheus::Counter>& retrain_requests_;
  prometheus::Family<prometheus::Counter>& monitor_dropped_;
  prometheus::Counter& monitor_late_;
  prometheus::Gauge& monitor_watermark_;
  prometheus::Gauge& monitor_pending_;
  prometheus::Family<prometheus::Counter>& examples_delivered_;
  prometheus::Gauge& examples_waiting_;
  prometheus::Counter& webhook_failures_;
  std::mutex version_series_mu_;
  // Every gauge of a (model, version), with its family, for RemoveModelVersion.
  std::map<std::pair<std::string, std::string>, std::set<std::pair<prometheus::Family<prometheus::Gauge>*, prometheus::Gauge*>>>
      version_series_;
};

}  // namespace featmon
