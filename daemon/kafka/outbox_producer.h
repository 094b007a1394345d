// librdkafka implementation of OutboxSink. Records go out with the
// idempotent producer, Java's murmur2 partitioner (so a model server or a
// Java consumer finds a user's examples where Kafka Streams would), and no
// message timeout: a record's fate is delivered, or an error the broker
// gave, never "timed out, perhaps written". The header `featmon-outbox`
// reads "<outbox id, 16 hex digits>:<sequence>".
#pragma once

#include <librdkafka/rdkafka.h>

#include <memory>
#include <string>

#include "daemon/kafka/kafka_client.h"
#include "daemon/kafka/outbox_sink.h"

namespace featmon {

inline constexpr char kOutboxHeader[] = "featmon-outbox";

class KafkaOutboxProducer final : public OutboxSink {
 public:
  static Result<std::unique_ptr<KafkaOutboxProducer>> Create(const KafkaClientOptions& options, std::string topic);
  ~KafkaOutboxProducer() override;

  Status Produce(uint64_t outbox_id, uint64_t seq, std::string_view key, std::string_view value) override;
  void Flush(int timeout_ms, std::vector<OutboxDelivery>* out) override;
  size_t in_flight() const override { return in_flight_; }
  Status FindDelivered(uint64_t outbox_id, const std::map<int32_t, int64_t>& from, std::set<uint64_t>* seqs,
                       std::map<int32_t, int64_t>* ends) override;

 private:
  KafkaOutboxProducer() = default;
  static void DeliveryCb(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque);
  // The end offset of every partition of the topic.
  Result<std::map<int32_t, int64_t>> EndOffsets();

  KafkaClientOptions options_;
  std::string topic_;
  rd_kafka_t* rk_ = nullptr;
  size_t in_flight_ = 0;
  std::vector<OutboxDelivery> fates_;  // filled by DeliveryCb, inside poll and flush on the caller's thread
  std::string last_error_;
};

// The header value of a record: "<outbox id, 16 hex digits>:<sequence>".
std::string OutboxHeaderValue(uint64_t outbox_id, uint64_t seq);
// Its parts, or false when the value is not one.
bool ParseOutboxHeader(std::string_view value, uint64_t* outbox_id, uint64_t* seq);

}  // namespace featmon
