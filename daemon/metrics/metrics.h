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

#include <memory>
#include <string>

namespace featmon {

class Metrics {
 public:
  Metrics(const std::string& version);

  prometheus::Counter& EventsConsumed(const std::string& topic);
  prometheus::Counter& EventsRejected(const std::string& topic, const std::string& reason);
  prometheus::Counter& EventsLateDropped(const std::string& topic);
  prometheus::Gauge& ConsumerLag(const std::string& topic, int32_t partition);
  // Drops the series of a partition this instance no longer owns.
  void RemoveConsumerLag(prometheus::Gauge* gauge) { lag_.Remove(gauge); }
  prometheus::Histogram& CommitDuration() { return commit_duration_; }
  prometheus::Histogram& HttpRequestDuration(const std::string& route);
  prometheus::Counter& CommitFailures() { return commit_failures_; }
  prometheus::Gauge& StoreEntities() { return store_entities_; }
  prometheus::Gauge& StoreDiskBytes() { return store_disk_bytes_; }
  prometheus::Gauge& CacheEntities() { return cache_entities_; }

  // Prometheus text exposition of everything registered.
  std::string Serialize() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& consumed_;
  prometheus::Family<prometheus::Counter>& rejected_;
  prometheus::Family<prometheus::Counter>& late_dropped_;
  prometheus::Family<prometheus::Gauge>& lag_;
  prometheus::Family<prometheus::Histogram>& http_duration_;
  prometheus::Histogram& commit_duration_;
  prometheus::Counter& commit_failures_;
  prometheus::Gauge& store_entities_;
  prometheus::Gauge& store_disk_bytes_;
  prometheus::Gauge& cache_entities_;
};

}  // namespace featmon
