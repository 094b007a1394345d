#include "tools/export/topic_replay.h"

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <optional>
#include <utility>

#include "daemon/kafka/kafka_handle.h"

namespace featmon::exporter {

namespace {
constexpr int kMetadataTimeoutMs = 10'000;
constexpr int kPollTimeoutMs = 100;
constexpr size_t kBatch = 1'000;  // decoded at a time per partition
// A replay waiting this long for a partition that has not reached its end
// gives up and says which, instead of hanging on a broker that is gone.
constexpr auto kStallTimeout = std::chrono::seconds(60);

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}
Status KafkaError(const std::string& what, rd_kafka_resp_err_t err) {
  return Status::Unavailable(what + ": " + rd_kafka_err2str(err));
}
}  // namespace

Result<std::unique_ptr<TopicReplay>> TopicReplay::Open(const ReplayOptions& options) {
  std::unique_ptr<TopicReplay> r(new TopicReplay());
  r->decoder_options_ = options.decoder;
  r->decoder_ = std::make_unique<EventDecoder>(options.decoder);
  std::map<std::string, std::string> settings = {
      {"bootstrap.servers", options.brokers},
      {"group.id", "featmon-export"},  // required by librdkafka; nothing is committed
      {"enable.auto.commit", "false"},
      {"enable.partition.eof", "true"},  // a partition that ends in transaction markers still ends
      // Retention deleting the start of a partition while it is read: go on
      // from what is left (the gap is counted), never jump to the end.
      {"auto.offset.reset", "earliest"},
      // Per partition, since each has its own queue: 48 partitions prefetch
      // about 50 MB (a fetch response may add up to max.partition.fetch.bytes
      // each). On bench/export.sh, 2,000 left the merge waiting for fetches
      // again (113k messages/s); 5,000 and 10,000 replay alike (147k, 145k),
      // 10,000 with 50 MB more peak RSS.
      {"queued.min.messages", "5000"},
      {"queued.max.messages.kbytes", "1024"},
      // A broker holds a fetch that finds no data for up to this long, and a
      // consumer has one fetch in flight per broker. Partitions read to the
      // log end (a replay reads history: nothing new comes) made every such
      // fetch wait the default 500 ms, while the partition the merge waited
      // for could not be fetched. On bench/export.sh the replay alone
      // (bench/export_replay) went from 415k to 925k messages/s with 10 ms
      // (1 ms: 870k, 50 ms: 898k, 100 ms: 694k).
      {"fetch.wait.max.ms", "10"},
  };
  for (const auto& [k, v] : options.properties) settings[k] = v;
  auto rk = NewKafkaClient(RD_KAFKA_CONSUMER, settings, "kafka consumer", [](rd_kafka_conf_t*) {});
  if (!rk.ok()) return rk.status();
  r->rk_ = *rk;
  rd_kafka_poll_set_consumer(r->rk_);
  r->queue_ = rd_kafka_queue_get_consumer(r->rk_);
  if (Status st = r->AddTopic(options.views_topic, EventType::kView, false, options.events_from_ms); !st.ok()) return st;
  if (Status st = r->AddTopic(options.clicks_topic, EventType::kClick, false, options.events_from_ms); !st.ok()) return st;
  if (Status st = r->AddTopic(options.predictions_topic, EventType::kView, true, options.predictions_from_ms); !st.ok())
    return st;
  if (Status st = r->Start(); !st.ok()) return st;
  return r;
}

TopicReplay::~TopicReplay() {
  for (Partition& p : partitions_)
    if (p.queue) rd_kafka_queue_destroy(p.queue);
  if (queue_) rd_kafka_queue_destroy(queue_);
  if (rk_) {
    rd_kafka_consumer_close(rk_);
    rd_kafka_destroy(rk_);
  }
}

Status TopicReplay::AddTopic(const std::string& topic, EventType type, bool predictions, int64_t from_ms) {
  auto partitions = TopicPartitionIds(rk_, topic, kMetadataTimeoutMs);
  if (!partitions.ok()) {
    if (partitions.status().code() != StatusCode::kNotFound) return partitions.status();
    return Status::NotFound(partitions.status().message() + " (check --brokers and the config's kafka: topics)");
  }
  const std::vector<int32_t>& ids = *partitions;

  rd_kafka_topic_partition_list_t* times = rd_kafka_topic_partition_list_new(static_cast<int>(ids.size()));
  for (int32_t id : ids) rd_kafka_topic_partition_list_add(times, topic.c_str(), id)->offset = from_ms;
  if (from_ms >= 0) {
    const rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(rk_, times, kMetadataTimeoutMs);
    if (e) {
      rd_kafka_topic_partition_list_destroy(times);
      return KafkaError("offsets for time " + std::to_string(from_ms) + " in " + topic, e);
    }
  }
  for (int i = 0; i < times->cnt; ++i) {
    Partition p;
    p.topic = topic;
    p.partition = times->elems[i].partition;
    p.type = type;
    p.predictions = predictions;
    int64_t low = 0, high = 0;
    const rd_kafka_resp_err_t e =
        rd_kafka_query_watermark_offsets(rk_, topic.c_str(), p.partition, &low, &high, kMetadataTimeoutMs);
    if (e) {
      rd_kafka_topic_partition_list_destroy(times);
      return KafkaError("end offsets of " + topic, e);
    }
    p.end = high;
    p.next = from_ms < 0 ? low : std::max(low, times->elems[i].offset);
    // offsets_for_times answers -1 when no message's timestamp is that
    // recent, and so does librdkafka's mock cluster for every timestamp.
    // Starting at the end would then lose what the broker misjudged (a
    // producer that stamps messages with its own clock): read the partition
    // from its start instead; event times decide what is exported.
    if (from_ms >= 0 && times->elems[i].offset < 0 && high > low) {
      p.next = low;
      ++timestamp_fallbacks_;
    }
    total_ += static_cast<uint64_t>(p.end - p.next);
    partitions_.push_back(std::move(p));
  }
  rd_kafka_topic_partition_list_destroy(times);
  return Status::Ok();
}

Status TopicReplay::Start() {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(partitions_.size()));
  for (Partition& p : partitions_) {
    if (p.done()) continue;
    // Before the assignment, so that librdkafka does not forward it to the
    // consumer queue when it starts fetching.
    p.queue = rd_kafka_queue_get_partition(rk_, p.topic.c_str(), p.partition);
    if (p.queue == nullptr) {
      rd_kafka_topic_partition_list_destroy(list);
      return Status::Internal("no queue for " + p.topic + "/" + std::to_string(p.partition));
    }
    rd_kafka_queue_forward(p.queue, nullptr);
    rd_kafka_topic_partition_list_add(list, p.topic.c_str(), p.partition)->offset = p.next;
  }
  rd_kafka_resp_err_t e = rd_kafka_assign(rk_, list);
  rd_kafka_topic_partition_list_destroy(list);
  return e ? KafkaError("assigning the partitions", e) : Status::Ok();
}

void TopicReplay::Pause(Partition& p) {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, p.topic.c_str(), p.partition);
  rd_kafka_pause_partitions(rk_, list);
  rd_kafka_topic_partition_list_destroy(list);
}

void TopicReplay::Buffer(Partition& p, std::string_view payload, int64_t now_ms) {
  if (p.count == p.buffered.size()) {
    ReplayRecord slot;
    if (p.predictions) slot.record.emplace<PredictionRecord>();
    p.buffered.push_back(std::move(slot));
  }
  ReplayRecord& rec = p.buffered[p.count];
  std::optional<Rejection> rejection;
  if (p.predictions) {
    auto& prediction = std::get<PredictionRecord>(rec.record);
    rejection = decoder_->DecodePredictionInto(payload, now_ms, &prediction);
    rec.ts_ms = prediction.prediction.ts_ms;
  } else {
    auto& event = std::get<Event>(rec.record);
    rejection = decoder_->DecodeInto(p.type, payload, now_ms, &event);
    rec.ts_ms = event.ts_ms;
  }
  if (rejection) {
    ++rejected_[p.topic + "/" + std::string(RejectReasonName(rejection->reason))];
    return;  // the slot is decoded into again
  }
  ++p.count;
}

Status TopicReplay::Fill(Partition& p) {
  rd_kafka_message_t* batch[kBatch];
  // consume_batch_queue with a timeout waits for a whole batch; take what is
  // there, else wait for one.
  ssize_t n = rd_kafka_consume_batch_queue(p.queue, 0, batch, kBatch);
  if (n == 0) {
    batch[0] = rd_kafka_consume_queue(p.queue, kPollTimeoutMs);
    n = batch[0] ? 1 : 0;
  }
  if (n < 0) return KafkaError("reading " + p.topic + "/" + std::to_string(p.partition), rd_kafka_last_error());
  Status st;
  const int64_t now_ms = WallMs();  // what the decoder checks event times against; once per batch
  p.count = 0;  // Refill calls this only once the batch before is used up; its slots are reused
  p.head = 0;
  for (ssize_t i = 0; i < n; ++i) {
    rd_kafka_message_t* m = batch[i];
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      p.next = std::max(p.next, std::min(m->offset, p.end));  // at the end; the rest were transaction markers
    } else if (m->err) {
      if (st.ok()) st = KafkaError("reading " + p.topic + "/" + std::to_string(p.partition), m->err);
    } else if (m->offset >= p.next && m->offset < p.end) {
      ++read_;
      p.next = m->offset + 1;
      Buffer(p, std::string_view(static_cast<const char*>(m->payload), m->len), now_ms);
    } else if (m->offset >= p.end) {
      p.next = p.end;  // past the end: what lay before it was deleted while this read
    }
    rd_kafka_message_destroy(m);
  }
  if (p.done()) Pause(p);  // what came after the replay began is not ours
  return st;
}

Status TopicReplay::ClientError() {
  rd_kafka_message_t* m = rd_kafka_consume_queue(queue_, 0);
  if (m == nullptr) return Status::Ok();
  Status st = m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF ? KafkaError("reading", m->err) : Status::Ok();
  rd_kafka_message_destroy(m);
  return st;
}

Status TopicReplay::Refill(size_t index) {
  Partition& p = partitions_[index];
  auto last_read = std::chrono::steady_clock::now();
  while (!p.has_buffered() && !p.done()) {
    const int64_t before = p.next;
    if (Status st = Fill(p); !st.ok()) return st;
    if (Status st = ClientError(); !st.ok()) return st;
    if (p.next != before) {
      last_read = std::chrono::steady_clock::now();
    } else if (std::chrono::steady_clock::now() - last_read > kStallTimeout) {
      return Status::Unavailable("no message from " + p.topic + "/" + std::to_string(p.partition) + " for " +
                                 std::to_string(kStallTimeout.count()) + " s, at offset " + std::to_string(p.next) +
                                 " of " + std::to_string(p.end) + "; is the broker up?");
    }
  }
  if (p.has_buffered()) PushHead(index);
  return Status::Ok();
}

void TopicReplay::PushHead(size_t index) {
  const Partition& p = partitions_[index];
  const ReplayRecord& head = p.buffered[p.head];
  heads_.push({head.ts_ms, !head.prediction(), index});
}

Result<ReplayRecord*> TopicReplay::Next() {
  if (!started_) {
    for (size_t i = 0; i < partitions_.size(); ++i)
      if (Status st = Refill(i); !st.ok()) return st;
    started_ = true;
  }
  // The record handed out last was its partition's last buffered one; its
  // batch is replaced only now, and before the next head is chosen (that
  // partition's next record may be the oldest).
  if (used_up_ != kNone) {
    const size_t index = std::exchange(used_up_, kNone);
    if (Status st = Refill(index); !st.ok()) return st;
  }
  if (heads_.empty()) return static_cast<ReplayRecord*>(nullptr);
  const size_t index = heads_.top().partition;
  heads_.pop();
  Partition& p = partitions_[index];
  ReplayRecord* record = &p.buffered[p.head++];
  if (p.has_buffered()) PushHead(index);
  else used_up_ = index;
  return record;
}

}  // namespace featmon::exporter
