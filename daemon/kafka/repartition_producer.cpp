#include "daemon/kafka/repartition_producer.h"

#include "daemon/kafka/kafka_handle.h"

namespace featmon {

Result<std::unique_ptr<RepartitionProducer>> RepartitionProducer::Create(const KafkaClientOptions& options,
                                                                         std::string topic) {
  std::unique_ptr<RepartitionProducer> p(new RepartitionProducer());
  p->topic_ = std::move(topic);
  auto rk = NewIdempotentProducer(options,
                                  {
                                      {"linger.ms", "5"},
                                      {"compression.type", "lz4"},
                                      {"message.timeout.ms", "0"},  // retried until the broker takes it
                                      {"enable.gapless.guarantee", "true"},
                                      {"queue.buffering.max.messages", "1000000"},
                                  },
                                  "producer for " + p->topic_, p.get(), &RepartitionProducer::DeliveryCb);
  if (!rk.ok()) return rk.status();
  p->rk_ = *rk;
  return p;
}

RepartitionProducer::~RepartitionProducer() {
  if (!rk_) return;
  rd_kafka_flush(rk_, 2000);
  rd_kafka_destroy(rk_);
}

void RepartitionProducer::DeliveryCb(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
  if (msg->err) static_cast<RepartitionProducer*>(opaque)->failed_ = msg->err;
}

Status RepartitionProducer::Fatal() const {
  char reason[512];
  const rd_kafka_resp_err_t e = rd_kafka_fatal_error(rk_, reason, sizeof(reason));
  if (!e) return Status::Ok();
  return Status::Unavailable("the producer for " + topic_ + " stopped (" + reason +
                             "); restart featmond: it replays from its last commit");
}

Status RepartitionProducer::Send(int32_t partition, std::string_view key, std::string_view value) {
  if (Status st = Fatal(); !st.ok()) return st;
  const rd_kafka_resp_err_t e = rd_kafka_producev(
      rk_, RD_KAFKA_V_TOPIC(topic_.c_str()), RD_KAFKA_V_PARTITION(partition),
      RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
      RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_END);
  if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) rd_kafka_poll(rk_, 0);  // serve reports; the caller tries again
  if (e) return Status::Unavailable("re-keying an event to " + topic_ + "/" + std::to_string(partition) + ": " +
                                    rd_kafka_err2str(e));
  return Status::Ok();
}

Status RepartitionProducer::Flush(int timeout_ms) {
  rd_kafka_flush(rk_, timeout_ms);
  if (Status st = Fatal(); !st.ok()) return st;
  if (failed_) return Status::Unavailable("a record to " + topic_ + " failed: " + rd_kafka_err2str(failed_));
  if (const int left = rd_kafka_outq_len(rk_); left > 0)
    return Status::Unavailable(std::to_string(left) + " records to " + topic_ + " not confirmed within " +
                               std::to_string(timeout_ms) + " ms");
  return Status::Ok();
}

}  // namespace featmon
