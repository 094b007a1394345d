#include "daemon/monitor/example_outbox.h"

#include <charconv>
#include <random>

#include "common/byte_codec.h"
#include "daemon/logging/log.h"

namespace featmon {

namespace {
// Stored keys, after kKeyPrefix.
constexpr std::string_view kEntry = "e/";      // + sequence: model, key, value
constexpr std::string_view kOffset = "o/";     // + partition: fixed64 offset past its last confirmed delivery
constexpr std::string_view kHeader = "h";      // fixed64 id, fixed64 next sequence

std::string StoredKey(std::string_view kind, uint64_t n) {
  return std::string(ExampleOutbox::kKeyPrefix).append(kind).append(std::to_string(n));
}

template <typename T>
bool ParseNumber(std::string_view s, T* out) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}
}  // namespace

Status ExampleOutbox::Restore(std::string_view stored_key, std::string_view value) {
  std::string_view key = stored_key.substr(kKeyPrefix.size());
  ByteReader r(value);
  if (key == kHeader) {
    if (!r.ReadFixed(&id_) || !r.ReadFixed(&next_seq_) || !r.done()) return Status::Corruption("example outbox header");
    unwritten_from_ = next_seq_;
    return Status::Ok();
  }
  if (key.starts_with(kEntry)) {
    uint64_t seq = 0;
    std::string_view model, topic_key;
    if (!ParseNumber(key.substr(kEntry.size()), &seq) || !r.ReadLengthPrefixed(&model) ||
        !r.ReadLengthPrefixed(&topic_key))
      return Status::Corruption("example outbox entry " + std::string(key));
    std::string_view example;
    r.ReadBytes(r.remaining(), &example);
    entries_[seq] = {std::string(model), std::string(topic_key), std::string(example), false};
    to_produce_.push_back(seq);
    fate_unknown_ = true;  // in flight when the last process stopped, perhaps
    return Status::Ok();
  }
  if (key.starts_with(kOffset)) {
    int32_t partition = 0;
    int64_t offset = 0;
    if (!ParseNumber(key.substr(kOffset.size()), &partition) || !r.ReadFixed(&offset) || !r.done())
      return Status::Corruption("example outbox offset " + std::string(key));
    confirmed_[partition] = offset;
    return Status::Ok();
  }
  return Status::Corruption("unknown example outbox key " + std::string(key));
}

void ExampleOutbox::Add(std::string model, std::string key, std::string value) {
  if (id_ == 0) {
    std::random_device rd;
    while (id_ == 0) id_ = (uint64_t{rd()} << 32) | rd();
  }
  const uint64_t seq = next_seq_++;
  entries_.emplace_hint(entries_.end(), seq, Entry{std::move(model), std::move(key), std::move(value), false});
}

bool ExampleOutbox::Forget(uint64_t seq) {
  auto it = entries_.find(seq);
  if (it == entries_.end()) return false;
  ++delivered_[it->second.model];
  entries_.erase(it);
  // Only stored entries are ever produced, so there is always a stored key to delete.
  unwritten_removed_.push_back(seq);
  return true;
}

void ExampleOutbox::Confirm(const OutboxDelivery& d) {
  auto it = entries_.find(d.seq);
  if (it == entries_.end()) return;
  it->second.in_flight = false;
  if (d.offset < 0) {
    fate_unknown_ = true;
    to_produce_.push_back(d.seq);  // unless the read-back finds it
    return;
  }
  Forget(d.seq);
  int64_t& confirmed = confirmed_[d.partition];
  if (d.offset + 1 > confirmed) {
    confirmed = d.offset + 1;
    unwritten_offsets_.insert(d.partition);
  }
}

void ExampleOutbox::PrepareCommit(int timeout_ms, std::vector<MonitorWrite>* writes) {
  // Always: reports served while producing wait in the sink even when
  // nothing is in flight any more.
  std::vector<OutboxDelivery> fates;
  sink_->Flush(sink_->in_flight() > 0 ? timeout_ms : 0, &fates);
  for (const OutboxDelivery& d : fates) Confirm(d);
  for (auto it = entries_.lower_bound(unwritten_from_); it != entries_.end(); ++it) {
    const uint64_t seq = it->first;
    std::string value;
    PutVarint(&value, it->second.model.size());
    value += it->second.model;
    PutVarint(&value, it->second.key.size());
    value += it->second.key;
    value += it->second.value;
    writes->push_back({StoredKey(kEntry, seq), std::move(value)});
  }
  for (uint64_t seq : unwritten_removed_) writes->push_back({StoredKey(kEntry, seq), std::nullopt});
  for (int32_t partition : unwritten_offsets_) {
    std::string value;
    PutFixed(&value, confirmed_[partition]);
    writes->push_back({StoredKey(kOffset, static_cast<uint64_t>(partition)), std::move(value)});
  }
  if (unwritten_from_ != next_seq_) {
    std::string value;
    PutFixed(&value, id_);
    PutFixed(&value, next_seq_);
    writes->push_back({std::string(kKeyPrefix).append(kHeader), std::move(value)});
  }
}

Status ExampleOutbox::Committed() {
  for (auto it = entries_.lower_bound(unwritten_from_); it != entries_.end(); ++it) to_produce_.push_back(it->first);
  unwritten_from_ = next_seq_;
  unwritten_removed_.clear();
  unwritten_offsets_.clear();
  if (fate_unknown_) {
    if (sink_->in_flight() > 0) return Status::Ok();  // read back once nothing is in flight
    if (Status st = Recover(); !st.ok()) return st;
  }
  size_t produced = 0;
  Status st;
  for (; produced < to_produce_.size(); ++produced) {
    auto it = entries_.find(to_produce_[produced]);
    if (it == entries_.end() || it->second.in_flight) continue;  // found by a read-back, or produced again already
    st = sink_->Produce(id_, it->first, it->second.key, it->second.value);
    if (!st.ok()) break;  // the rest waits for the next commit
    it->second.in_flight = true;
  }
  to_produce_.erase(to_produce_.begin(), to_produce_.begin() + static_cast<std::ptrdiff_t>(produced));
  return st;
}

// Every example this outbox produced and did not see confirmed lies past
// confirmed_ in its partition: those found there are delivered; the others
// are not, and whatever is produced from now on lands past the ends read.
Status ExampleOutbox::Recover() {
  std::set<uint64_t> found;
  std::map<int32_t, int64_t> ends;
  if (Status st = sink_->FindDelivered(id_, confirmed_, &found, &ends); !st.ok())
    return Status::Unavailable("reading the examples topic back after a crash or a failed delivery: " + st.message());
  size_t already = 0;
  for (uint64_t seq : found) already += Forget(seq);  // Recover runs after a commit: every entry is stored
  for (const auto& [partition, end] : ends) {
    int64_t& confirmed = confirmed_[partition];
    if (end > confirmed) {
      confirmed = end;
      unwritten_offsets_.insert(partition);
    }
  }
  fate_unknown_ = false;
  Log(Component::kMonitor).info("examples topic read back: {} waiting examples were already delivered, {} to produce",
                                already, entries_.size());
  return Status::Ok();
}

}  // namespace featmon
