#include "daemon/kafka/embedded_broker.h"

#include <sstream>
#include <vector>

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

Status EmbeddedBroker::Control(const std::string& command) {
  std::istringstream in(command);
  std::string verb;
  in >> verb;
  int a = 0, b = 0, c = 0;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  if (verb == "down" && in >> a) {
    err = rd_kafka_mock_broker_set_down(cluster_, a);
  } else if (verb == "up" && in >> a) {
    err = rd_kafka_mock_broker_set_up(cluster_, a);
  } else if (verb == "rtt" && in >> a >> b) {
    err = rd_kafka_mock_broker_set_rtt(cluster_, a, b);
  } else if (std::string topic; verb == "create" && in >> topic >> a && a > 0) {
    err = rd_kafka_mock_topic_create(cluster_, topic.c_str(), a, 1);
  } else if (verb == "errors" && in >> a >> b >> c && b > 0) {
    std::vector<rd_kafka_resp_err_t> errors(static_cast<size_t>(b), static_cast<rd_kafka_resp_err_t>(c));
    rd_kafka_mock_push_request_errors_array(cluster_, static_cast<int16_t>(a), errors.size(), errors.data());
  } else if (verb == "delay" && in >> a >> b >> c && c >= 0) {
    // The broker's next request of that API is answered with NOT_COORDINATOR
    // after c ms (the client then retries): holds a group in one phase.
    err = rd_kafka_mock_broker_push_request_error_rtts(cluster_, a, static_cast<int16_t>(b), 1,
                                                       RD_KAFKA_RESP_ERR_NOT_COORDINATOR, c);
  } else {
    return Status::InvalidArgument("unknown broker command '" + command + "'");
  }
  if (err) return Status::InvalidArgument(command + ": " + rd_kafka_err2str(err));
  return Status::Ok();
}

EmbeddedBroker::~EmbeddedBroker() {
  if (cluster_) rd_kafka_mock_cluster_destroy(cluster_);
  if (rk_) rd_kafka_destroy(rk_);
}

}  // namespace featmon
