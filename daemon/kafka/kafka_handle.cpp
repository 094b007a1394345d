#include "daemon/kafka/kafka_handle.h"

#include "daemon/kafka/kafka_client.h"
#include "daemon/logging/log.h"

namespace featmon {

namespace {
Result<rd_kafka_conf_t*> MakeKafkaConf(const std::map<std::string, std::string>& settings) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  for (const auto& [key, value] : settings) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return Status::InvalidArgument("kafka property '" + key + "': " + err);
    }
  }
  rd_kafka_conf_set_log_cb(conf, [](const rd_kafka_t*, int level, const char* fac, const char* buf) {
    if (level <= 3) Log(Component::kKafka).error("{}: {}", fac, buf);
    else if (level <= 4) Log(Component::kKafka).warn("{}: {}", fac, buf);
    else Log(Component::kKafka).debug("{}: {}", fac, buf);
  });
  return conf;
}

}  // namespace

Result<rd_kafka_t*> NewKafkaClient(rd_kafka_type_t type, const std::map<std::string, std::string>& settings,
                                   const char* what, const std::function<void(rd_kafka_conf_t*)>& configure) {
  auto conf = MakeKafkaConf(settings);
  if (!conf.ok()) return conf.status();
  configure(*conf);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, *conf, err, sizeof(err));  // owns conf on success
  if (!rk) {
    rd_kafka_conf_destroy(*conf);
    return Status::InvalidArgument(std::string("creating ") + what + ": " + err);
  }
  return rk;
}

Result<std::vector<int32_t>> TopicPartitionIds(rd_kafka_t* rk, const std::string& topic, int timeout_ms) {
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  const rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, t, &md, timeout_ms);
  rd_kafka_topic_destroy(t);
  if (e) return Status::Unavailable("metadata of topic " + topic + ": " + rd_kafka_err2str(e));
  const bool missing = md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR;
  const std::string why = md->topic_cnt == 1 ? rd_kafka_err2str(md->topics[0].err) : "no such topic";
  std::vector<int32_t> ids;
  if (!missing)
    for (int i = 0; i < md->topics[0].partition_cnt; ++i) ids.push_back(md->topics[0].partitions[i].id);
  rd_kafka_metadata_destroy(md);
  if (missing) return Status::NotFound("topic " + topic + ": " + why);
  return ids;
}

std::map<std::string, std::string> ProducerSettings(const KafkaClientOptions& options) {
  std::map<std::string, std::string> settings = {{"bootstrap.servers", options.brokers}};
  for (const auto& [k, v] : options.properties)
    if (k.rfind("security.", 0) == 0 || k.rfind("sasl.", 0) == 0 || k.rfind("ssl.", 0) == 0 || k == "client.id")
      settings[k] = v;
  for (const auto& [k, v] : options.producer_properties) settings[k] = v;
  return settings;
}

Result<rd_kafka_t*> NewIdempotentProducer(const KafkaClientOptions& options,
                                          std::map<std::string, std::string> defaults, const std::string& what,
                                          void* opaque,
                                          void (*on_delivery)(rd_kafka_t*, const rd_kafka_message_t*, void*)) {
  defaults["enable.idempotence"] = "true";
  for (auto& [k, v] : ProducerSettings(options)) defaults[k] = v;
  return NewKafkaClient(RD_KAFKA_PRODUCER, defaults, what.c_str(), [&](rd_kafka_conf_t* conf) {
    if (opaque) rd_kafka_conf_set_opaque(conf, opaque);
    if (on_delivery) rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  });
}

Result<rd_kafka_t*> NewReadBackConsumer(const KafkaClientOptions& options, const char* what) {
  std::map<std::string, std::string> settings = ProducerSettings(options);
  settings.erase("enable.idempotence");
  settings["group.id"] = "featmon-read-back";  // required by librdkafka; nothing is committed
  settings["enable.auto.commit"] = "false";
  settings["auto.offset.reset"] = "earliest";
  settings["enable.partition.eof"] = "true";
  auto rk = NewKafkaClient(RD_KAFKA_CONSUMER, settings, what, [](rd_kafka_conf_t*) {});
  if (rk.ok()) rd_kafka_poll_set_consumer(*rk);
  return rk;
}

}  // namespace featmon
