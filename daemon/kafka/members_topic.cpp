#include "daemon/kafka/members_topic.h"

#include "daemon/kafka/kafka_handle.h"
#include "daemon/logging/log.h"

namespace featmon {

namespace {
constexpr int32_t kPartition = 0;
}  // namespace

Result<std::unique_ptr<MembersTopic>> MembersTopic::Start(const KafkaClientOptions& options, std::string topic) {
  std::unique_ptr<MembersTopic> t(new MembersTopic());
  t->topic_ = std::move(topic);
  auto p = NewIdempotentProducer(options, {{"linger.ms", "0"}}, "producer for " + t->topic_);
  if (!p.ok()) return p.status();
  t->producer_ = *p;

  std::map<std::string, std::string> consumer = ProducerSettings(options);
  consumer["group.id"] = options.group_id + ".members-reader";  // required by librdkafka; nothing is committed
  consumer["enable.auto.commit"] = "false";
  consumer["enable.auto.offset.store"] = "false";
  consumer["fetch.wait.max.ms"] = "100";  // an announcement reaches the others within about this
  auto c = NewKafkaClient(RD_KAFKA_CONSUMER, consumer, ("reader of " + t->topic_).c_str(), [](rd_kafka_conf_t*) {});
  if (!c.ok()) return c.status();
  t->consumer_ = *c;
  rd_kafka_poll_set_consumer(t->consumer_);
  rd_kafka_topic_partition_list_t* assignment = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(assignment, t->topic_.c_str(), kPartition)->offset = RD_KAFKA_OFFSET_BEGINNING;
  const rd_kafka_resp_err_t e = rd_kafka_assign(t->consumer_, assignment);
  rd_kafka_topic_partition_list_destroy(assignment);
  if (e) return Status::Unavailable("reading " + t->topic_ + ": " + rd_kafka_err2str(e));
  t->reader_ = std::thread([raw = t.get()] { raw->Read(); });
  return t;
}

MembersTopic::~MembersTopic() {
  stop_ = true;
  if (reader_.joinable()) reader_.join();
  if (consumer_) {
    rd_kafka_consumer_close(consumer_);
    rd_kafka_destroy(consumer_);
  }
  if (producer_) {
    rd_kafka_flush(producer_, 1'000);
    rd_kafka_destroy(producer_);
  }
}

Status MembersTopic::Announce(const MemberAnnouncement& a) {
  const std::string value = EncodeAnnouncement(a);
  const rd_kafka_resp_err_t e = rd_kafka_producev(
      producer_, RD_KAFKA_V_TOPIC(topic_.c_str()), RD_KAFKA_V_PARTITION(kPartition),
      RD_KAFKA_V_KEY(a.url.data(), a.url.size()), RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
  rd_kafka_poll(producer_, 0);  // serves delivery reports
  if (e) return Status::Unavailable("announcing on " + topic_ + ": " + rd_kafka_err2str(e));
  return Status::Ok();
}

Status MembersTopic::Leave(const std::string& url, int timeout_ms) {
  const rd_kafka_resp_err_t e = rd_kafka_producev(producer_, RD_KAFKA_V_TOPIC(topic_.c_str()),
                                                  RD_KAFKA_V_PARTITION(kPartition),
                                                  RD_KAFKA_V_KEY(url.data(), url.size()), RD_KAFKA_V_VALUE(nullptr, 0),
                                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
  if (e) return Status::Unavailable("leaving " + topic_ + ": " + rd_kafka_err2str(e));
  if (rd_kafka_flush(producer_, timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR)
    return Status::Unavailable("leaving " + topic_ + ": not delivered within " + std::to_string(timeout_ms) + " ms");
  return Status::Ok();
}

void MembersTopic::Read() {
  while (!stop_.load()) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer_, 100);
    if (!m) continue;
    Apply(m);
    rd_kafka_message_destroy(m);
  }
}

void MembersTopic::Apply(const rd_kafka_message_t* m) {
  std::lock_guard lock(mu_);
  if (m->err) {
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return;
    last_error_ = rd_kafka_message_errstr(m);
    return;
  }
  records_read_.fetch_add(1);
  const std::string url(static_cast<const char*>(m->key), m->key_len);
  if (m->payload == nullptr) {
    directory_.Leave(url);
    return;
  }
  auto a = DecodeAnnouncement(std::string_view(static_cast<const char*>(m->payload), m->len));
  if (!a.ok()) {
    last_error_ = topic_ + " offset " + std::to_string(m->offset) + ": " + a.status().message();
    Log(Component::kKafka).warn("skipping a record: {}", last_error_);
    return;
  }
  if (a->url != url) {
    last_error_ = topic_ + " offset " + std::to_string(m->offset) + ": keyed " + url + " but announces " + a->url;
    return;
  }
  directory_.Announce(std::move(*a), m->offset);
}

std::optional<MemberAnnouncement> MembersTopic::OwnerOf(int32_t task) const {
  std::lock_guard lock(mu_);
  const MemberAnnouncement* owner = directory_.OwnerOf(task);
  return owner ? std::optional<MemberAnnouncement>(*owner) : std::nullopt;
}

std::optional<MemberAnnouncement> MembersTopic::MonitoringOwner() const {
  std::lock_guard lock(mu_);
  const MemberAnnouncement* owner = directory_.MonitoringOwner();
  return owner ? std::optional<MemberAnnouncement>(*owner) : std::nullopt;
}

std::vector<MemberDirectory::Member> MembersTopic::Members() const {
  std::lock_guard lock(mu_);
  return directory_.Members();
}

std::vector<int32_t> MembersTopic::Unclaimed(int32_t total_tasks) const {
  std::lock_guard lock(mu_);
  return directory_.Unclaimed(total_tasks);
}

std::string MembersTopic::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

}  // namespace featmon
