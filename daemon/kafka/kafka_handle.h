// Creating librdkafka client handles, shared by every adapter in this folder:
// settings applied one by one (an error names the property), librdkafka's
// log routed to ours, and the settings a producer may take from the
// consumer's `kafka.properties`.
#pragma once

#include <librdkafka/rdkafka.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace featmon {

struct KafkaClientOptions;

// A client handle from settings; `configure` adds callbacks and the opaque.
// Errors name the property or say what could not be created.
Result<rd_kafka_t*> NewKafkaClient(rd_kafka_type_t type, const std::map<std::string, std::string>& settings,
                                   const char* what, const std::function<void(rd_kafka_conf_t*)>& configure);

// The partition ids of `topic`: NotFound when the broker does not know it,
// Unavailable when the metadata request fails.
Result<std::vector<int32_t>> TopicPartitionIds(rd_kafka_t* rk, const std::string& topic, int timeout_ms);

// bootstrap.servers, the security settings and client.id of `options`
// (consumer-only settings would make a producer refuse to start), then its
// producer_properties.
std::map<std::string, std::string> ProducerSettings(const KafkaClientOptions& options);

// An idempotent producer (no duplicates, no reordering on retries: every
// adapter here counts on both) named `what`: `defaults`, the adapter's own
// choices such as linger.ms, then ProducerSettings(options) over them.
// `on_delivery`, when given, gets each delivery report with `opaque`.
Result<rd_kafka_t*> NewIdempotentProducer(
    const KafkaClientOptions& options, std::map<std::string, std::string> defaults, const std::string& what,
    void* opaque = nullptr,
    void (*on_delivery)(rd_kafka_t*, const rd_kafka_message_t*, void*) = nullptr);

// A consumer for reading partitions back by assignment (nothing committed,
// no group joined): `options`' connection settings, partitions that end
// report it (even when they end in transaction markers), and its queue
// served by rd_kafka_consumer_poll.
Result<rd_kafka_t*> NewReadBackConsumer(const KafkaClientOptions& options, const char* what);

}  // namespace featmon
