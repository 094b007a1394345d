// librdkafka adapter for the item repartition topic (RepartitionSink): an
// idempotent producer with no message timeout and librdkafka's gapless
// guarantee, as exactly-once through the repartition needs
// (daemon/ingest/ingest_pipeline.h): per partition, what it sends lands in
// order and without gaps. A record that could leave a gap behind it raises
// librdkafka's fatal error instead; from then on every Flush fails, the
// commits that wait for it fail, and the instance must be restarted, which
// replays from its last commit with a new producer.
//
// Thread-safety: one thread sends and flushes.
#pragma once

#include <librdkafka/rdkafka.h>

#include <memory>
#include <string>

#include "daemon/kafka/kafka_client.h"
#include "daemon/kafka/message_source.h"

namespace featmon {

class RepartitionProducer final : public RepartitionSink {
 public:
  static Result<std::unique_ptr<RepartitionProducer>> Create(const KafkaClientOptions& options, std::string topic);
  ~RepartitionProducer() override;

  Status Send(int32_t partition, std::string_view key, std::string_view value) override;
  Status Flush(int timeout_ms) override;

 private:
  RepartitionProducer() = default;
  static void DeliveryCb(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque);
  // librdkafka's fatal error, when one was raised: it says why nothing is sent any more.
  Status Fatal() const;

  std::string topic_;
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_resp_err_t failed_ = RD_KAFKA_RESP_ERR_NO_ERROR;  // a delivery that failed; set by DeliveryCb
};

}  // namespace featmon
