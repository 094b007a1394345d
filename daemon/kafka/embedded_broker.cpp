#include "daemon/kafka/embedded_broker.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include "daemon/logging/log.h"

namespace featmon {

Result<std::unique_ptr<EmbeddedBroker>> EmbeddedBroker::Start(const EmbeddedBrokerOptions& options) {
  std::unique_ptr<EmbeddedBroker> b(new EmbeddedBroker());
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The mock cluster is owned by a client handle; this one never connects
  // anywhere, so its complaints about having no brokers are noise.
  rd_kafka_conf_set(conf, "bootstrap.servers", "", err, sizeof(err));
  rd_kafka_conf_set_log_cb(conf, [](const rd_kafka_t*, int level, const char* fac, const char* buf) {
    Log(Component::kKafka).debug("embedded broker {}: {}", fac, buf);
  });
  b->rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (!b->rk_) {
    rd_kafka_conf_destroy(conf);
    return Status::Internal(std::string("embedded broker handle: ") + err);
  }
  b->cluster_ = rd_kafka_mock_cluster_new(b->rk_, options.brokers);
  if (!b->cluster_) return Status::Internal("cannot start the mock Kafka cluster");
  for (const auto& topic : options.topics) {
    rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(b->cluster_, topic.c_str(), options.partitions, 1);
    if (e) return Status::Internal("creating topic " + topic + ": " + rd_kafka_err2str(e));
  }
  b->bootstrap_ = rd_kafka_mock_cluster_bootstraps(b->cluster_);
  return b;
}

EmbeddedBroker::~EmbeddedBroker() {
  if (cluster_) rd_kafka_mock_cluster_destroy(cluster_);
  if (rk_) rd_kafka_destroy(rk_);
}

}  // namespace featmon
