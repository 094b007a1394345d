#include "daemon/kafka/changelog_follower.h"

#include "daemon/kafka/kafka_handle.h"
#include "daemon/logging/log.h"

namespace featmon {

namespace {
constexpr int kRequestTimeoutMs = 10'000;
}  // namespace

Result<std::unique_ptr<ChangelogFollower>> ChangelogFollower::Open(const KafkaClientOptions& options,
                                                                   std::string topic) {
  auto rk = NewReadBackConsumer(options, "changelog follower");
  if (!rk.ok()) return rk.status();
  std::unique_ptr<ChangelogFollower> f(new ChangelogFollower());
  f->topic_ = std::move(topic);
  f->consumer_ = *rk;
  rd_kafka_topic_conf_t* conf = rd_kafka_topic_conf_new();
  char err[256];
  // The per-partition API commits nothing unless told to (a group of its
  // own, featmon-read-back, would otherwise get offsets nobody reads).
  if (rd_kafka_topic_conf_set(conf, "auto.commit.enable", "false", err, sizeof(err)) != RD_KAFKA_CONF_OK ||
      rd_kafka_topic_conf_set(conf, "auto.offset.reset", "earliest", err, sizeof(err)) != RD_KAFKA_CONF_OK) {
    rd_kafka_topic_conf_destroy(conf);
    return Status::Internal(std::string("changelog follower topic settings: ") + err);
  }
  f->handle_ = rd_kafka_topic_new(f->consumer_, f->topic_.c_str(), conf);
  if (!f->handle_) return Status::Internal("changelog follower: " + std::string(rd_kafka_err2str(rd_kafka_last_error())));
  f->queue_ = rd_kafka_queue_new(f->consumer_);
  return f;
}

ChangelogFollower::~ChangelogFollower() {
  if (!consumer_) return;
  while (!next_.empty()) Stop(next_.begin()->first);
  if (queue_) rd_kafka_queue_destroy(queue_);
  if (handle_) rd_kafka_topic_destroy(handle_);
  rd_kafka_consumer_close(consumer_);
  rd_kafka_destroy(consumer_);
}

Status ChangelogFollower::Start(int32_t task, int64_t offset) {
  int64_t low = 0, high = 0;
  const std::string where = topic_ + "/" + std::to_string(task);
  if (rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(consumer_, topic_.c_str(), task, &low, &high,
                                                               kRequestTimeoutMs))
    return Status::Unavailable("reading the bounds of " + where + ": " + rd_kafka_err2str(e));
  if (low > offset)
    return Status::Corruption(where + " starts at offset " + std::to_string(low) + ", after " +
                              std::to_string(offset) + " where the copy stands: records were deleted " +
                              "(the changelog topic needs cleanup.policy=compact)");
  if (rd_kafka_consume_start_queue(handle_, task, offset, queue_) != 0)
    return Status::Unavailable("following " + where + ": " + rd_kafka_err2str(rd_kafka_last_error()));
  next_[task] = offset;
  return Status::Ok();
}

void ChangelogFollower::Stop(int32_t task) {
  next_.erase(task);
  // Waits until the partition has stopped; what it fetched before is dropped.
  if (rd_kafka_consume_stop(handle_, task) != 0)
    Log(Component::kKafka).warn("stopping {}/{}: {}", topic_, task, rd_kafka_err2str(rd_kafka_last_error()));
}

Status ChangelogFollower::Follow(const std::map<int32_t, int64_t>& from) {
  std::vector<int32_t> stop;
  for (const auto& [task, next] : next_) {
    auto wanted = from.find(task);
    if (wanted == from.end() || wanted->second != next) stop.push_back(task);
  }
  for (int32_t task : stop) Stop(task);
  for (const auto& [task, offset] : from) {
    if (next_.count(task)) continue;  // fetching on from there already
    if (Status st = Start(task, offset); !st.ok()) return st;
  }
  return Status::Ok();
}

Status ChangelogFollower::Poll(size_t max, int wait_ms, const Visitor& visit) {
  for (size_t n = 0; n < max; ++n) {
    rd_kafka_message_t* m = rd_kafka_consume_queue(queue_, n == 0 ? wait_ms : 0);
    if (!m) return Status::Ok();
    Status st;
    const std::string where = topic_ + "/" + std::to_string(m->partition);
    auto next = next_.find(m->partition);
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      // caught up; End() says where
    } else if (m->err) {
      st = Status::Unavailable("following " + where + ": " + rd_kafka_message_errstr(m));
    } else if (next == next_.end() || m->offset < next->second) {
      // stopped meanwhile, or handed over already
    } else {
      next->second = m->offset + 1;
      auto record = changelog::DecodeRecord(std::string_view(static_cast<const char*>(m->key), m->key_len),
                                            std::string_view(static_cast<const char*>(m->payload), m->len));
      if (!record.ok())
        st = Status::Corruption(where + " offset " + std::to_string(m->offset) + ": " + record.status().message());
      else
        st = visit(m->partition, m->offset, std::move(*record), m->key_len + m->len);
    }
    rd_kafka_message_destroy(m);
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

int64_t ChangelogFollower::End(int32_t task) const {
  int64_t low = -1, high = -1;
  if (rd_kafka_get_watermark_offsets(consumer_, topic_.c_str(), task, &low, &high)) return -1;
  return high;
}

}  // namespace featmon
