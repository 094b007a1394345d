#include "daemon/kafka/outbox_producer.h"

#include <charconv>
#include <chrono>
#include <cinttypes>
#include <cstdio>

#include "daemon/kafka/kafka_handle.h"
#include "daemon/logging/log.h"

namespace featmon {

namespace {
constexpr int kRequestTimeoutMs = 10'000;
// Reading a partition back that makes no progress this long gives up (the
// caller tries again later) instead of holding the monitor.
constexpr auto kReadBackStall = std::chrono::seconds(30);

Status KafkaError(const std::string& what, rd_kafka_resp_err_t err) {
  return Status::Unavailable(what + ": " + rd_kafka_err2str(err));
}

}  // namespace

std::string OutboxHeaderValue(uint64_t outbox_id, uint64_t seq) {
  char buf[64];
  const int n = std::snprintf(buf, sizeof(buf), "%016" PRIx64 ":%" PRIu64, outbox_id, seq);
  return std::string(buf, static_cast<size_t>(n));
}

bool ParseOutboxHeader(std::string_view value, uint64_t* outbox_id, uint64_t* seq) {
  if (value.size() < 18 || value[16] != ':') return false;
  const char* end = value.data() + value.size();
  auto id = std::from_chars(value.data(), value.data() + 16, *outbox_id, 16);
  auto s = std::from_chars(value.data() + 17, end, *seq);
  return id.ec == std::errc() && id.ptr == value.data() + 16 && s.ec == std::errc() && s.ptr == end;
}

Result<std::unique_ptr<KafkaOutboxProducer>> KafkaOutboxProducer::Create(const KafkaClientOptions& options,
                                                                         std::string topic) {
  std::unique_ptr<KafkaOutboxProducer> p(new KafkaOutboxProducer());
  p->options_ = options;
  p->topic_ = std::move(topic);
  auto rk = NewIdempotentProducer(
      options,
      {
          {"linger.ms", "20"},
          {"message.timeout.ms", "0"},  // never "timed out, perhaps written": wait for the broker's answer
          {"partitioner", "murmur2_random"},
          // The outbox bounds what waits (monitoring.max_waiting_examples); a
          // catch-up matures more than librdkafka's default 100,000 at once.
          {"queue.buffering.max.messages", "1000000"},
      },
      "producer for " + p->topic_, p.get(), &KafkaOutboxProducer::DeliveryCb);
  if (!rk.ok()) return rk.status();
  p->rk_ = *rk;
  return p;
}

KafkaOutboxProducer::~KafkaOutboxProducer() {
  if (!rk_) return;
  // What is still in flight stays in the outbox's store and is found, or
  // produced again, at the next start.
  rd_kafka_flush(rk_, 2000);
  rd_kafka_destroy(rk_);
}

void KafkaOutboxProducer::DeliveryCb(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
  auto* self = static_cast<KafkaOutboxProducer*>(opaque);
  const uint64_t seq = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(msg->_private));
  --self->in_flight_;
  if (msg->err) {
    const std::string why = rd_kafka_err2str(msg->err);
    if (why != self->last_error_) Log(Component::kKafka).error("delivery to {} failed: {}", self->topic_, why);
    self->last_error_ = why;
    self->fates_.push_back({seq, msg->partition, -1});
    return;
  }
  self->fates_.push_back({seq, msg->partition, msg->offset});
}

Status KafkaOutboxProducer::Produce(uint64_t outbox_id, uint64_t seq, std::string_view key, std::string_view value) {
  const std::string header = OutboxHeaderValue(outbox_id, seq);
  rd_kafka_headers_t* h = rd_kafka_headers_new(1);
  rd_kafka_header_add(h, kOutboxHeader, -1, header.data(), static_cast<ssize_t>(header.size()));
  const rd_kafka_resp_err_t e = rd_kafka_producev(
      rk_, RD_KAFKA_V_TOPIC(topic_.c_str()), RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
      RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<uintptr_t>(seq))), RD_KAFKA_V_END);
  if (e) {
    rd_kafka_headers_destroy(h);  // ownership passes to librdkafka only on success
    return KafkaError("producing to " + topic_, e);
  }
  ++in_flight_;
  rd_kafka_poll(rk_, 0);
  return Status::Ok();
}

void KafkaOutboxProducer::Flush(int timeout_ms, std::vector<OutboxDelivery>* out) {
  rd_kafka_flush(rk_, timeout_ms);
  if (out->empty()) out->swap(fates_);
  else out->insert(out->end(), fates_.begin(), fates_.end());
  fates_.clear();
}

Result<std::map<int32_t, int64_t>> KafkaOutboxProducer::EndOffsets() {
  auto partitions = TopicPartitionIds(rk_, topic_, kRequestTimeoutMs);
  if (!partitions.ok()) return partitions.status();
  std::map<int32_t, int64_t> ends;
  for (int32_t p : *partitions) {
    int64_t low = 0, high = 0;
    const rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk_, topic_.c_str(), p, &low, &high, kRequestTimeoutMs);
    if (e) return KafkaError("end offset of " + topic_ + "/" + std::to_string(p), e);
    ends[p] = high;
  }
  return ends;
}

Status KafkaOutboxProducer::FindDelivered(uint64_t outbox_id, const std::map<int32_t, int64_t>& from,
                                          std::set<uint64_t>* seqs, std::map<int32_t, int64_t>* ends) {
  auto end_offsets = EndOffsets();
  if (!end_offsets.ok()) return end_offsets.status();
  *ends = *end_offsets;
  auto rk = NewReadBackConsumer(options_, "outbox read-back consumer");
  if (!rk.ok()) return rk.status();
  rd_kafka_t* consumer = *rk;
  // Partitions with something to read, and where each one is done.
  std::map<int32_t, int64_t> left;
  rd_kafka_topic_partition_list_t* assignment = rd_kafka_topic_partition_list_new(static_cast<int>(ends->size()));
  for (const auto& [partition, end] : *ends) {
    auto f = from.find(partition);
    const int64_t start = f == from.end() ? RD_KAFKA_OFFSET_BEGINNING : f->second;
    if (start >= end) continue;
    rd_kafka_topic_partition_list_add(assignment, topic_.c_str(), partition)->offset = start;
    left[partition] = end;
  }
  Status st;
  if (!left.empty()) {
    if (rd_kafka_resp_err_t e = rd_kafka_assign(consumer, assignment); e) st = KafkaError("assigning " + topic_, e);
  }
  rd_kafka_topic_partition_list_destroy(assignment);
  auto progress = std::chrono::steady_clock::now();
  while (st.ok() && !left.empty()) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer, 100);
    if (!m) {
      if (std::chrono::steady_clock::now() - progress > kReadBackStall)
        st = Status::Unavailable("reading " + topic_ + " back made no progress for 30 s");
      continue;
    }
    progress = std::chrono::steady_clock::now();
    if (m->err) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) st = KafkaError("reading " + topic_ + " back", m->err);
      else left.erase(m->partition);  // ends in markers or got truncated: nothing more of ours there
      rd_kafka_message_destroy(m);
      continue;
    }
    rd_kafka_headers_t* headers = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    uint64_t id = 0, seq = 0;
    if (rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        rd_kafka_header_get_last(headers, kOutboxHeader, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        ParseOutboxHeader(std::string_view(static_cast<const char*>(value), size), &id, &seq) && id == outbox_id)
      seqs->insert(seq);
    if (auto it = left.find(m->partition); it != left.end() && m->offset + 1 >= it->second) left.erase(it);
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
  return st;
}

}  // namespace featmon
