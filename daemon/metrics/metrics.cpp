#include "daemon/metrics/metrics.h"

#include <prometheus/text_serializer.h>

namespace featmon {

namespace {
const prometheus::Histogram::BucketBoundaries kLatencyBuckets = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
}

Metrics::Metrics(const std::string& version)
    : registry_(std::make_shared<prometheus::Registry>()),
      consumed_(prometheus::BuildCounter().Name("featmon_events_consumed_total")
                    .Help("Events taken from Kafka, valid or not").Register(*registry_)),
      rejected_(prometheus::BuildCounter().Name("featmon_events_rejected_total")
                    .Help("Events sent to the dead-letter topic, by reason").Register(*registry_)),
      late_dropped_(prometheus::BuildCounter().Name("featmon_events_late_dropped_total")
                        .Help("Events older than every window that could see them").Register(*registry_)),
      lag_(prometheus::BuildGauge().Name("featmon_consumer_lag_messages")
               .Help("High watermark minus the next offset to process").Register(*registry_)),
      http_duration_(prometheus::BuildHistogram().Name("featmon_http_request_duration_seconds")
                         .Help("HTTP request handling time by route").Register(*registry_)),
      commit_duration_(prometheus::BuildHistogram().Name("featmon_commit_duration_seconds")
                           .Help("Time to write one batch of state and offsets").Register(*registry_)
                           .Add({}, kLatencyBuckets)),
      commit_failures_(prometheus::BuildCounter().Name("featmon_commit_failures_total")
                           .Help("State commits that failed and will be retried").Register(*registry_).Add({})),
      store_entities_(prometheus::BuildGauge().Name("featmon_store_entities")
                          .Help("Approximate entity shards in RocksDB").Register(*registry_).Add({})),
      store_disk_bytes_(prometheus::BuildGauge().Name("featmon_store_disk_bytes")
                            .Help("Bytes of entity state in RocksDB SST files").Register(*registry_).Add({})),
      cache_entities_(prometheus::BuildGauge().Name("featmon_cache_entities")
                          .Help("Entity states held in memory between commits").Register(*registry_).Add({})) {
  prometheus::BuildGauge().Name("featmon_build_info").Help("Build of this featmond; always 1")
      .Register(*registry_).Add({{"version", version}}).Set(1);
}

prometheus::Counter& Metrics::EventsConsumed(const std::string& topic) { return consumed_.Add({{"topic", topic}}); }
prometheus::Counter& Metrics::EventsRejected(const std::string& topic, const std::string& reason) {
  return rejected_.Add({{"topic", topic}, {"reason", reason}});
}
prometheus::Counter& Metrics::EventsLateDropped(const std::string& topic) { return late_dropped_.Add({{"topic", topic}}); }
prometheus::Gauge& Metrics::ConsumerLag(const std::string& topic, int32_t partition) {
  return lag_.Add({{"topic", topic}, {"partition", std::to_string(partition)}});
}
prometheus::Histogram& Metrics::HttpRequestDuration(const std::string& route) {
  return http_duration_.Add({{"route", route}}, kLatencyBuckets);
}

std::string Metrics::Serialize() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace featmon
