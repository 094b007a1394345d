#include "tools/producer.h"

#include <sstream>
#include <vector>

namespace featmon {

Result<std::unique_ptr<SimpleProducer>> SimpleProducer::Create(const std::string& brokers, const std::string& extra) {
  auto p = std::make_unique<SimpleProducer>();
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  auto set = [&](const std::string& k, const std::string& v) -> Status {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK)
      return Status::InvalidArgument(k + ": " + err);
    return Status::Ok();
  };
  std::vector<std::pair<std::string, std::string>> settings = {
      {"bootstrap.servers", brokers}, {"linger.ms", "5"}, {"batch.num.messages", "10000"},
      {"queue.buffering.max.messages", "1000000"}, {"enable.idempotence", "true"},
      // Kafka's default (the Java client's), so a user's events land where
      // cluster/key_partitioner.h says and featmond's routing rule holds.
      {"partitioner", "murmur2_random"}};
  std::stringstream ss(extra);
  for (std::string kv; std::getline(ss, kv, ',');) {
    size_t eq = kv.find('=');
    if (eq != std::string::npos) settings.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  for (const auto& [k, v] : settings) {
    Status st = set(k, v);
    if (!st.ok()) {
      rd_kafka_conf_destroy(conf);
      return st;
    }
  }
  rd_kafka_conf_set_opaque(conf, p.get());
  rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<SimpleProducer*>(opaque);
    (m->err ? self->failed_ : self->delivered_).fetch_add(1);
  });
  p->rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (!p->rk_) {
    rd_kafka_conf_destroy(conf);
    return Status::InvalidArgument(std::string("producer: ") + err);
  }
  return p;
}

SimpleProducer::~SimpleProducer() {
  if (rk_) {
    rd_kafka_flush(rk_, 10000);
    rd_kafka_destroy(rk_);
  }
}

Status SimpleProducer::Send(const std::string& topic, const std::string& key, const std::string& value,
                            int32_t partition) {
  for (;;) {
    rd_kafka_resp_err_t e = rd_kafka_producev(
        rk_, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_END);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) break;
    if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) return Status::Unavailable(std::string("produce: ") + rd_kafka_err2str(e));
    rd_kafka_poll(rk_, 5);
  }
  rd_kafka_poll(rk_, 0);
  return Status::Ok();
}

Status SimpleProducer::Flush(int timeout_ms) {
  if (rd_kafka_flush(rk_, timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR) return Status::Unavailable("flush timed out");
  if (failed_.load() > 0) return Status::Unavailable(std::to_string(failed_.load()) + " messages failed");
  return Status::Ok();
}

}  // namespace featmon
