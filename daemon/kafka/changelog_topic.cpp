#include "daemon/kafka/changelog_topic.h"

#include <chrono>

#include "daemon/kafka/kafka_handle.h"

namespace featmon {

namespace {
constexpr int kRequestTimeoutMs = 10'000;
constexpr int kMaxRecordBytes = 64 << 20;
constexpr auto kAppendTimeout = std::chrono::seconds(30);
// A read that makes no progress this long gives up; the caller retries.
constexpr auto kReadStall = std::chrono::seconds(30);

Status KafkaError(const std::string& what, rd_kafka_resp_err_t err) {
  return Status::Unavailable(what + ": " + rd_kafka_err2str(err));
}

// Delivery reports carry the append's generation and the record's index.
struct DeliveryTag {
  uint32_t generation;
  uint32_t index;
};
void* Encode(DeliveryTag t) {
  return reinterpret_cast<void*>((static_cast<uintptr_t>(t.generation) << 32) | t.index);
}
DeliveryTag Decode(void* opaque) {
  const auto v = reinterpret_cast<uintptr_t>(opaque);
  return {static_cast<uint32_t>(v >> 32), static_cast<uint32_t>(v & 0xffffffffu)};
}
// Which record failed, so a size limit can be told from the rest: its
// key's first bytes and its sizes.
std::string RecordSizes(const changelog::Record& record) {
  const std::string key = changelog::RecordKey(record);
  std::string printable;
  for (char c : key.substr(0, 48)) printable += c >= 0x20 && c < 0x7f ? c : '.';
  return "(the record of key '" + printable + (key.size() > 48 ? "...'" : "'") + ", " + std::to_string(key.size()) +
         " + " + std::to_string(changelog::RecordValue(record).size()) + " bytes)";
}
}  // namespace

Result<std::unique_ptr<ChangelogTopic>> ChangelogTopic::Open(const KafkaClientOptions& options, std::string topic) {
  std::unique_ptr<ChangelogTopic> t(new ChangelogTopic());
  t->options_ = options;
  t->topic_ = std::move(topic);
  auto rk = NewIdempotentProducer(options,
                                  {
                                      {"linger.ms", "5"},
                                      // States and pending labels repeat their keys' bytes.
                                      {"compression.type", "lz4"},
                                      {"message.timeout.ms", "0"},  // wait for the broker's answer, however long
                                      {"queue.buffering.max.messages", "1000000"},
                                      // One record holds one key's whole state, and a model's can
                                      // outgrow librdkafka's 1 MB default: 1.5 MB in monitoring_test,
                                      // its reference window holding a backlog's predictions until
                                      // the watermark freezes the bins. The topic needs the same
                                      // max.message.bytes (README).
                                      {"message.max.bytes", std::to_string(kMaxRecordBytes)},
                                  },
                                  "producer for " + t->topic_, t.get(), &ChangelogTopic::DeliveryCb);
  if (!rk.ok()) return rk.status();
  t->producer_ = *rk;
  return t;
}

ChangelogTopic::~ChangelogTopic() {
  if (!producer_) return;
  rd_kafka_flush(producer_, 2000);
  rd_kafka_destroy(producer_);
}

void ChangelogTopic::DeliveryCb(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
  auto* self = static_cast<ChangelogTopic*>(opaque);
  const DeliveryTag tag = Decode(msg->_private);
  // A record of an append that stopped waiting: nobody asks for its offset.
  if (tag.generation != self->generation_ || tag.index >= self->offsets_.size()) return;
  self->offsets_[tag.index] = msg->err ? -1 : msg->offset;
  self->errors_[tag.index] = msg->err;
  ++self->delivered_;
}

Result<int32_t> ChangelogTopic::PartitionCount(const std::string& topic) {
  auto ids = TopicPartitionIds(producer_, topic, kRequestTimeoutMs);
  if (!ids.ok()) return ids.status();
  return static_cast<int32_t>(ids->size());
}

Result<std::pair<int64_t, int64_t>> ChangelogTopic::Bounds(int32_t task) {
  int64_t low = 0, high = 0;
  const rd_kafka_resp_err_t e =
      rd_kafka_query_watermark_offsets(producer_, topic_.c_str(), task, &low, &high, kRequestTimeoutMs);
  if (e) return KafkaError("offsets of " + topic_ + "/" + std::to_string(task), e);
  return std::make_pair(low, high);
}

Result<std::vector<int64_t>> ChangelogTopic::Append(int32_t task, const std::vector<changelog::Record>& records) {
  ++generation_;
  offsets_.assign(records.size(), -1);
  errors_.assign(records.size(), RD_KAFKA_RESP_ERR_NO_ERROR);
  delivered_ = 0;
  const std::string where = topic_ + "/" + std::to_string(task);
  for (size_t i = 0; i < records.size(); ++i) {
    const std::string key = changelog::RecordKey(records[i]), value = changelog::RecordValue(records[i]);
    const rd_kafka_resp_err_t e = rd_kafka_producev(
        producer_, RD_KAFKA_V_TOPIC(topic_.c_str()), RD_KAFKA_V_PARTITION(task),
        RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_OPAQUE(Encode({generation_, static_cast<uint32_t>(i)})), RD_KAFKA_V_END);
    if (e) {
      ++generation_;  // what went out may still land; its reports are not this append's
      return KafkaError("appending to " + where + " " + RecordSizes(records[i]), e);
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + kAppendTimeout;
  while (delivered_ < records.size() && std::chrono::steady_clock::now() < deadline) rd_kafka_flush(producer_, 100);
  if (delivered_ < records.size()) {
    ++generation_;
    return Status::Unavailable("appending to " + where + ": " + std::to_string(records.size() - delivered_) + " of " +
                               std::to_string(records.size()) + " records not confirmed within 30 s");
  }
  for (size_t i = 0; i < records.size(); ++i)
    if (errors_[i]) return KafkaError("appending to " + where + " " + RecordSizes(records[i]), errors_[i]);
  return offsets_;
}

Status ChangelogTopic::Read(int32_t task, int64_t from, int64_t to, const Visitor& visit) {
  if (from >= to) return Status::Ok();
  const std::string where = topic_ + "/" + std::to_string(task);
  auto bounds = Bounds(task);
  if (!bounds.ok()) return bounds.status();
  if (bounds->first > from)
    return Status::Corruption(where + " starts at offset " + std::to_string(bounds->first) + ", after " +
                              std::to_string(from) + " where the read had to begin: records were deleted (the " +
                              "changelog topic needs cleanup.policy=compact)");
  auto rk = NewReadBackConsumer(options_, "changelog reader");
  if (!rk.ok()) return rk.status();
  rd_kafka_t* consumer = *rk;
  rd_kafka_topic_partition_list_t* assignment = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(assignment, topic_.c_str(), task)->offset = from;
  Status st;
  if (rd_kafka_resp_err_t e = rd_kafka_assign(consumer, assignment); e) st = KafkaError("assigning " + where, e);
  rd_kafka_topic_partition_list_destroy(assignment);
  auto progress = std::chrono::steady_clock::now();
  bool done = false;
  while (st.ok() && !done) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer, 100);
    if (!m) {
      if (std::chrono::steady_clock::now() - progress > kReadStall)
        st = Status::Unavailable("reading " + where + " made no progress for 30 s");
      continue;
    }
    progress = std::chrono::steady_clock::now();
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      done = m->offset >= to;  // compaction can leave the range's last offsets empty
    } else if (m->err) {
      st = KafkaError("reading " + where, m->err);
    } else if (m->offset >= to) {
      done = true;
    } else {
      auto record = changelog::DecodeRecord(
          std::string_view(static_cast<const char*>(m->key), m->key_len),
          std::string_view(static_cast<const char*>(m->payload), m->len));
      if (!record.ok()) st = Status::Corruption(where + " offset " + std::to_string(m->offset) + ": " + record.status().message());
      else st = visit(m->offset, std::move(*record), m->key_len + m->len);
      done = m->offset + 1 >= to;
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
  return st;
}

}  // namespace featmon
