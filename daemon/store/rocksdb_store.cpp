#include "daemon/store/rocksdb_store.h"

#include <rocksdb/compaction_filter.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/rate_limiter.h>
#include <rocksdb/statistics.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <filesystem>
#include <sys/statvfs.h>

#include "common/byte_codec.h"
#include "daemon/store/entity_merge_operator.h"
#include "features/entity_state.h"

namespace featmon {

namespace {

constexpr char kFormatKey[] = "format";
// v2: entity states may carry merge operands (deltas), which featmond before
// v2 cannot read; a v1 directory is read as it is and marked v2 at open.
constexpr char kFormatValue[] = "featmon-state-v2";
constexpr char kFormatV1[] = "featmon-state-v1";
constexpr char kShardPrefix[] = "shard/";
constexpr char kCheckpointPrefix[] = "ckpt/";
constexpr char kChangelogPrefix[] = "changelog/";
constexpr char kHoldsEveryTaskKey[] = "holds_every_task";

std::string ChangelogPositionKey(int32_t task) { return kChangelogPrefix + std::to_string(task); }

std::string PartitionKey(const char* prefix, const TopicPartition& tp) {
  return std::string(prefix) + tp.topic + "/" + std::to_string(tp.partition);
}

Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::Ok();
  if (s.IsCorruption()) return Status::Corruption(what + ": " + s.ToString());
  if (s.IsNoSpace()) return Status::NoSpace(what + ": " + s.ToString());
  return Status::IOError(what + ": " + s.ToString());
}

// Drops entity states whose latest event is older than the TTL. Stateless and
// exception-free, so RocksDB may call it from any compaction thread.
class ExpiryFilter final : public rocksdb::CompactionFilter {
 public:
  ExpiryFilter(const Clock* clock, int64_t ttl_ms) : clock_(clock), ttl_ms_(ttl_ms) {}
  bool Filter(int, const rocksdb::Slice&, const rocksdb::Slice& value, std::string*, bool*) const override {
    int64_t last_ts;
    if (ttl_ms_ <= 0 || !PeekLastEventTs(std::string_view(value.data(), value.size()), &last_ts)) return false;
    return clock_->NowMs() - last_ts > ttl_ms_;
  }
  const char* Name() const override { return "featmon.ExpiryFilter"; }

 private:
  const Clock* clock_;
  int64_t ttl_ms_;
};

}  // namespace

Result<std::unique_ptr<RocksDbStore>> RocksDbStore::Open(const RocksDbStoreOptions& options) {
  std::error_code ec;
  const bool existed = std::filesystem::exists(options.path, ec);
  if (existed && !std::filesystem::is_directory(options.path, ec))
    return Status::InvalidArgument("data dir " + options.path + " is not a directory");
  if (existed && !std::filesystem::is_empty(options.path, ec) &&
      !std::filesystem::exists(std::filesystem::path(options.path) / "CURRENT", ec)) {
    return Status::InvalidArgument("data dir " + options.path +
                                   " is not empty and holds no RocksDB database; refusing to use it "
                                   "(point --data-dir at an empty or featmon directory)");
  }
  // RocksDB makes only the last component; a fresh path such as /srv/featmon/data needs its parents too.
  if (!existed && !std::filesystem::create_directories(options.path, ec) && ec)
    return Status::IOError("data dir " + options.path + ": cannot create it: " + ec.message());

  std::unique_ptr<RocksDbStore> store(new RocksDbStore());
  const Clock* clock = options.clock ? options.clock : &SystemClock::Instance();
  auto filter = std::make_shared<ExpiryFilter>(clock, options.entity_ttl_ms);
  store->filter_ = filter;

  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.IncreaseParallelism(2);
  db_options.max_background_jobs = 2;
  db_options.bytes_per_sync = 1 << 20;
  // After a crash, Open replays the WAL into memtables and would then flush
  // them to L0 before returning; leaving that flush to the background takes
  // it off a restart's critical path (the WAL is kept until it happens).
  db_options.avoid_flush_during_recovery = true;
  // The column families share one WAL, and a WAL file lives until every
  // family with data in it has flushed. meta and monitor take a few small
  // writes per commit and would almost never fill a memtable, so they kept
  // every WAL since their last flush (RocksDB's default limit is four times
  // all memtables: 350 MB after 2M events, 1.7 s of replay at each start).
  // Past this total RocksDB flushes the families that pin the oldest WAL.
  db_options.max_total_wal_size = options.memtable_memory_bytes;
  // Counters only (no histograms or timers): a few per-core additions per write.
  store->statistics_ = rocksdb::CreateDBStatistics();
  store->statistics_->set_stats_level(rocksdb::StatsLevel::kExceptHistogramOrTimers);
  db_options.statistics = store->statistics_;
  if (options.background_write_rate > 0)
    db_options.rate_limiter.reset(rocksdb::NewGenericRateLimiter(static_cast<int64_t>(options.background_write_rate)));

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.format_version = 5;

  rocksdb::ColumnFamilyOptions entity_cf;
  entity_cf.OptimizeLevelStyleCompaction(options.memtable_memory_bytes);
  entity_cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  entity_cf.compression = rocksdb::kLZ4Compression;
  entity_cf.bottommost_compression = rocksdb::kZSTD;
  entity_cf.compaction_filter = filter.get();
  if (options.features) entity_cf.merge_operator = std::make_shared<EntityMergeOperator>(options.features);
  entity_cf.memtable_prefix_bloom_size_ratio = 0.05;
  entity_cf.memtable_whole_key_filtering = true;
  // Revisit every file at least daily so the expiry filter sees idle data.
  entity_cf.periodic_compaction_seconds = 24 * 3600;

  rocksdb::ColumnFamilyOptions meta_cf;
  // Monitoring state: a few model values rewritten often, and pending labels
  // written once and deleted once. No expiry filter: the monitor deletes.
  rocksdb::ColumnFamilyOptions monitor_cf;
  monitor_cf.compression = rocksdb::kLZ4Compression;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {{rocksdb::kDefaultColumnFamilyName, entity_cf},
                                                      {"meta", meta_cf},
                                                      {"monitor", monitor_cf},
                                                      {"quarantine", rocksdb::ColumnFamilyOptions()}};
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, options.path, cfs, &store->handles_, &db);
  if (!s.ok()) {
    if (s.IsInvalidArgument() && s.ToString().find("meta") != std::string::npos)
      return Status::InvalidArgument("data dir " + options.path + " holds a RocksDB database that is not featmon's: " + s.ToString());
    return FromRocks(s, "opening " + options.path);
  }
  store->db_.reset(db);
  store->entities_ = store->handles_[0];
  store->meta_ = store->handles_[1];
  store->monitor_ = store->handles_[2];
  store->quarantine_ = store->handles_[3];
  store->clock_ = clock;
  store->write_options_.sync = options.sync_writes;
  store->path_ = options.path;
  store->min_free_bytes_ = options.min_free_bytes;

  std::string format;
  s = db->Get(rocksdb::ReadOptions(), store->meta_, kFormatKey, &format);
  if (s.IsNotFound()) {
    // A new store has no keys at all; anything else without our marker is foreign.
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), store->entities_));
    it->SeekToFirst();
    if (it->Valid())
      return Status::InvalidArgument("data dir " + options.path + " holds data without a featmon format marker; refusing to use it");
    s = db->Put(rocksdb::WriteOptions(), store->meta_, kFormatKey, kFormatValue);
    if (!s.ok()) return FromRocks(s, "writing format marker");
  } else if (!s.ok()) {
    return FromRocks(s, "reading format marker");
  } else if (format == kFormatV1) {
    // Full states only: readable as they are. Marked v2 so that an older
    // featmond refuses the directory once deltas may be in it.
    s = db->Put(rocksdb::WriteOptions(), store->meta_, kFormatKey, kFormatValue);
    if (!s.ok()) return FromRocks(s, "upgrading the format marker");
  } else if (format != kFormatValue) {
    return Status::InvalidArgument("data dir " + options.path + " has format '" + format + "', this featmond reads '" +
                                   kFormatV1 + "' and '" + kFormatValue + "'");
  }

  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), store->meta_));
  for (it->Seek(kShardPrefix); it->Valid() && it->key().starts_with(kShardPrefix); it->Next()) {
    std::string rest = it->key().ToString().substr(sizeof(kShardPrefix) - 1);
    size_t slash = rest.rfind('/');
    if (slash == std::string::npos || it->value().size() != 2) return Status::Corruption("bad shard registry entry " + it->key().ToString());
    TopicPartition tp{rest.substr(0, slash), std::stoi(rest.substr(slash + 1))};
    ShardId id = static_cast<ShardId>((static_cast<uint8_t>(it->value()[0]) << 8) | static_cast<uint8_t>(it->value()[1]));
    store->shards_[tp] = id;
    store->shard_list_.push_back(id);
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading shard registry");

  // The shard filters are rebuilt from the keys on disk in the background:
  // with a million entities the scan takes seconds, and until it ends every
  // shard "may contain" every key, which costs reads, never answers.
  store->shard_filter_ = std::make_unique<ShardFilter>(options.shard_filter_bits);
  store->filter_builder_ = std::thread([s = store.get()] { s->BuildShardFilters(); });
  return store;
}

void RocksDbStore::BuildShardFilters() {
  rocksdb::ReadOptions scan;
  scan.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> keys(db_->NewIterator(scan, entities_));
  for (keys->SeekToFirst(); keys->Valid() && !closing_.load(std::memory_order_relaxed); keys->Next()) {
    const std::string_view k(keys->key().data(), keys->key().size());
    if (auto parts = ParseEntityKey(k)) shard_filter_->Add(parts->shard, k.substr(kEntityKeyShardBytes));
  }
  // A failed scan leaves the filters incomplete: lookups read every shard.
  if (keys->Valid() || !keys->status().ok()) return;
  shard_filter_->MarkComplete();
}

bool RocksDbStore::ShardFiltersComplete() const { return shard_filter_->complete(); }

RocksDbStore::~RocksDbStore() {
  closing_ = true;
  if (filter_builder_.joinable()) filter_builder_.join();
  if (!db_) return;
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  db_->Close().PermitUncheckedError();
}

Result<ShardId> RocksDbStore::RegisterShard(const TopicPartition& tp) {
  {
    std::shared_lock lock(shards_mu_);
    auto it = shards_.find(tp);
    if (it != shards_.end()) return it->second;
  }
  std::unique_lock lock(shards_mu_);
  if (shard_list_.size() >= 65535) return Status::Internal("more than 65535 input partitions");
  ShardId id = static_cast<ShardId>(shard_list_.empty() ? 0 : *std::max_element(shard_list_.begin(), shard_list_.end()) + 1);
  std::string value{static_cast<char>(id >> 8), static_cast<char>(id & 0xff)};
  rocksdb::WriteOptions sync;
  sync.sync = true;
  auto s = db_->Put(sync, meta_, PartitionKey(kShardPrefix, tp), value);
  if (!s.ok()) return FromRocks(s, "registering shard");
  shards_[tp] = id;
  shard_list_.push_back(id);
  return id;
}

std::vector<ShardId> RocksDbStore::Shards() const {
  std::shared_lock lock(shards_mu_);
  return shard_list_;
}

std::vector<TopicPartition> RocksDbStore::RegisteredPartitions() const {
  std::shared_lock lock(shards_mu_);
  std::vector<TopicPartition> out;
  for (const auto& [tp, shard] : shards_) out.push_back(tp);
  return out;
}

Result<std::optional<Checkpoint>> RocksDbStore::LoadCheckpoint(const TopicPartition& tp) {
  std::string value;
  auto s = db_->Get(rocksdb::ReadOptions(), meta_, PartitionKey(kCheckpointPrefix, tp), &value);
  if (s.IsNotFound()) return std::optional<Checkpoint>();
  if (!s.ok()) return FromRocks(s, "reading checkpoint");
  ByteReader in(value);
  Checkpoint cp;
  if (!in.ReadFixed(&cp.next_offset) || !in.ReadFixed(&cp.stream_time_ms) || !in.done())
    return Status::Corruption("checkpoint of " + tp.topic + "/" + std::to_string(tp.partition));
  return std::optional<Checkpoint>(cp);
}

Result<std::optional<ChangelogPosition>> RocksDbStore::LoadChangelogPosition(int32_t task) {
  std::string value;
  auto s = db_->Get(rocksdb::ReadOptions(), meta_, ChangelogPositionKey(task), &value);
  if (s.IsNotFound()) return std::optional<ChangelogPosition>();
  if (!s.ok()) return FromRocks(s, "reading changelog position");
  ByteReader in(value);
  ChangelogPosition pos;
  if (!in.ReadFixed(&pos.head_writer) || !in.ReadFixed(&pos.head_seq) || !in.ReadFixed(&pos.current_writer) ||
      !in.ReadFixed(&pos.next_offset) || !in.done())
    return Status::Corruption("changelog position of task " + std::to_string(task));
  return std::optional<ChangelogPosition>(pos);
}

Result<std::optional<bool>> RocksDbStore::LoadHoldsEveryTask() {
  std::string value;
  auto s = db_->Get(rocksdb::ReadOptions(), meta_, kHoldsEveryTaskKey, &value);
  if (s.IsNotFound()) return std::optional<bool>();
  if (!s.ok()) return FromRocks(s, "reading holds_every_task");
  if (value != "0" && value != "1") return Status::Corruption("holds_every_task: " + std::to_string(value.size()) + " bytes");
  return std::optional<bool>(value == "1");
}

Status RocksDbStore::DropState(const std::vector<ShardId>& shards, const std::vector<TopicPartition>& partitions,
                               int32_t task) {
  rocksdb::WriteBatch wb;
  for (ShardId shard : shards) {
    std::string begin = EntityKey(shard, EntityKind::kUser, ""), end = begin;
    begin.resize(kEntityKeyShardBytes);
    end.resize(kEntityKeyShardBytes);
    SetEntityKeyShard(static_cast<ShardId>(shard + 1), &end);
    if (shard == UINT16_MAX) end = std::string(kEntityKeyShardBytes + 1, '\xff');
    wb.DeleteRange(entities_, begin, end).PermitUncheckedError();
  }
  for (const TopicPartition& tp : partitions) wb.Delete(meta_, PartitionKey(kCheckpointPrefix, tp)).PermitUncheckedError();
  wb.Delete(meta_, ChangelogPositionKey(task)).PermitUncheckedError();
  return FromRocks(db_->Write(write_options_, &wb), "dropping local state");
}

Result<std::optional<std::string>> RocksDbStore::Get(ShardId shard, EntityKind kind, std::string_view id) {
  std::string key = EntityKey(shard, kind, id);
  // The filter has no false negatives: "absent" needs no read at all, which
  // is the common case for a new user.
  if (!shard_filter_->MayContain(shard, std::string_view(key).substr(kEntityKeyShardBytes))) return std::optional<std::string>();
  std::string value;
  auto s = db_->Get(rocksdb::ReadOptions(), entities_, key, &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, "reading entity");
  return std::optional<std::string>(std::move(value));
}

std::vector<ShardId> RocksDbStore::ShardsThatMayHold(EntityKind kind, std::string_view id) const {
  const std::string suffix = EntityKeyWithoutShard(kind, id);
  std::vector<ShardId> shards;
  std::shared_lock lock(shards_mu_);
  for (ShardId s : shard_list_)
    if (shard_filter_->MayContain(s, suffix)) shards.push_back(s);
  return shards;
}

void RocksDbStore::AnnounceEntity(ShardId shard, EntityKind kind, std::string_view id) {
  shard_filter_->Add(shard, EntityKeyWithoutShard(kind, id));
}

Status RocksDbStore::GetShards(EntityKind kind, std::string_view id, const std::vector<ShardId>& shards,
                               std::vector<std::string>* values) {
  values->clear();
  std::vector<std::string> keys;
  for (ShardId s : shards) keys.push_back(EntityKey(s, kind, id));
  if (keys.empty()) return Status::Ok();
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::PinnableSlice> out(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  db_->MultiGet(rocksdb::ReadOptions(), entities_, keys.size(), slices.data(), out.data(), statuses.data());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;
    if (!statuses[i].ok()) return FromRocks(statuses[i], "reading entity");
    values->emplace_back(out[i].data(), out[i].size());
  }
  return Status::Ok();
}

Status RocksDbStore::Quarantine(std::string_view key, std::string_view value, std::string_view reason) {
  std::string kept;
  PutFixed(&kept, clock_->NowMs());
  PutVarint(&kept, reason.size());
  kept.append(reason);
  kept.append(value);
  return FromRocks(db_->Put(write_options_, quarantine_, rocksdb::Slice(key.data(), key.size()), kept),
                   "keeping an undecodable state aside");
}

uint64_t RocksDbStore::QuarantinedCount() const {
  uint64_t n = 0;
  db_->GetIntProperty(quarantine_, "rocksdb.estimate-num-keys", &n);
  return n;
}

Status RocksDbStore::Commit(const CommitBatch& batch) {
  if (min_free_bytes_ > 0) {
    struct statvfs fs {};
    if (statvfs(path_.c_str(), &fs) == 0) {
      const uint64_t free_bytes = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
      if (free_bytes < min_free_bytes_)
        return Status::NoSpace("committing state: No space left: " + path_ + " has " + std::to_string(free_bytes >> 20) +
                               " MiB free, below store.min_free_space (" + std::to_string(min_free_bytes_ >> 20) +
                               " MiB); holding offsets until space returns");
    }
  }
  rocksdb::WriteBatch wb;
  for (const EntityWrite& w : batch.entities) {
    if (w.erase) {
      wb.Delete(entities_, w.key).PermitUncheckedError();
      continue;
    }
    if (w.delta) {  // onto a stored state, whose key the shard filter holds already
      wb.Merge(entities_, w.key, w.value).PermitUncheckedError();
      continue;
    }
    // Bits first: a reader may see a false positive, never a false negative.
    if (auto parts = ParseEntityKey(w.key)) shard_filter_->Add(parts->shard, std::string_view(w.key).substr(kEntityKeyShardBytes));
    wb.Put(entities_, w.key, w.value).PermitUncheckedError();
  }
  for (const auto& [tp, cp] : batch.checkpoints) {
    std::string value;
    PutFixed(&value, cp.next_offset);
    PutFixed(&value, cp.stream_time_ms);
    wb.Put(meta_, PartitionKey(kCheckpointPrefix, tp), value).PermitUncheckedError();
  }
  for (const auto& [task, pos] : batch.changelog_positions) {
    std::string value;
    PutFixed(&value, pos.head_writer);
    PutFixed(&value, pos.head_seq);
    PutFixed(&value, pos.current_writer);
    PutFixed(&value, pos.next_offset);
    wb.Put(meta_, ChangelogPositionKey(task), value).PermitUncheckedError();
  }
  if (batch.holds_every_task)
    wb.Put(meta_, kHoldsEveryTaskKey, *batch.holds_every_task ? "1" : "0").PermitUncheckedError();
  for (const MonitorWrite& w : batch.monitor) {
    if (w.value) wb.Put(monitor_, w.key, *w.value).PermitUncheckedError();
    else wb.Delete(monitor_, w.key).PermitUncheckedError();
  }
  if (write_failed_.load()) {
    // RocksDB stops writing after an error it cannot retry alone (a full
    // disk); Resume() flushes and clears it, and is a no-op when there is none.
    rocksdb::Status resumed = db_->Resume();
    if (!resumed.ok()) return FromRocks(resumed, "resuming after a failed write");
  }
  rocksdb::Status s = db_->Write(write_options_, &wb);
  write_failed_.store(!s.ok());
  return FromRocks(s, "committing state");
}

Status RocksDbStore::ScanMonitor(const std::function<Status(std::string_view, std::string_view)>& visit) {
  rocksdb::ReadOptions scan;
  scan.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(scan, monitor_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    Status st = visit(std::string_view(it->key().data(), it->key().size()),
                      std::string_view(it->value().data(), it->value().size()));
    if (!st.ok()) return st;
  }
  return FromRocks(it->status(), "reading monitoring state");
}

Result<std::optional<std::string>> RocksDbStore::GetMonitor(std::string_view key) {
  std::string value;
  auto s = db_->Get(rocksdb::ReadOptions(), monitor_, rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, "reading monitoring state");
  return std::optional<std::string>(std::move(value));
}

Status RocksDbStore::DropMonitorState() {
  rocksdb::WriteBatch wb;
  std::unique_ptr<rocksdb::Iterator> keys(db_->NewIterator(rocksdb::ReadOptions(), monitor_));
  for (keys->SeekToFirst(); keys->Valid(); keys->Next()) wb.Delete(monitor_, keys->key()).PermitUncheckedError();
  if (!keys->status().ok()) return FromRocks(keys->status(), "reading monitoring state");
  // The monitoring's checkpoints: "ckpt/monitor:<topic>/<partition>".
  const std::string checkpoints = std::string(kCheckpointPrefix) + kMonitorCheckpointTopicPrefix;
  std::unique_ptr<rocksdb::Iterator> meta(db_->NewIterator(rocksdb::ReadOptions(), meta_));
  for (meta->Seek(checkpoints); meta->Valid() && meta->key().starts_with(checkpoints); meta->Next())
    wb.Delete(meta_, meta->key()).PermitUncheckedError();
  if (!meta->status().ok()) return FromRocks(meta->status(), "reading checkpoints");
  wb.Delete(meta_, ChangelogPositionKey(kMonitorChangelogTask)).PermitUncheckedError();
  return FromRocks(db_->Write(write_options_, &wb), "dropping local monitoring state");
}

uint64_t RocksDbStore::ApproximateEntityCount() const {
  uint64_t n = 0;
  db_->GetIntProperty(entities_, "rocksdb.estimate-num-keys", &n);
  return n;
}

uint64_t RocksDbStore::DiskBytes() const {
  uint64_t sst = 0;  // SST files of entity states; the WAL and memtables are not counted
  db_->GetIntProperty(entities_, "rocksdb.total-sst-files-size", &sst);
  return sst;
}

std::pair<uint64_t, uint64_t> RocksDbStore::CompactionBacklog() const {
  uint64_t running = 0, pending = 0, flushes = 0;
  db_->GetIntProperty("rocksdb.num-running-compactions", &running);
  db_->GetIntProperty("rocksdb.num-running-flushes", &flushes);
  db_->GetIntProperty(entities_, "rocksdb.estimate-pending-compaction-bytes", &pending);
  return {running + flushes, pending};
}

WrittenBytes RocksDbStore::Written() const {
  return {statistics_->getTickerCount(rocksdb::WAL_FILE_BYTES), statistics_->getTickerCount(rocksdb::FLUSH_WRITE_BYTES),
          statistics_->getTickerCount(rocksdb::COMPACT_WRITE_BYTES)};
}

Status RocksDbStore::CompactAll() {
  rocksdb::CompactRangeOptions opts;
  opts.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  return FromRocks(db_->CompactRange(opts, entities_, nullptr, nullptr), "compacting");
}

}  // namespace featmon
