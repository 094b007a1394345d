#include "daemon/ingest/ingest_pipeline.h"

#include "cluster/key_partitioner.h"
#include "daemon/ingest/rekeyed_event.h"
#include "daemon/logging/log.h"

#include <algorithm>
#include <set>

namespace featmon {

namespace {
constexpr int64_t kRejectLogIntervalNs = 10'000'000'000;  // one log line per reason per 10 s
constexpr int kDeadLetterFlushMs = 10'000;
// Applied events are stamped visible in groups of this many, so the clock is
// read once per group; a group takes well under a millisecond.
constexpr uint64_t kVisibilityMarkEvery = 64;
// Standbys: which tasks they are is asked this often; each loop applies at
// most this many changelog records, so ingest waits little for them.
constexpr int64_t kStandbyAskNs = 500'000'000;
constexpr size_t kStandbyRecordsPerStep = 5'000;
constexpr int64_t kStandbyErrorLogNs = 30'000'000'000;
// While a task restores in the background, a loop waits this long for its
// changelog records and not at all for input.
constexpr int kRestoreWaitMs = 10;

double Seconds(int64_t ns) { return static_cast<double>(ns) / 1e9; }
}  // namespace

IngestPipeline::IngestPipeline(IngestPipelineOptions options, const FeatureSet* features, StateStore* store,
                               DeadLetterSink* dead_letters, Metrics* metrics, const Clock* clock)
    : options_(std::move(options)),
      checkpoints_(options_.views_topic, options_.clicks_topic, options_.items_topic),
      features_(features),
      engine_(features),
      store_(store),
      dead_letters_(dead_letters),
      metrics_(metrics),
      clock_(clock),
      revoked_cleanup_(options_.state_cleanup_delay_ms),
      decoder_(options_.decoder),
      gate_(kDeadLetterFlushMs),
      health_(metrics, clock, Component::kIngest, "ingest"),
      held_(metrics, clock, Component::kIngest, "ingest", StallHealth::Operation::kHold),
      read_to_visible_(&metrics->ReadToVisible(), Metrics::ReadToVisibleBuckets()) {
  dead_letter_sink_ = gate_.AddSink([this](int ms) { return dead_letters_->Flush(ms); });
  last_commit_ns_ = clock_->MonotonicNs();
  cache_.reserve(std::min<size_t>(options_.cache_max_entities, 1 << 20));  // no rehash storms while warming up
  for (const std::string& topic : checkpoints_.inputs()) {
    metrics_->EventsConsumed(topic);
    metrics_->EventsLateDropped(topic);
    for (RejectReason r : kAllRejectReasons)
      reject_counters_[{topic, r}] = &metrics_->EventsRejected(topic, std::string(RejectReasonName(r)));
  }
}

void IngestPipeline::set_repartition(RepartitionSink* sink) {
  repartition_ = sink;
  repartition_sink_ = gate_.AddSink([this](int ms) { return repartition_->Flush(ms); });
}

std::vector<TopicPartition> IngestPipeline::TaskCheckpointNames(int32_t task) const {
  return checkpoints_.Names(task, task_count_.load(std::memory_order_relaxed));
}

IngestPipeline::~IngestPipeline() {
  {
    std::lock_guard lock(cache_mu_);
    cache_.clear();
    cache_bytes_ = 0;
  }
  ReportCacheSize();  // take this pipeline's share out of the shared gauge
  for (const auto& [key, gauge] : copy_gauges_) metrics_->RemoveChangelogCopyBehind(gauge);
}

Status IngestPipeline::RunOnce(int poll_timeout_ms) {
  if (changelog_ && changelog_->has_follower()) {
    KeepStandbys(changelog_restoring_);
    // Not while the held batch has messages left: a task's inputs resume
    // with nothing fetched before still to process.
    if (changelog_restoring_ && batch_.done()) FinishRestores();
  }
  if (revoked_cleanup_.waiting()) DeleteRevokedState();
  if (health_.stalled()) {
    Status st = Commit();
    if (!st.ok()) return st;
  }
  // the caller logs a failed poll and backs off; it is not a commit failure
  if (Status st = batch_.Refill(source_, options_.poll_batch, changelog_restoring_ ? 0 : poll_timeout_ms, clock_);
      !st.ok())
    return st;
  Status st = ProcessBatch();
  UpdateRestoring();
  CountBatch();
  if (!st.ok()) {
    Status failed = held_.Failed(st);
    PublishSnapshot();  // /v1/status and /readyz show it
    return failed;
  }
  held_.Succeeded();
  const bool interval_up = clock_->MonotonicNs() - last_commit_ns_ >= options_.commit_interval_ms * 1'000'000;
  const bool cache_full = cache_.size() > options_.cache_max_entities * 2 || cache_bytes_ > options_.cache_max_bytes * 2;
  if (interval_up || cache_full) return Commit();  // a commit makes entries clean, so they can be dropped
  return Status::Ok();
}

// The rest of the batch, stopping at a message that cannot be processed; its
// bytes stay valid, since the source is not polled again until it is.
Status IngestPipeline::ProcessBatch() {
  Status st;
  for (uint64_t n = 1; !batch_.done(); batch_.Advance(), ++n) {
    const InputMessage& msg = batch_.next();
    Partition* p = partitions_.Find(msg.topic, msg.partition);
    if (!p) continue;  // not (or no longer) ours
    if (p->restore_until == PartitionStatus::kRestoreFromChangelog) continue;  // paused: none should come
    st = Process(msg, p);
    if (!st.ok()) break;
    if (n % kVisibilityMarkEvery == 0) MarkApplied();
  }
  MarkApplied();
  return st;
}

void IngestPipeline::MarkApplied() {
  if (applied_since_mark_ == 0) return;
  if (options_.lookups_read_cache) {
    read_to_visible_.Add(Seconds(clock_->MonotonicNs() - batch_.polled_at_ns()), applied_since_mark_);
  } else if (!awaiting_commit_.empty() && awaiting_commit_.back().first == batch_.polled_at_ns()) {
    awaiting_commit_.back().second += applied_since_mark_;
  } else {
    awaiting_commit_.emplace_back(batch_.polled_at_ns(), applied_since_mark_);
  }
  applied_since_mark_ = 0;
}

void IngestPipeline::MarkCommittedVisible() {
  const int64_t now = clock_->MonotonicNs();
  for (const auto& [polled_ns, events] : awaiting_commit_) read_to_visible_.Add(Seconds(now - polled_ns), events);
  awaiting_commit_.clear();
  read_to_visible_.Flush();
}

// Per-event counts go to the shared counters once per batch.
void IngestPipeline::CountBatch() {
  uint64_t consumed = 0, late = 0;
  for (auto& p : partitions_) {
    if (p->pending_consumed) p->consumed_counter->Increment(static_cast<double>(p->pending_consumed));
    if (p->pending_late) p->late_counter->Increment(static_cast<double>(p->pending_late));
    if (p->pending_off_partition) p->off_partition_counter->Increment(static_cast<double>(p->pending_off_partition));
    consumed += p->pending_consumed;
    late += p->pending_late;
    p->pending_consumed = p->pending_late = p->pending_off_partition = 0;
  }
  consumed_total_ += consumed;
  late_total_ += late;
  read_to_visible_.Flush();
}

// Everything a message changes happens only once it cannot fail any more:
// both entities are loaded first, so a failed read changes nothing and the
// message is tried again.
Status IngestPipeline::Process(const InputMessage& msg, Partition* p) {
  if (p->cp.Done(msg.offset)) return Status::Ok();  // already in the state
  if (p->rekeyed) {
    if (Status st = ProcessRekeyed(msg, p); !st.ok()) return st;
    p->cp.Processed(msg.offset);
    ++p->consumed;
    ++p->pending_consumed;
    return Status::Ok();
  }
  auto decoded = decoder_.Decode(p->type, msg.payload, batch_.polled_at_ms());
  if (auto* rejection = std::get_if<Rejection>(&decoded)) {
    if (Status st = Reject(msg, p, rejection->reason, rejection->detail); !st.ok()) return st;
  } else {
    const Event& event = std::get<Event>(decoded);
    CheckPartition(msg, event, p);
    if (Status st = ProcessEvent(msg, event, p); !st.ok()) return st;
  }
  p->cp.Processed(msg.offset);
  ++p->consumed;
  ++p->pending_consumed;
  return Status::Ok();
}

// The steps that can fail come first: loading the entities this task
// applies the event to, then (with a repartition topic) sending its item's
// part, so a message tried again is neither applied nor sent twice by this
// pipeline. The items side judges lateness itself: a late event is still sent.
Status IngestPipeline::ProcessEvent(const InputMessage& msg, const Event& event, Partition* p) {
  const bool late = features_->IsLate(event.type, event.ts_ms, p->cp.stream_time_ms);
  const bool rekey = repartition_ && !features_->series(EntityKind::kItem).empty();
  CacheEntry* entries[kEntityKindCount] = {nullptr, nullptr};
  for (EntityKind kind : {EntityKind::kUser, EntityKind::kItem}) {
    if (late || features_->series(kind).empty() || (kind == EntityKind::kItem && repartition_)) continue;
    auto entry = Load(kind, p->shard, event.EntityId(kind));
    if (!entry.ok()) return entry.status();
    entries[static_cast<int>(kind)] = *entry;
  }
  if (rekey) {
    const int tasks = task_count_.load(std::memory_order_relaxed);
    if (tasks <= 0) return Status::Unavailable("re-keying by item before the inputs' partition count is known");
    EncodeRekeyedEvent(p->type, msg.partition, msg.offset, msg.payload, &rekeyed_);
    if (Status st = repartition_->Send(KafkaDefaultPartition(event.item_id, tasks), event.item_id, rekeyed_); !st.ok())
      return st;
    gate_.Sent(repartition_sink_);
  }
  if (late) {
    ++p->pending_late;
    return Status::Ok();
  }
  {
    std::lock_guard lock(cache_mu_);
    for (EntityKind kind : {EntityKind::kUser, EntityKind::kItem}) {
      if (CacheEntry* entry = entries[static_cast<int>(kind)]) engine_.Apply(event, kind, &entry->state, &entry->changes);
    }
  }
  ++applied_since_mark_;
  p->cp.stream_time_ms = std::max(p->cp.stream_time_ms, event.ts_ms);
  return Status::Ok();
}

Status IngestPipeline::ProcessRekeyed(const InputMessage& msg, Partition* p) {
  auto rekeyed = DecodeRekeyedEvent(msg.payload);
  if (!rekeyed)
    return Reject(msg, p, RejectReason::kDecodeError,
                  "not an event re-keyed by featmond: kafka.item_repartition_topic is featmond's own, nothing else "
                  "may write to it");
  if (rekeyed->partition >= p->tasks_at_marks)
    return Reject(msg, p, RejectReason::kDecodeError,
                  "re-keyed from source partition " + std::to_string(rekeyed->partition) + ", but the inputs had " +
                      std::to_string(p->tasks_at_marks) + " partitions when this one was assigned");
  int64_t& next = p->source_next[TaskCheckpoints::MarkIndex(rekeyed->type, rekeyed->partition, p->tasks_at_marks)];
  if (rekeyed->offset < next) {
    // Applied already: sent again by a restart or a zombie.
    if (!p->warned_resent)
      Log(Component::kIngest).info("{}/{}@{}: skipping events re-keyed again ({}/{}@{}, applied up to {}); logged "
                                   "once per assignment", msg.topic, msg.partition, msg.offset,
                                   rekeyed->type == EventType::kClick ? options_.clicks_topic : options_.views_topic,
                                   rekeyed->partition, rekeyed->offset, next);
    p->warned_resent = true;
    return Status::Ok();
  }
  auto decoded = decoder_.Decode(rekeyed->type, rekeyed->payload, batch_.polled_at_ms());
  if (auto* rejection = std::get_if<Rejection>(&decoded)) {
    if (Status st = Reject(msg, p, rejection->reason, rejection->detail); !st.ok()) return st;
  } else {
    const Event& event = std::get<Event>(decoded);
    if (features_->IsLate(event.type, event.ts_ms, p->cp.stream_time_ms)) {
      ++p->pending_late;
    } else {
      auto item = Load(EntityKind::kItem, p->shard, event.item_id);
      if (!item.ok()) return item.status();
      {
        std::lock_guard lock(cache_mu_);
        engine_.Apply(event, EntityKind::kItem, &(*item)->state, &(*item)->changes);
      }
      ++applied_since_mark_;
      p->cp.stream_time_ms = std::max(p->cp.stream_time_ms, event.ts_ms);
    }
  }
  next = rekeyed->offset + 1;
  p->marks_dirty = true;
  return Status::Ok();
}

Status IngestPipeline::LoadRekeyMarks(Partition* p) {
  p->marks_dirty = false;
  const int tasks = task_count_.load(std::memory_order_relaxed);
  if (tasks <= 0) return Status::Internal("a partition of the repartition topic assigned before the task count is known");
  p->tasks_at_marks = tasks;
  p->source_next.assign(2 * static_cast<size_t>(tasks), -1);
  for (size_t i = 0; i < p->source_next.size(); ++i) {
    PartitionCheckpoint mark;
    auto stored = LoadCheckpoint(store_, checkpoints_.MarkName(i, tasks, p->cp.tp.partition), &mark);
    if (!stored.ok()) return stored.status();
    if (*stored) p->source_next[i] = mark.next_offset;
  }
  return Status::Ok();
}

void IngestPipeline::AppendMovedRekeyMarks(std::vector<std::pair<TopicPartition, Checkpoint>>* out) {
  for (const auto& p : partitions_)
    if (p->rekeyed && p->marks_dirty) AppendRekeyMarks(*p, out);
}

void IngestPipeline::AppendRekeyMarks(const Partition& p,
                                      std::vector<std::pair<TopicPartition, Checkpoint>>* out) const {
  for (size_t i = 0; i < p.source_next.size(); ++i)
    if (p.source_next[i] >= 0)
      out->emplace_back(checkpoints_.MarkName(i, p.tasks_at_marks, p.cp.tp.partition), Checkpoint{p.source_next[i], 0});
}

void IngestPipeline::CheckPartition(const InputMessage& msg, const Event& event, Partition* p) {
  const int tasks = task_count_.load(std::memory_order_relaxed);
  if (tasks <= 0) return;
  const int32_t expected = KafkaDefaultPartition(event.user_id, tasks);
  if (expected == msg.partition) return;
  ++p->pending_off_partition;
  off_partition_total_.fetch_add(1, std::memory_order_relaxed);
  if (p->warned_off_partition) return;
  p->warned_off_partition = true;
  Log(Component::kIngest).warn(
      "{}/{}@{} holds an event of user '{}', whose partition under Kafka's default partitioner (murmur2 of the "
      "user_id) is {} of {}: its producer does not key by user_id with that partitioner (librdkafka: "
      "partitioner=murmur2_random; Java: the default), so lookups routed by that rule go to an instance that "
      "answers 503 for this user. Counted in featmon_events_off_partition_total; logged once per partition.",
      msg.topic, msg.partition, msg.offset, event.user_id, expected, tasks);
}

Result<IngestPipeline::CacheEntry*> IngestPipeline::Load(EntityKind kind, ShardId shard, std::string_view id) {
  std::string key = EntityKey(shard, kind, id);
  auto it = cache_.find(key);
  if (it == cache_.end()) {
    auto stored = store_->Get(shard, kind, id);
    if (!stored.ok()) {
      metrics_->StoreReadFailures().Increment();
      return stored.status();
    }
    CacheEntry entry;
    if (stored->has_value()) {
      Status decoded = DecodeEntityState(*features_, kind, **stored, &entry.state);
      entry.stored = decoded.ok();
      if (!decoded.ok()) {  // its next commit writes a whole state over the bad one
        if (Status kept = KeepAside(key, **stored, decoded); !kept.ok()) return kept;
        entry.state = NewEntityState(*features_, kind);
      }
    } else {
      entry.state = NewEntityState(*features_, kind);
      store_->AnnounceEntity(shard, kind, id);  // before lookups can find it in the cache
    }
    entry.bytes = EntryBytes(key, entry.state);
    cache_bytes_ += entry.bytes;
    std::lock_guard lock(cache_mu_);
    it = cache_.emplace(std::move(key), std::move(entry)).first;
  }
  MarkDirty(&*it);  // the caller applies an event to it
  return &it->second;
}

Status IngestPipeline::KeepAside(const std::string& key, std::string_view value, const Status& why) {
  if (Status st = store_->Quarantine(key, value, why.ToString()); !st.ok()) return st;
  metrics_->StateQuarantined().Increment();
  const auto parts = ParseEntityKey(key);
  Log(Component::kIngest).error(
      "stored state of {} {} in shard {} does not decode ({}); its {} bytes are kept in the quarantine column family "
      "and the entity starts afresh",
      EntityKindName(parts->kind), parts->id, parts->shard, why.ToString(), value.size());
  return Status::Ok();
}

uint32_t IngestPipeline::EntryBytes(const std::string& key, const EntityState& state) {
  constexpr size_t kNodeOverhead = 3 * sizeof(void*);  // the node's next pointer and hash, its bucket
  const size_t key_heap = key.capacity() > 15 ? key.capacity() + 1 : 0;
  return static_cast<uint32_t>(sizeof(Cache::value_type) + kNodeOverhead + key_heap + ApproximateMemory(state));
}

void IngestPipeline::MarkDirty(Cache::value_type* node) {
  node->second.recent = true;
  if (node->second.dirty) return;
  node->second.dirty = true;
  dirty_.push_back(node);
}

Status IngestPipeline::Reject(const InputMessage& msg, Partition* p, RejectReason reason, const std::string& detail) {
  // Not counted, and the message not processed, until its dead letter is queued.
  if (Status st = dead_letters_->Send(msg, RejectReasonName(reason), detail); !st.ok()) return st;
  gate_.Sent(dead_letter_sink_);
  reject_counters_[{p->cp.tp.topic, reason}]->Increment();
  ++rejected_total_;
  const int64_t now = clock_->MonotonicNs();
  if (now - last_reject_log_ns_[reason] >= kRejectLogIntervalNs) {
    Log(Component::kIngest).warn("rejected {}/{}@{}: {}: {} ({} similar messages not logged)", msg.topic, msg.partition, msg.offset,
                 RejectReasonName(reason), detail, suppressed_logs_[reason]);
    last_reject_log_ns_[reason] = now;
    suppressed_logs_[reason] = 0;
  } else {
    ++suppressed_logs_[reason];
  }
  return Status::Ok();
}

bool IngestPipeline::HasStateToWrite(const CacheEntry& entry) { return entry.stored || !entry.state.empty(); }

Status IngestPipeline::Commit() {
  const int64_t start = clock_->MonotonicNs();
  last_commit_ns_ = start;
  CommitBatch batch;
  batch.checkpoints = partitions_.DirtyCheckpoints([](const TopicPartition& tp) { return tp; });
  AppendMovedRekeyMarks(&batch.checkpoints);
  if (batch.checkpoints.empty() && dirty_.empty()) {
    UpdateLag();
    return Status::Ok();
  }
  if (Status st = gate_.Open(); !st.ok()) return FailCommit(st);
  // Sorted keys let RocksDB's skiplist reuse its last insert position
  // (its sequential-insert splice): far fewer comparisons than random order.
  std::sort(dirty_.begin(), dirty_.end(), [](const auto* a, const auto* b) { return a->first < b->first; });
  // A stored entity gets a delta of what changed (for a hot item, its
  // current tile); a new one its whole state.
  batch.entities.reserve(dirty_.size());
  for (const auto* node : dirty_) {
    const auto& [key, entry] = *node;
    if (!HasStateToWrite(entry)) continue;
    EntityWrite& w = batch.entities.emplace_back();
    w.key = key;
    w.delta = entry.stored;
    const EntityKind kind = ParseEntityKey(key)->kind;
    if (w.delta) EncodeEntityDelta(*features_, kind, entry.state, entry.changes, &w.value);
    else EncodeEntityState(*features_, kind, entry.state, &w.value);
  }
  if (changelog_) {
    std::vector<int32_t> taken_over;
    if (Status st = changelog_->Ship(ChangelogCommits(batch), &batch.changelog_positions, &taken_over); !st.ok())
      return FailCommit(st);
    if (!taken_over.empty()) GiveUpTakenOverTasks(taken_over, &batch);
  }
  if (Status st = store_->Commit(batch); !st.ok()) return FailCommit(st);
  health_.Succeeded(start);
  ++commits_;
  for (auto* node : dirty_) {
    CacheEntry& entry = node->second;
    const uint32_t bytes = EntryBytes(node->first, entry.state);  // events since the last commit grew it
    cache_bytes_ = cache_bytes_ - entry.bytes + bytes;
    entry.bytes = bytes;
    entry.dirty = false;
    entry.changes = StateChanges{};
    entry.stored = entry.stored || !entry.state.empty();
  }
  dirty_.clear();
  for (auto& p : partitions_) p->marks_dirty = false;
  MarkCommittedVisible();
  const auto offsets = partitions_.MarkCommitted();
  if (source_) source_->CommitForMonitoring(offsets);
  Evict();
  ReportCacheSize();
  UpdateLag();
  return Status::Ok();
}

std::map<int32_t, StateChangelog::TaskCommit> IngestPipeline::ChangelogCommits(const CommitBatch& batch) {
  std::map<int32_t, StateChangelog::TaskCommit> commits;
  std::map<ShardId, int32_t> task_of;
  for (const auto& p : partitions_) task_of[p->shard] = p->cp.tp.partition;
  for (const auto& [tp, cp] : batch.checkpoints) (void)commits[tp.partition];
  // batch.entities holds dirty_'s entries in dirty_'s order, less those
  // without HasStateToWrite.
  size_t i = 0;
  for (const auto* node : dirty_) {
    const auto& [key, entry] = *node;
    if (!HasStateToWrite(entry)) continue;
    const EntityWrite& w = batch.entities[i++];
    auto parts = ParseEntityKey(key);
    auto task = task_of.find(parts->shard);
    if (task == task_of.end()) continue;
    // The changelog needs whole states; a new entity's is already encoded.
    std::string value;
    if (w.delta) EncodeEntityState(*features_, parts->kind, entry.state, &value);
    else value = w.value;
    commits[task->second].states.emplace_back(key, std::move(value));
  }
  for (const auto& p : partitions_) {
    auto c = commits.find(p->cp.tp.partition);
    if (c == commits.end()) continue;
    if (p->cp.next_offset >= 0)
      c->second.checkpoints.emplace_back(p->cp.tp, Checkpoint{p->cp.next_offset, p->cp.stream_time_ms});
    // The marks go whole: a restore takes the head's as the task's.
    if (p->rekeyed) AppendRekeyMarks(*p, &c->second.checkpoints);
  }
  return commits;
}

// Offsets stay where they are; RunOnce retries the commit before polling again.
Status IngestPipeline::FailCommit(const Status& st) {
  Status failed = health_.Failed(st);
  PublishSnapshot();  // /v1/status shows the error
  return failed;
}

// Everything is clean after a commit. Entries used since the last sweep are
// spared once, so hot items stay and idle users go; down to 90% of the budget.
void IngestPipeline::Evict() {
  if (cache_.size() <= options_.cache_max_entities && cache_bytes_ <= options_.cache_max_bytes) return;
  const size_t max_entities = options_.cache_max_entities * 9 / 10, max_bytes = options_.cache_max_bytes * 9 / 10;
  auto over = [&] { return cache_.size() > max_entities || cache_bytes_ > max_bytes; };
  std::lock_guard lock(cache_mu_);
  for (int pass = 0; pass < 2 && over(); ++pass) {
    for (auto it = cache_.begin(); it != cache_.end() && over();) {
      if (it->second.recent && pass == 0) {
        it->second.recent = false;
        ++it;
        continue;
      }
      cache_bytes_ -= it->second.bytes;
      it = cache_.erase(it);
    }
  }
}

// Several workers share the gauges, so each adds the change in its own size.
void IngestPipeline::ReportCacheSize() {
  const auto size = static_cast<int64_t>(cache_.size());
  metrics_->CacheEntities().Increment(static_cast<double>(size - reported_cache_size_));
  reported_cache_size_ = size;
  const auto bytes = static_cast<int64_t>(cache_bytes_);
  metrics_->CacheBytes().Increment(static_cast<double>(bytes - reported_cache_bytes_));
  reported_cache_bytes_ = bytes;
}

void IngestPipeline::UpdateLag() {
  partitions_.RefreshEnds(source_, clock_->NowMs());
  PublishSnapshot();
}

void IngestPipeline::OnGroupCommitted(const std::vector<TopicPartition>& tps, const std::vector<int64_t>& offsets) {
  for (size_t i = 0; i < tps.size(); ++i) group_committed_[tps[i]] = offsets[i];
}

Status IngestPipeline::OnAssigned(const std::vector<TopicPartition>& tps, std::vector<int64_t>* start_offsets) {
  start_offsets->assign(tps.size(), -1);
  std::vector<std::pair<ShardId, int32_t>> added;  // each new shard with its task
  std::vector<Partition*> added_partitions;
  for (size_t i = 0; i < tps.size(); ++i) {
    const TopicPartition& tp = tps[i];
    revoked_cleanup_.Assigned(tp.partition);  // its local state is in use again
    auto p = std::make_unique<Partition>();
    p->cp.tp = tp;
    if (tp.topic == options_.views_topic) p->type = EventType::kView;
    else if (tp.topic == options_.clicks_topic) p->type = EventType::kClick;
    else if (!options_.items_topic.empty() && tp.topic == options_.items_topic) p->rekeyed = true;
    else return Status::InvalidArgument("assigned unknown topic " + tp.topic);
    auto shard = store_->RegisterShard(tp);
    if (!shard.ok()) return shard.status();
    p->shard = *shard;
    auto stored = LoadCheckpoint(store_, tp, &p->cp);
    if (!stored.ok()) return stored.status();
    if (*stored) (*start_offsets)[i] = p->cp.next_offset;
    if (p->rekeyed)
      if (Status st = LoadRekeyMarks(p.get()); !st.ok()) return st;
    if (auto g = group_committed_.find(tp); g != group_committed_.end()) p->group_committed = g->second;
    if (!changelog_) SetRestoreTarget(p.get());
    p->consumed_counter = &metrics_->EventsConsumed(tp.topic);
    p->late_counter = &metrics_->EventsLateDropped(tp.topic);
    p->off_partition_counter = &metrics_->EventsOffPartition(tp.topic);
    p->cp.lag = &metrics_->ConsumerLag(tp.topic, tp.partition);
    p->cp.event_time_lag = &metrics_->EventTimeLag(tp.topic, tp.partition);
    Log(Component::kIngest).info("assigned {}/{} (shard {}), resuming at {}", tp.topic, tp.partition, p->shard,
                 *stored ? std::to_string(p->cp.next_offset) : std::string("the start"));
    added.emplace_back(p->shard, tp.partition);
    added_partitions.push_back(p.get());
    partitions_.Add(std::move(p));
  }
  std::set<int32_t> tasks;
  for (const Partition* p : added_partitions) tasks.insert(p->cp.tp.partition);
  if (changelog_ && changelog_->has_follower()) {
    // Restored in the background (FinishRestores); their inputs wait, paused.
    if (Status st = changelog_->BeginRestores(tasks); !st.ok()) return st;
    for (int32_t task : tasks)
      for (Partition* p : InputsOf(task)) p->restore_until = PartitionStatus::kRestoreFromChangelog;
    changelog_restoring_ = changelog_restoring_ || !tasks.empty();
  } else if (changelog_) {
    for (int32_t task : tasks) {
      if (Status st = ClaimTask(task, InputsOf(task)); !st.ok()) return st;
      // The restored state is what the previous owner had committed, or behind it.
      for (Partition* p : InputsOf(task)) SetRestoreTarget(p);
    }
  }
  for (size_t i = 0; i < tps.size(); ++i) {
    const Partition* p = partitions_.Find(tps[i].topic, tps[i].partition);
    if (!changelog_ || !p) continue;
    (*start_offsets)[i] = p->restore_until == PartitionStatus::kRestoreFromChangelog ? kStartPaused : p->cp.next_offset;
  }
  group_committed_.clear();
  assigned_count_ = static_cast<int>(partitions_.size());
  UpdateRestoring(added);
  PublishSnapshot();
  return Status::Ok();
}

int64_t IngestPipeline::RestoreTarget(const Partition& p) {
  if (p.group_committed == kGroupCommittedUnknown) return PartitionStatus::kRestoreToPartitionEnd;
  // Another member processed this partition past our state (or we have
  // none): serve it only once we are as far as it had stored.
  if (p.group_committed > std::max<int64_t>(p.cp.next_offset, 0)) return p.group_committed;
  return -1;
}

void IngestPipeline::SetRestoreTarget(Partition* p) {
  p->restore_until = RestoreTarget(*p);
  const TopicPartition& tp = p->cp.tp;
  if (p->restore_until == PartitionStatus::kRestoreToPartitionEnd)
    Log(Component::kIngest).warn("{}/{}: the group's committed offset could not be read: its task's keys are "
                                 "refused (503) until it reaches the partition's end", tp.topic, tp.partition);
  else if (p->restore_until >= 0)
    Log(Component::kIngest).info("{}/{}: the local state is at offset {}, its previous owner had stored {}: its "
                                 "task's keys are refused (503) until it catches up", tp.topic, tp.partition,
                                 std::max<int64_t>(p->cp.next_offset, 0), p->restore_until);
}

std::vector<IngestPipeline::Partition*> IngestPipeline::InputsOf(int32_t task) {
  std::vector<Partition*> out;
  for (auto& p : partitions_)
    if (p->cp.tp.partition == task) out.push_back(p.get());
  return out;
}

Status IngestPipeline::ClaimTask(int32_t task, const std::vector<Partition*>& inputs) {
  std::vector<Checkpoint> checkpoints(inputs.size());
  std::unique_ptr<bool[]> stored(new bool[inputs.size()]);
  std::vector<StateChangelog::Input> restore;
  for (size_t i = 0; i < inputs.size(); ++i) {
    PartitionCheckpoint& cp = inputs[i]->cp;
    // A background restore stored checkpoints as it read: start from those.
    cp.next_offset = cp.committed_offset = -1;
    cp.stream_time_ms = 0;
    auto loaded = LoadCheckpoint(store_, cp.tp, &cp);
    if (!loaded.ok()) return loaded.status();
    checkpoints[i] = {cp.next_offset, cp.stream_time_ms};
    stored[i] = *loaded;
    restore.push_back({cp.tp, inputs[i]->shard, &checkpoints[i], &stored[i]});
  }
  if (Status st = changelog_->Restore(task, restore); !st.ok()) return st;
  for (size_t i = 0; i < inputs.size(); ++i) {
    PartitionCheckpoint& cp = inputs[i]->cp;
    cp.next_offset = cp.committed_offset = stored[i] ? checkpoints[i].next_offset : -1;
    cp.stream_time_ms = stored[i] ? checkpoints[i].stream_time_ms : 0;
    if (inputs[i]->rekeyed)  // the restore stored the marks with its state
      if (Status st = LoadRekeyMarks(inputs[i]); !st.ok()) return st;
  }
  return Status::Ok();
}

Status IngestPipeline::ResumeInputs(int32_t task) {
  std::vector<std::pair<TopicPartition, int64_t>> from;
  for (const Partition* p : InputsOf(task)) from.emplace_back(p->cp.tp, p->cp.next_offset);
  if (source_)
    if (Status st = source_->Resume(from); !st.ok()) return st;  // still paused: FinishRestores tries again
  for (Partition* p : InputsOf(task)) SetRestoreTarget(p);
  return Status::Ok();
}

void IngestPipeline::FinishRestores() {
  std::set<int32_t> waiting;
  for (const auto& p : partitions_)
    if (p->restore_until == PartitionStatus::kRestoreFromChangelog) waiting.insert(p->cp.tp.partition);
  const std::vector<int32_t> caught_up = changelog_->CaughtUpRestores();
  for (int32_t task : waiting) {
    Status st;
    if (changelog_->holds(task)) {
      st = ResumeInputs(task);  // claimed, but its inputs did not resume
    } else if (!changelog_->restoring(task)) {
      st = changelog_->BeginRestores({task});  // its copy was dropped after an error: from the store again
    } else if (std::find(caught_up.begin(), caught_up.end(), task) != caught_up.end()) {
      st = ClaimTask(task, InputsOf(task));
      if (st.ok()) st = ResumeInputs(task);
    }
    if (st.ok()) continue;
    const int64_t now_ns = clock_->MonotonicNs();
    if (now_ns - restore_error_logged_ns_ < kStandbyErrorLogNs) continue;
    restore_error_logged_ns_ = now_ns;
    Log(Component::kIngest).warn("task {}: restoring from the changelog: {}; retrying, its keys are refused (503) "
                                 "meanwhile", task, st.ToString());
  }
  changelog_restoring_ = std::any_of(partitions_.begin(), partitions_.end(), [](const auto& p) {
    return p->restore_until == PartitionStatus::kRestoreFromChangelog;
  });
  UpdateRestoring();
  PublishSnapshot();
}

void IngestPipeline::UpdateRestoring(const std::vector<std::pair<ShardId, int32_t>>& added) {
  std::vector<int32_t> restoring;
  for (auto& p : partitions_) {
    if (p->restore_until == PartitionStatus::kRestoreToPartitionEnd && source_) {
      // Anything the previous owner stored is below the broker's end now.
      for (const PartitionLag& mark : source_->HighWatermarks({p->cp.tp})) {
        if (mark.high_watermark < 0) continue;
        p->restore_until = mark.high_watermark > std::max<int64_t>(p->cp.next_offset, 0) ? mark.high_watermark : -1;
        Log(Component::kIngest).info("{}/{}: restoring up to offset {}, the partition's end", p->cp.tp.topic,
                                     p->cp.tp.partition, mark.high_watermark);
      }
    }
    if (p->restore_until < 0) continue;
    if (p->cp.next_offset >= p->restore_until) {
      Log(Component::kIngest).info("{}/{}: caught up with offset {}, which its previous owner had stored", p->cp.tp.topic,
                                   p->cp.tp.partition, p->restore_until);
      p->restore_until = -1;
      continue;
    }
    restoring.push_back(p->cp.tp.partition);
  }
  std::sort(restoring.begin(), restoring.end());
  restoring.erase(std::unique(restoring.begin(), restoring.end()), restoring.end());
  if (restoring.empty() && added.empty() && !any_restoring_.load()) return;  // after most batches: no lock
  // New shards appear to lookups together with their restoring tasks: never
  // a moment where a restoring task looks served.
  std::lock_guard lock(cache_mu_);
  for (const auto& [shard, task] : added) shard_tasks_[shard] = task;
  any_restoring_ = !restoring.empty();
  restoring_tasks_ = std::move(restoring);
}

std::vector<int32_t> IngestPipeline::RestoringTasks() const {
  if (!any_restoring_.load()) return {};
  std::lock_guard lock(cache_mu_);
  return restoring_tasks_;
}

void IngestPipeline::OnRevoked(const std::vector<TopicPartition>& tps) {
  // IngestWorkers passes every revoked partition: none may be this pipeline's.
  if (std::none_of(tps.begin(), tps.end(), [&](const auto& tp) { return partitions_.Find(tp.topic, tp.partition); }))
    return;
  Status st = Commit();
  if (!st.ok())
    Log(Component::kIngest).error("commit on revoke failed: the revoked partitions are replayed from their last commit "
                                  "by their next owner; the kept ones keep their work and retry: {}", st.ToString());
  const size_t dropped = DropPartitions(tps);
  Log(Component::kIngest).info("revoked {} partitions", dropped);
}

size_t IngestPipeline::DropPartitions(const std::vector<TopicPartition>& tps) {
  std::vector<ShardId> revoked;
  std::set<int32_t> revoked_tasks;
  for (const TopicPartition& tp : tps) {
    if (const Partition* p = partitions_.Find(tp.topic, tp.partition)) {
      revoked.push_back(p->shard);
      revoked_tasks.insert(tp.partition);
    }
  }
  if (revoked.empty()) return 0;
  // The partitions' states may change elsewhere now: forget them, with any
  // work that failed to commit (its offsets were not stored either), and the
  // rest of their messages in the batch. The kept partitions keep their
  // cache, their uncommitted work and their messages.
  ForgetShards(revoked);
  if (changelog_) {
    const int64_t now_ms = clock_->MonotonicNs() / 1'000'000;
    for (int32_t task : revoked_tasks) {
      changelog_->Release(task);
      revoked_cleanup_.Revoked(task, now_ms);
    }
  }
  if (batch_.DropPartitions(tps)) held_.Reset();
  partitions_.Remove(tps, metrics_);
  UpdateRestoring();
  const bool work_left = !dirty_.empty() || std::any_of(partitions_.begin(), partitions_.end(),
                                                         [](const auto& p) { return p->cp.dirty; });
  if (!work_left) {
    health_.Reset();  // the stalled commit's work went with the dropped partitions
    awaiting_commit_.clear();  // replayed, and counted, when read again
  }
  assigned_count_ = static_cast<int>(partitions_.size());
  PublishSnapshot();
  return revoked.size();
}

// A task another instance took over (its changelog claim holds) while this
// one still had it: that one is its owner now, and the group revokes it here
// soon. Its work leaves the commit and the task is given up at once, so the
// rest of this worker's tasks commit instead of failing until the revoke.
void IngestPipeline::GiveUpTakenOverTasks(const std::vector<int32_t>& tasks, CommitBatch* batch) {
  std::vector<TopicPartition> tps;
  std::set<ShardId> shards;
  std::vector<TopicPartition> names;  // every checkpoint of those tasks, the marks too
  for (int32_t task : tasks) {
    for (const std::string& topic : checkpoints_.inputs()) {
      tps.push_back({topic, task});
      if (const Partition* p = partitions_.Find(topic, task)) shards.insert(p->shard);
    }
    for (TopicPartition& name : TaskCheckpointNames(task)) names.push_back(std::move(name));
  }
  std::erase_if(batch->entities, [&](const EntityWrite& w) { return shards.count(ParseEntityKey(w.key)->shard) > 0; });
  std::erase_if(batch->checkpoints, [&](const auto& c) { return std::find(names.begin(), names.end(), c.first) != names.end(); });
  for (int32_t task : tasks)
    Log(Component::kIngest).error("task {}: another instance took it over (its changelog claim holds), so this "
                                  "instance gave it up and dropped its uncommitted work; the group revokes it here, "
                                  "and its new owner serves it", task);
  DropPartitions(tps);
}

Status IngestPipeline::ScheduleCleanupOfStoredTasks(const std::function<bool(int32_t task)>& mine) {
  if (!changelog_) return Status::Ok();
  std::set<int32_t> candidates;  // a task is a partition number of the inputs
  for (const TopicPartition& tp : store_->RegisteredPartitions())
    if ((tp.topic == options_.views_topic || tp.topic == options_.clicks_topic) && mine(tp.partition))
      candidates.insert(tp.partition);
  // Registered shards outlive a deletion: only a task with a changelog
  // position or a checkpoint still has state to delete.
  std::set<int32_t> stored;
  for (int32_t task : candidates) {
    auto position = store_->LoadChangelogPosition(task);
    if (!position.ok()) return position.status();
    bool has_state = position->has_value();
    for (const std::string& topic : checkpoints_.inputs()) {
      if (has_state) break;
      auto checkpoint = store_->LoadCheckpoint({topic, task});
      if (!checkpoint.ok()) return checkpoint.status();
      has_state = checkpoint->has_value();
    }
    if (has_state) stored.insert(task);
  }
  const int64_t now_ms = clock_->MonotonicNs() / 1'000'000;
  for (int32_t task : stored) revoked_cleanup_.Revoked(task, now_ms);
  if (!stored.empty())
    Log(Component::kIngest).info("{} tasks have local state from an earlier run; those not assigned here within "
                                 "ingest.state_cleanup_delay ({} s) will have it deleted", stored.size(),
                                 options_.state_cleanup_delay_ms / 1000);
  return Status::Ok();
}

void IngestPipeline::DeleteRevokedState() {
  const int64_t now_ms = clock_->MonotonicNs() / 1'000'000;
  for (int32_t task : revoked_cleanup_.TakeDue(now_ms)) {
    if (standby_tasks_.count(task)) continue;  // a standby copy, in use
    // A task is partition `task` of each input; the store registered their
    // shards when this pipeline held them.
    std::vector<ShardId> shards;
    Status st;
    for (const std::string& topic : checkpoints_.inputs()) {
      auto shard = store_->RegisterShard({topic, task});
      if (!shard.ok()) {
        st = shard.status();
        break;
      }
      shards.push_back(*shard);
    }
    if (st.ok()) st = store_->DropState(shards, TaskCheckpointNames(task), task);
    if (!st.ok()) {
      Log(Component::kIngest).error("task {}: deleting the local state it held before its revoke or restart failed, "
                                    "retried after ingest.state_cleanup_delay: {}", task, st.ToString());
      revoked_cleanup_.Revoked(task, now_ms);
      continue;
    }
    Log(Component::kIngest).info("task {}: deleted the local state it held before its revoke or this instance's "
                                 "restart (ingest.state_cleanup_delay {} s); held again, it restores its whole "
                                 "changelog",
                                 task, options_.state_cleanup_delay_ms / 1000);
  }
}

void IngestPipeline::KeepStandbys(bool restoring) {
  const int64_t now_ns = clock_->MonotonicNs();
  Status st;
  if (now_ns - standbys_asked_ns_ >= kStandbyAskNs) {
    standbys_asked_ns_ = now_ns;
    std::set<int32_t> tasks = standby_source_ ? standby_source_() : std::set<int32_t>();
    std::set<int32_t> assigned;
    for (const auto& p : partitions_) assigned.insert(p->cp.tp.partition);
    for (int32_t task : assigned) tasks.erase(task);
    for (int32_t task : standby_tasks_)
      if (!tasks.count(task) && !assigned.count(task)) revoked_cleanup_.Revoked(task, now_ns / 1'000'000);
    for (int32_t task : tasks) revoked_cleanup_.Assigned(task);  // its copy is in use
    standby_tasks_ = std::move(tasks);
    st = changelog_->SetStandbys(standby_tasks_);
    PublishSnapshot();  // /v1/status and /v1/cluster show the standbys' progress
  }
  if (st.ok())
    st = restoring ? changelog_->UpdateStandbys(options_.restore_records_per_step, kRestoreWaitMs)
                   : changelog_->UpdateStandbys(kStandbyRecordsPerStep);
  if (!st.ok() && now_ns - standby_error_logged_ns_ >= kStandbyErrorLogNs) {
    standby_error_logged_ns_ = now_ns;
    Log(Component::kIngest).warn("standby tasks: {}; their copies start again from what is stored, and a failover "
                                 "to this instance restores more of their changelogs", st.ToString());
  }
}

void IngestPipeline::ForgetShards(const std::vector<ShardId>& shards) {
  auto revoked = [&](const std::string& key) {
    return std::find(shards.begin(), shards.end(), ParseEntityKey(key)->shard) != shards.end();
  };
  std::erase_if(dirty_, [&](const Cache::value_type* node) { return revoked(node->first); });
  {
    std::lock_guard lock(cache_mu_);
    for (auto it = cache_.begin(); it != cache_.end();) {
      if (!revoked(it->first)) {
        ++it;
        continue;
      }
      cache_bytes_ -= it->second.bytes;
      it = cache_.erase(it);
    }
    for (ShardId s : shards) shard_tasks_.erase(s);
  }
  ReportCacheSize();
}

std::vector<std::pair<ShardId, int32_t>> IngestPipeline::ServingShards() const {
  std::lock_guard lock(cache_mu_);
  std::vector<std::pair<ShardId, int32_t>> out;
  for (const auto& [shard, task] : shard_tasks_)
    if (!std::binary_search(restoring_tasks_.begin(), restoring_tasks_.end(), task)) out.emplace_back(shard, task);
  return out;
}

void IngestPipeline::KeepServing(const std::vector<ShardId>& candidates, std::vector<ShardId>* out) const {
  std::lock_guard lock(cache_mu_);
  for (ShardId shard : candidates) {
    auto it = shard_tasks_.find(shard);
    if (it != shard_tasks_.end() && !std::binary_search(restoring_tasks_.begin(), restoring_tasks_.end(), it->second))
      out->push_back(shard);
  }
}

void IngestPipeline::PublishSnapshot() {
  IngestSnapshot s;
  std::set<int32_t> tasks;
  for (const auto& p : partitions_) {
    tasks.insert(p->cp.tp.partition);
    const PartitionCheckpoint& cp = p->cp;
    s.partitions.push_back({cp.tp, cp.committed_offset, cp.next_offset, cp.high_watermark, cp.stream_time_ms,
                            p->restore_until, p->consumed});
  }
  s.consumed_total = consumed_total_;
  s.rejected_total = rejected_total_;
  s.late_dropped_total = late_total_;
  s.commits = commits_;
  if (changelog_) {
    s.standbys = changelog_->Standbys();
    s.changelog_restores = changelog_->Restores();
    ReportChangelogCopies(s);
  }
  s.last_error = health_.error();
  if (s.last_error.empty()) s.last_error = held_.error();
  held_tasks_ = static_cast<int>(tasks.size());
  std::lock_guard lock(snapshot_mu_);
  snapshot_ = std::move(s);
}

void IngestPipeline::ReportChangelogCopies(const IngestSnapshot& s) {
  std::map<std::pair<int32_t, bool>, prometheus::Gauge*> now;
  for (bool restoring : {false, true}) {
    for (const StandbyStatus& copy : restoring ? s.changelog_restores : s.standbys) {
      const auto key = std::make_pair(copy.task, restoring);
      prometheus::Gauge* gauge = nullptr;
      if (auto it = copy_gauges_.find(key); it != copy_gauges_.end()) {
        gauge = it->second;
        copy_gauges_.erase(it);
      } else {
        gauge = &metrics_->ChangelogCopyBehind(copy.task, restoring ? "restoring" : "standby");
      }
      if (copy.end_offset >= 0) gauge->Set(static_cast<double>(std::max<int64_t>(0, copy.end_offset - copy.next_offset)));
      now[key] = gauge;
    }
  }
  for (const auto& [key, gauge] : copy_gauges_) metrics_->RemoveChangelogCopyBehind(gauge);
  copy_gauges_ = std::move(now);
}

void IngestPipeline::CopyCached(EntityKind kind, std::string_view id, const std::vector<ShardId>& shards,
                                std::vector<std::pair<ShardId, EntityState>>* out) const {
  std::string key = EntityKey(0, kind, id);
  std::lock_guard lock(cache_mu_);
  for (ShardId shard : shards) {
    if (!shard_tasks_.count(shard)) continue;
    SetEntityKeyShard(shard, &key);
    if (auto it = cache_.find(key); it != cache_.end()) out->emplace_back(shard, it->second.state);
  }
}

IngestSnapshot IngestPipeline::Snapshot() const {
  std::lock_guard lock(snapshot_mu_);
  return snapshot_;
}

}  // namespace featmon
