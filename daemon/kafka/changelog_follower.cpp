#include "daemon/kafka/changelog_follower.h"

#include "daemon/kafka/kafka_handle.h"

namespace featmon {

namespace {
constexpr int kRequestTimeoutMs = 10'000;
}  // namespace

Result<std::unique_ptr<ChangelogFollower>> ChangelogFollower::Open(const KafkaClientOptions& options,
                                                                   std::string topic) {
  auto rk = NewReadBackConsumer(options, "changelog standby reader");
  if (!rk.ok()) return rk.status();
  std::unique_ptr<ChangelogFollower> f(new ChangelogFollower());
  f->topic_ = std::move(topic);
  f->consumer_ = *rk;
  return f;
}

ChangelogFollower::~ChangelogFollower() {
  if (!consumer_) return;
  rd_kafka_consumer_close(consumer_);
  rd_kafka_destroy(consumer_);
}

Status ChangelogFollower::Follow(const std::map<int32_t, int64_t>& from) {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(from.size()));
  Status st;
  for (const auto& [task, offset] : from) {
    int64_t low = 0, high = 0;
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(consumer_, topic_.c_str(), task, &low, &high,
                                                             kRequestTimeoutMs);
    const std::string where = topic_ + "/" + std::to_string(task);
    if (e) {
      st = Status::Unavailable("reading the bounds of " + where + ": " + rd_kafka_err2str(e));
      break;
    }
    if (low > offset) {
      st = Status::Corruption(where + " starts at offset " + std::to_string(low) + ", after " +
                              std::to_string(offset) + " where the standby's copy stands: records were deleted " +
                              "(the changelog topic needs cleanup.policy=compact)");
      break;
    }
    rd_kafka_topic_partition_list_add(list, topic_.c_str(), task)->offset = offset;
  }
  if (st.ok())
    if (rd_kafka_resp_err_t e = rd_kafka_assign(consumer_, list); e)
      st = Status::Unavailable("following " + topic_ + ": " + rd_kafka_err2str(e));
  rd_kafka_topic_partition_list_destroy(list);
  return st;
}

Status ChangelogFollower::Poll(size_t max, const Visitor& visit) {
  for (size_t n = 0; n < max; ++n) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer_, 0);
    if (!m) return Status::Ok();
    Status st;
    const std::string where = topic_ + "/" + std::to_string(m->partition);
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      // caught up; End() says where
    } else if (m->err) {
      st = Status::Unavailable("following " + where + ": " + rd_kafka_message_errstr(m));
    } else {
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
