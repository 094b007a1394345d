#include "daemon/kafka/kafka_client.h"

#if defined(__SANITIZE_ADDRESS__)
#define FEATMON_LEAK_CHECKED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FEATMON_LEAK_CHECKED 1
#endif
#endif
#if FEATMON_LEAK_CHECKED
#include <sanitizer/lsan_interface.h>
#endif

#include "cluster/co_partitioning.h"
#include "daemon/kafka/kafka_handle.h"
#include "daemon/logging/log.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <future>
#include <thread>

namespace featmon {

namespace {

std::vector<TopicPartition> ToVector(const rd_kafka_topic_partition_list_t* parts) {
  std::vector<TopicPartition> out;
  for (int i = 0; i < parts->cnt; ++i) out.push_back({parts->elems[i].topic, parts->elems[i].partition});
  return out;
}

// A partition list owned by its holder.
struct PartitionList {
  explicit PartitionList(const std::vector<TopicPartition>& tps)
      : list(rd_kafka_topic_partition_list_new(static_cast<int>(tps.size()))) {
    for (const auto& tp : tps) rd_kafka_topic_partition_list_add(list, tp.topic.c_str(), tp.partition);
  }
  ~PartitionList() { rd_kafka_topic_partition_list_destroy(list); }
  PartitionList(const PartitionList&) = delete;
  PartitionList& operator=(const PartitionList&) = delete;
  rd_kafka_topic_partition_list_t* list;
};

// Those of `tps` in the client's current assignment: an incremental unassign
// of a partition it does not hold fails as a whole.
std::vector<TopicPartition> HeldAmong(rd_kafka_t* rk, const std::vector<TopicPartition>& tps) {
  rd_kafka_topic_partition_list_t* held = nullptr;
  if (rd_kafka_assignment(rk, &held) != RD_KAFKA_RESP_ERR_NO_ERROR) return {};
  std::vector<TopicPartition> out;
  for (const auto& tp : tps)
    if (rd_kafka_topic_partition_list_find(held, tp.topic.c_str(), tp.partition)) out.push_back(tp);
  rd_kafka_topic_partition_list_destroy(held);
  return out;
}

void LogIfFailed(rd_kafka_error_t* error, const char* what) {
  if (!error) return;
  Log(Component::kKafka).error("{}: {}", what, rd_kafka_error_string(error));
  rd_kafka_error_destroy(error);
}

// How long Create waits for the topics' metadata before leaving the
// co-partitioning check to the first assignment. Short: featmond serves its
// stored state (and /healthz) only once its consumers exist, and a broker
// that does not answer must not hold that up.
constexpr int kStartMetadataTimeoutMs = 2'000;
}  // namespace

// One worker's view of the consumer: its queue, batch consumption, and the
// consumer's thread-safe calls.
class KafkaConsumer::WorkerSource final : public MessageSource {
 public:
  WorkerSource(KafkaConsumer* consumer, rd_kafka_queue_t* queue) : consumer_(consumer), queue_(queue) {}
  ~WorkerSource() override { Release(); }

  Status Poll(size_t max, int timeout_ms, std::vector<InputMessage>* out) override {
    Release();
    if (batch_.size() < max) batch_.resize(max);
    // rd_kafka_consume_batch_queue waits until `max` messages are queued or
    // the timeout passes, so at low rates every event waited out the whole
    // timeout. Take what is queued; only when nothing is, wait for the first.
    ssize_t n = rd_kafka_consume_batch_queue(queue_, 0, batch_.data(), max);
    if (n == 0 && timeout_ms > 0) {
      if (rd_kafka_message_t* first = rd_kafka_consume_queue(queue_, timeout_ms)) {
        batch_[0] = first;
        const ssize_t rest = max > 1 ? rd_kafka_consume_batch_queue(queue_, 0, batch_.data() + 1, max - 1) : 0;
        n = rest < 0 ? rest : 1 + rest;
        if (rest < 0) rd_kafka_message_destroy(first);
      }
    }
    if (n < 0) return Status::IOError(std::string("consume: ") + rd_kafka_err2str(rd_kafka_last_error()));
    len_ = static_cast<size_t>(n);
    for (size_t i = 0; i < len_; ++i) {
      rd_kafka_message_t* m = batch_[i];
      if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) Log(Component::kKafka).warn("consume error: {}", rd_kafka_message_errstr(m));
        continue;
      }
      InputMessage msg;
      msg.topic = rd_kafka_topic_name(m->rkt);
      msg.partition = m->partition;
      msg.offset = m->offset;
      msg.payload = std::string_view(static_cast<const char*>(m->payload), m->len);
      if (m->key) msg.key = std::string_view(static_cast<const char*>(m->key), m->key_len);
      out->push_back(msg);
    }
    return Status::Ok();
  }
  void CommitForMonitoring(const std::vector<std::pair<TopicPartition, int64_t>>& offsets) override {
    consumer_->CommitForMonitoring(offsets);
  }
  std::vector<PartitionLag> HighWatermarks(const std::vector<TopicPartition>& partitions) override {
    return consumer_->HighWatermarks(partitions);
  }
  Status Resume(const std::vector<std::pair<TopicPartition, int64_t>>& from) override {
    return consumer_->Resume(from);
  }
  // Returns the messages of the last batch to librdkafka.
  void Release() {
    for (size_t i = 0; i < len_; ++i) rd_kafka_message_destroy(batch_[i]);
    len_ = 0;
  }
  KafkaConsumer* consumer_;
  rd_kafka_queue_t* queue_;
  std::vector<rd_kafka_message_t*> batch_;
  size_t len_ = 0;
};

Result<std::unique_ptr<KafkaConsumer>> KafkaConsumer::Create(const KafkaClientOptions& options,
                                                             RebalanceListener* listener, int workers) {
  std::map<std::string, std::string> settings = {
      {"bootstrap.servers", options.brokers},
      {"group.id", options.group_id},
      {"enable.auto.commit", "false"},        // offsets live in RocksDB; Kafka's are for lag only
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},
      // Only the tasks that change owner move; see cluster/co_partitioning.h
      // for how co-partitioned topics stay together.
      {"partition.assignment.strategy", "cooperative-sticky"},
      {"enable.partition.eof", "false"},
      {"queued.min.messages", "200000"},
  };
  if (!options.group_instance_id.empty()) settings["group.instance.id"] = options.group_instance_id;
  for (const auto& [k, v] : options.properties) settings[k] = v;
  if (options.topics.empty()) return Status::InvalidArgument("a consumer needs at least one topic");

  std::unique_ptr<KafkaConsumer> c(new KafkaConsumer());
  c->listener_ = listener;
  c->topics_ = options.topics;
  c->topic_settings_ = options.topic_settings;
  c->topic_settings_.resize(options.topics.size());
  for (size_t i = 0; i < options.topics.size(); ++i)
    if (c->topic_settings_[i].empty()) c->topic_settings_[i] = "topic";
  // Positions come only from our store: a partition without a checkpoint
  // starts per auto.offset.reset, never at the group's committed offset
  // (which would skip history after the data directory was lost).
  const std::string& reset = settings["auto.offset.reset"];
  c->reset_offset_ = (reset == "latest" || reset == "largest" || reset == "end") ? RD_KAFKA_OFFSET_END
                                                                                 : RD_KAFKA_OFFSET_BEGINNING;
  auto rk = NewKafkaClient(RD_KAFKA_CONSUMER, settings, "kafka consumer", [&](rd_kafka_conf_t* conf) {
    c->callbacks_->consumer = c.get();
    rd_kafka_conf_set_opaque(conf, c->callbacks_.get());
    rd_kafka_conf_set_rebalance_cb(conf, &KafkaConsumer::RebalanceCb);
  });
  if (!rk.ok()) return rk.status();
  c->rk_ = *rk;
  rd_kafka_poll_set_consumer(c->rk_);
  c->queue_ = rd_kafka_queue_get_consumer(c->rk_);
  for (int w = 0; w < std::max(1, workers); ++w) {
    c->worker_queues_.push_back(rd_kafka_queue_new(c->rk_));
    c->sources_.push_back(std::make_unique<WorkerSource>(c.get(), c->worker_queues_.back()));
  }

  Status co_partitioned = c->CheckCoPartitioning(kStartMetadataTimeoutMs);
  if (co_partitioned.code() == StatusCode::kUnavailable)
    Log(Component::kKafka).warn("{}; checking that the topics are co-partitioned at the first assignment instead",
                                co_partitioned.ToString());
  else if (!co_partitioned.ok())
    return co_partitioned;
  return c;
}

Status KafkaConsumer::Subscribe() {
  // The group assigns the first topic; the others follow (AssignTasks).
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, topics_.front().c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t e = rd_kafka_subscribe(rk_, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (e) return Status::Unavailable(std::string("subscribing: ") + rd_kafka_err2str(e));
  return Status::Ok();
}

Status KafkaConsumer::AssignAll(std::vector<TopicPartition>* assigned) {
  if (!co_partitioning_checked_)
    if (Status st = CheckCoPartitioning(kStartMetadataTimeoutMs); !st.ok()) return st;
  std::vector<TopicPartition> first;
  for (int32_t p = 0; p < partitions_; ++p) first.push_back({topics_.front(), p});
  PartitionList parts(first);
  AssignTasks(rk_, /*cooperative=*/false, parts.list, /*from_group=*/false);  // declined: rebalance_error_ says why
  Status st = rebalance_error_;
  rebalance_error_ = Status::Ok();
  if (st.ok() && assigned) *assigned = TaskPartitions(topics_, first);
  return st;
}

KafkaConsumer::~KafkaConsumer() {
  (void)Close();
}

void KafkaConsumer::RebalanceCb(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                                void* opaque) {
  auto* callbacks = static_cast<Callbacks*>(opaque);
  // An assignment comes from a SyncGroup answer (a revoke also comes from
  // the close's own unsubscribe, with no SyncGroup behind it).
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) callbacks->assigned = true;
  const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  if (callbacks->abandoned.load()) {
    // The close outlived its deadline and the pipelines are gone: hand
    // librdkafka what it waits for and touch nothing else.
    if (err != RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      if (cooperative) LogIfFailed(rd_kafka_incremental_unassign(rk, parts), "unassigning after an abandoned close");
      else rd_kafka_assign(rk, nullptr);
    }
    return;
  }
  KafkaConsumer* self = callbacks->consumer;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS && self->closed_) {
    // A join that was in flight at shutdown completed; the close has already
    // queued its unsubscribe, which supersedes this assignment, so librdkafka
    // no longer waits for an assign call. Making one anyway can hang forever
    // (librdkafka#4884): rd_kafka_assign waits for a reply from the group's op
    // queue, and if the LeaveGroup answer comes first, the terminating group
    // purges that queue, our op with it, unanswered (rdkafka_cgrp.c,
    // rd_kafka_cgrp_terminated, 2.0.2). An empty assign here hung about one
    // close in three that landed here under ASan. So: no call at all.
    Log(Component::kKafka).info("declined {} partitions assigned while closing", parts->cnt);
    return;
  }
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) self->AssignTasks(rk, cooperative, parts, /*from_group=*/true);
  else self->RevokeTasks(rk, cooperative, parts);
}

Status KafkaConsumer::CheckCoPartitioning(int timeout_ms) {
  std::vector<CoPartitionedTopic> topics;
  for (size_t i = 0; i < topics_.size(); ++i) {
    auto ids = TopicPartitionIds(rk_, topics_[i], timeout_ms);
    if (ids.status().code() == StatusCode::kNotFound)
      return Status::InvalidArgument(topic_settings_[i] + " '" + topics_[i] + "' does not exist on the brokers (" +
                                     ids.status().message() + "); create it with as many partitions as " +
                                     topic_settings_[0] + " '" + topics_[0] + "'");
    if (!ids.ok()) return ids.status();
    topics.push_back({topic_settings_[i], topics_[i], static_cast<int>(ids->size())});
  }
  Status st = CheckCoPartitioned(topics);
  co_partitioning_checked_ = st.ok();
  if (st.ok()) partitions_ = topics.front().partitions;
  if (st.ok() && listener_) listener_->OnTaskCount(topics.front().partitions);
  return st;
}

Result<std::vector<int64_t>> KafkaConsumer::Committed(rd_kafka_t* rk, const std::vector<TopicPartition>& tps,
                                                      int timeout_ms) {
  PartitionList list(tps);
  if (const rd_kafka_resp_err_t e = rd_kafka_committed(rk, list.list, timeout_ms))
    return Status::Unavailable(std::string("the group's committed offsets: ") + rd_kafka_err2str(e));
  std::vector<int64_t> out(tps.size(), -1);
  for (size_t i = 0; i < tps.size(); ++i) {
    const rd_kafka_topic_partition_t& p = list.list->elems[i];
    if (p.err) out[i] = kGroupCommittedUnknown;
    else if (p.offset >= 0) out[i] = p.offset;
  }
  return out;
}

std::vector<int64_t> KafkaConsumer::GroupCommitted(rd_kafka_t* rk, const std::vector<TopicPartition>& tps) {
  auto committed = Committed(rk, tps, kCommittedTimeoutMs);
  if (committed.ok()) return *committed;
  // Serving the local state now could serve a stale copy: the tasks
  // restore to the partitions' ends instead.
  Log(Component::kKafka).warn("{} for the assigned tasks; they are refused until they reach the partitions' "
                              "current ends", committed.status().message());
  return std::vector<int64_t>(tps.size(), kGroupCommittedUnknown);
}

Result<std::vector<int64_t>> KafkaConsumer::CommittedOffsets(const std::vector<TopicPartition>& tps, int timeout_ms) {
  if (closed_) return Status::Unavailable("consumer closed");
  return Committed(rk_, tps, timeout_ms);
}

void KafkaConsumer::AssignTasks(rd_kafka_t* rk, bool cooperative, rd_kafka_topic_partition_list_t* parts,
                                bool from_group) {
  if (!co_partitioning_checked_) {
    Status st = CheckCoPartitioning(kStartMetadataTimeoutMs);
    if (!st.ok()) return Decline(rk, cooperative, "the topics cannot be checked or are not co-partitioned", st);
  }
  const std::vector<TopicPartition> tasks = TaskPartitions(topics_, ToVector(parts));
  if (from_group) listener_->OnGroupCommitted(tasks, GroupCommitted(rk, tasks));
  std::vector<int64_t> offsets(tasks.size(), -1);
  Status st = listener_->OnAssigned(tasks, &offsets);
  if (!st.ok()) {
    // Without our stored positions we cannot consume exactly once: take nothing.
    return Decline(rk, cooperative, "cannot resume assigned partitions", st);
  }
  PartitionList assign(tasks);
  std::vector<TopicPartition> paused;
  const int workers = static_cast<int>(worker_queues_.size());
  for (size_t i = 0; i < tasks.size(); ++i) {
    assign.list->elems[i].offset = offsets[i] >= 0 ? offsets[i] : reset_offset_;
    if (offsets[i] == kStartPaused) paused.push_back(tasks[i]);
    // Route the partition to its worker before any of its messages arrive.
    rd_kafka_queue_t* pq = rd_kafka_queue_get_partition(rk, tasks[i].topic.c_str(), tasks[i].partition);
    rd_kafka_queue_forward(pq, worker_queues_[WorkerOf(tasks[i], workers)]);
    rd_kafka_queue_destroy(pq);
  }
  if (cooperative) LogIfFailed(rd_kafka_incremental_assign(rk, assign.list), "assigning tasks");
  else if (rd_kafka_resp_err_t e = rd_kafka_assign(rk, assign.list))
    Log(Component::kKafka).error("assigning tasks: {}", rd_kafka_err2str(e));
  if (paused.empty()) return;
  // The workers are held out until this callback returns, so none polls
  // before the pause; its version barrier discards anything fetched earlier.
  PartitionList hold(paused);
  if (rd_kafka_resp_err_t e = rd_kafka_pause_partitions(rk, hold.list))
    Log(Component::kKafka).error("pausing the partitions of restoring tasks: {}", rd_kafka_err2str(e));
}

Status KafkaConsumer::Resume(const std::vector<std::pair<TopicPartition, int64_t>>& from) {
  if (closed_) return Status::Unavailable("consumer closed");
  if (from.empty()) return Status::Ok();
  std::vector<TopicPartition> tps;
  for (const auto& [tp, offset] : from) tps.push_back(tp);
  PartitionList list(tps);
  for (size_t i = 0; i < from.size(); ++i)
    list.list->elems[i].offset = from[i].second >= 0 ? from[i].second : reset_offset_;
  // Seek while still paused, so that the first fetch after the resume
  // starts at the restored offset; the seek's barrier drops older fetches.
  if (rd_kafka_error_t* error = rd_kafka_seek_partitions(rk_, list.list, kSeekTimeoutMs)) {
    Status st = Status::Unavailable(std::string("seeking restored partitions: ") + rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
    return st;
  }
  for (int i = 0; i < list.list->cnt; ++i)
    if (list.list->elems[i].err)
      return Status::Unavailable("seeking " + tps[i].topic + "/" + std::to_string(tps[i].partition) + ": " +
                                 rd_kafka_err2str(list.list->elems[i].err));
  if (rd_kafka_resp_err_t e = rd_kafka_resume_partitions(rk_, list.list))
    return Status::Unavailable(std::string("resuming restored partitions: ") + rd_kafka_err2str(e));
  return Status::Ok();
}

void KafkaConsumer::RevokeTasks(rd_kafka_t* rk, bool cooperative, const rd_kafka_topic_partition_list_t* parts) {
  const std::vector<TopicPartition> tasks = TaskPartitions(topics_, ToVector(parts));
  listener_->OnRevoked(tasks);  // each listener ignores partitions it does not hold
  if (!cooperative) {
    rd_kafka_assign(rk, nullptr);
    return;
  }
  PartitionList held(HeldAmong(rk, tasks));
  LogIfFailed(rd_kafka_incremental_unassign(rk, held.list), "unassigning tasks");
}

void KafkaConsumer::Decline(rd_kafka_t* rk, bool cooperative, std::string_view what, Status why) {
  Log(Component::kKafka).error("{}: {}", what, why.ToString());
  rebalance_error_ = std::move(why);
  if (!cooperative) {
    rd_kafka_assign(rk, nullptr);
    return;
  }
  // librdkafka waits for an assign call; an empty one takes nothing.
  PartitionList none({});
  LogIfFailed(rd_kafka_incremental_assign(rk, none.list), "declining an assignment");
}

MessageSource* KafkaConsumer::worker_source(int w) { return sources_[w].get(); }

Status KafkaConsumer::ServeEvents(int timeout_ms) {
  if (closed_) return Status::Unavailable("consumer closed");
  rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, timeout_ms);
  if (m) {
    // Partitions are forwarded to worker queues, so only errors arrive here.
    if (m->err) Log(Component::kKafka).warn("{}", rd_kafka_message_errstr(m));
    else Log(Component::kKafka).error("message on {}/{} reached the group queue unrouted", rd_kafka_topic_name(m->rkt), m->partition);
    rd_kafka_message_destroy(m);
  }
  if (!rebalance_error_.ok()) {
    Status st = rebalance_error_;
    rebalance_error_ = Status::Ok();
    return st;
  }
  return Status::Ok();
}

void KafkaConsumer::CommitForMonitoring(const std::vector<std::pair<TopicPartition, int64_t>>& next_offsets) {
  if (next_offsets.empty() || closed_) return;
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(next_offsets.size()));
  for (const auto& [tp, off] : next_offsets)
    rd_kafka_topic_partition_list_add(list, tp.topic.c_str(), tp.partition)->offset = off;
  rd_kafka_commit(rk_, list, 1 /* async */);
  rd_kafka_topic_partition_list_destroy(list);
}

std::vector<PartitionLag> KafkaConsumer::HighWatermarks(const std::vector<TopicPartition>& partitions) {
  std::vector<PartitionLag> out;
  for (const auto& tp : partitions) {
    int64_t low = -1, high = -1;
    rd_kafka_get_watermark_offsets(rk_, tp.topic.c_str(), tp.partition, &low, &high);
    out.push_back({tp, high});
  }
  return out;
}

Status KafkaConsumer::Close(int timeout_ms) {
  if (closed_ || !rk_) return Status::Ok();
  closed_ = true;
  const bool destroy_would_abort = DestroyWouldAbort();  // asks the group thread: only before the close
  for (auto& s : sources_) s->Release();
  // rd_kafka_consumer_close serves the final revoke (see RebalanceCb) and
  // waits for the group to answer; it gets its own thread and a deadline.
  auto result = std::make_shared<std::promise<rd_kafka_resp_err_t>>();
  std::future<rd_kafka_resp_err_t> done = result->get_future();
  std::thread closer([rk = rk_, result, keep = callbacks_] { result->set_value(rd_kafka_consumer_close(rk)); });
  if (done.wait_for(std::chrono::milliseconds(timeout_ms)) == std::future_status::timeout) {
    callbacks_->abandoned = true;
    closer.detach();  // with the handle, its queues and the callbacks block: never freed
    Log(Component::kKafka).warn("closing the consumer did not finish within {} ms (is the broker answering?); left "
                                "running, state and offsets are already stored",
                                timeout_ms);
    return Status::Unavailable("consumer close abandoned after " + std::to_string(timeout_ms) + " ms");
  }
  closer.join();
  const rd_kafka_resp_err_t e = done.get();
  sources_.clear();
  for (auto* q : worker_queues_) rd_kafka_queue_destroy(q);
  worker_queues_.clear();
  if (queue_) rd_kafka_queue_destroy(queue_);
  if (destroy_would_abort && !callbacks_->assigned) {
    Log(Component::kKafka).warn("the consumer was stopped between its group's JoinGroup and SyncGroup answers; its "
                                "handle is left for the process's exit, since destroying it there aborts in "
                                "librdkafka before 2.3.0 (librdkafka#4312). State and offsets are stored.");
#if FEATMON_LEAK_CHECKED
    __lsan_ignore_object(rk_);  // left on purpose, with what it holds
#endif
  } else {
    rd_kafka_destroy(rk_);
  }
  rk_ = nullptr;
  if (e) return Status::IOError(std::string("closing consumer: ") + rd_kafka_err2str(e));
  return Status::Ok();
}

bool KafkaConsumer::DestroyWouldAbort() const {
  // Before 2.3.0, the cooperative-sticky assignor's state is created at the
  // first SyncGroup answer but freed, without a null check, whenever a
  // JoinGroup has answered (rdkafka_cgrp.c, rd_kafka_cgrp_destroy_final,
  // 2.0.2). The protocol is "NONE" until a JoinGroup answers; an assignment
  // reaches our rebalance callback once a SyncGroup has. The protocol is
  // asked of the group's thread, which stops answering once closed (NULL),
  // so this runs before the close; one that assigns meanwhile is checked
  // again after it.
  if (rd_kafka_version() >= 0x020300ff || callbacks_->assigned) return false;
  const char* protocol = rd_kafka_rebalance_protocol(rk_);
  return protocol != nullptr && std::strcmp(protocol, "COOPERATIVE") == 0;
}

Result<std::unique_ptr<KafkaTopicProducer>> KafkaTopicProducer::Create(const KafkaClientOptions& options,
                                                                       std::string topic, size_t max_payload_bytes) {
  std::unique_ptr<KafkaTopicProducer> p(new KafkaTopicProducer());
  p->topic_ = std::move(topic);
  p->max_payload_bytes_ = max_payload_bytes;
  auto rk = NewIdempotentProducer(options, {{"linger.ms", "20"}}, "producer for " + p->topic_, p.get(),
                                  &KafkaTopicProducer::DeliveryCb);
  if (!rk.ok()) return rk.status();
  p->rk_ = *rk;
  return p;
}

KafkaTopicProducer::~KafkaTopicProducer() {
  if (!rk_) return;
  rd_kafka_flush(rk_, 5000);
  rd_kafka_destroy(rk_);
  if (!undelivered_.empty())
    Log(Component::kKafka).error("{} records to {} were never delivered; the offsets that passed them were not committed",
                                 undelivered_.size(), topic_);
}

// Runs inside rd_kafka_poll or rd_kafka_flush, on the thread that called them.
void KafkaTopicProducer::DeliveryCb(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
  if (!msg->err) return;
  auto* self = static_cast<KafkaTopicProducer*>(opaque);
  Record r;
  if (msg->key) r.key.assign(static_cast<const char*>(msg->key), msg->key_len);
  if (msg->payload) r.value.assign(static_cast<const char*>(msg->payload), msg->len);
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(msg, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name;
    const void* value;
    size_t size;
    for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i)
      r.headers.emplace_back(name, std::string(static_cast<const char*>(value), size));
  }
  self->Keep(std::move(r), std::string("delivery failed: ") + rd_kafka_err2str(msg->err));
}

void KafkaTopicProducer::Keep(Record record, const std::string& why) {
  std::lock_guard lock(mu_);
  if (last_error_ != why) Log(Component::kKafka).error("{} to {}: kept to be produced again", why, topic_);
  last_error_ = why;
  undelivered_.push_back(std::move(record));
}

size_t KafkaTopicProducer::undelivered() const {
  std::lock_guard lock(mu_);
  return undelivered_.size();
}

Status KafkaTopicProducer::Send(const InputMessage& msg, std::string_view reason, std::string_view detail) {
  constexpr size_t kMaxKeyBytes = 4096, kMaxDetailBytes = 1024;
  Record r;
  r.key = msg.key.substr(0, kMaxKeyBytes);
  r.value = msg.payload.substr(0, max_payload_bytes_);
  r.headers = {{"featmon.reason", std::string(reason)},
               {"featmon.error", std::string(detail.substr(0, kMaxDetailBytes))},
               {"featmon.source.topic", std::string(msg.topic)},
               {"featmon.source.partition", std::to_string(msg.partition)},
               {"featmon.source.offset", std::to_string(msg.offset)}};
  std::string truncated;
  if (msg.key.size() > r.key.size()) {
    truncated = "key";
    r.headers.emplace_back("featmon.original.key_bytes", std::to_string(msg.key.size()));
  }
  if (msg.payload.size() > r.value.size()) {
    truncated += truncated.empty() ? "payload" : ",payload";
    r.headers.emplace_back("featmon.original.payload_bytes", std::to_string(msg.payload.size()));
  }
  if (!truncated.empty()) r.headers.emplace_back("featmon.truncated", truncated);
  Enqueue(std::move(r));
  return Status::Ok();
}

Status KafkaTopicProducer::Produce(std::string_view key, std::string_view value) {
  Enqueue({std::string(key), std::string(value), {}});
  return Status::Ok();
}

rd_kafka_resp_err_t KafkaTopicProducer::TryProduce(const Record& r) {
  rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
  for (int attempt = 0;; ++attempt) {
    rd_kafka_headers_t* h = nullptr;
    if (!r.headers.empty()) {
      h = rd_kafka_headers_new(r.headers.size());
      for (const auto& [name, value] : r.headers)
        rd_kafka_header_add(h, name.data(), static_cast<ssize_t>(name.size()), value.data(), static_cast<ssize_t>(value.size()));
    }
    e = h ? rd_kafka_producev(rk_, RD_KAFKA_V_TOPIC(topic_.c_str()),
                              RD_KAFKA_V_VALUE(const_cast<char*>(r.value.data()), r.value.size()),
                              RD_KAFKA_V_KEY(const_cast<char*>(r.key.data()), r.key.size()),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END)
          : rd_kafka_producev(rk_, RD_KAFKA_V_TOPIC(topic_.c_str()),
                              RD_KAFKA_V_VALUE(const_cast<char*>(r.value.data()), r.value.size()),
                              RD_KAFKA_V_KEY(const_cast<char*>(r.key.data()), r.key.size()),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (e && h) rd_kafka_headers_destroy(h);  // ownership passes to librdkafka only on success
    if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || attempt > 100) break;
    rd_kafka_poll(rk_, 10);  // local queue full: let deliveries drain
  }
  return e;
}

void KafkaTopicProducer::Enqueue(Record record) {
  if (rd_kafka_resp_err_t e = TryProduce(record); e) {
    Keep(std::move(record), std::string("produce failed: ") + rd_kafka_err2str(e));
    return;
  }
  rd_kafka_poll(rk_, 0);  // serves delivery reports
}

Status KafkaTopicProducer::Flush(int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    std::vector<Record> again;
    {
      std::lock_guard lock(mu_);
      again.swap(undelivered_);
    }
    for (Record& r : again) Enqueue(std::move(r));
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    const rd_kafka_resp_err_t e = rd_kafka_flush(rk_, static_cast<int>(std::max<int64_t>(0, left.count())));
    {
      std::lock_guard lock(mu_);
      if (e == RD_KAFKA_RESP_ERR_NO_ERROR && undelivered_.empty()) {
        last_error_.clear();
        return Status::Ok();
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        const size_t in_flight = static_cast<size_t>(std::max(0, rd_kafka_outq_len(rk_)));
        return Status::Unavailable(std::to_string(undelivered_.size() + in_flight) + " records to " + topic_ +
                                   " not delivered yet" + (last_error_.empty() ? "" : " (" + last_error_ + ")"));
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // a record refused at once: not a hot loop
  }
}

}  // namespace featmon
