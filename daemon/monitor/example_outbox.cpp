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
    entries_[seq] = {std::string(model), std::string(topic_key), std::string(example), true, false};
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
  entries_[seq] = {std::move(model), std::move(key), std::move(value), false, false};
  unwritten_added_.insert(seq);
  unwritten_header_ = true;
}

void ExampleOutbox::Forget(uint64_t seq) {
  auto it = entries_.find(seq);
  if (it == entries_.end()) return;
  ++delivered_[it->second.model];
  entries_.erase(it);
  // Only stored entries are ever produced, so there is always a stored key to delete.
  unwritten_removed_.insert(seq);
}

void ExampleOutbox::Confirm(const OutboxDelivery& d) {
  auto it = entries_.find(d.seq);
  if (it == entries_.end()) return;
  it->second.in_flight = false;
  if (d.offset < 0) {
    fate_unknown_ = true;
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
  for (uint64_t seq : unwritten_added_) {
    auto it = entries_.find(seq);
    if (it == entries_.end()) continue;
    std::string value;
    PutVarint(&value, it->second.model.size());
    value += it->second.model;
    PutVarint(&value, it->second.key.size());
    value += it->second.key;
    value += it->second.value;
    writes->push_back({StoredKey(kEntry, seq), std::move(value)});
  }
  for (uint64_t seq : unwritten_removed_)
    if (!unwritten_added_.contains(seq)) writes->push_back({StoredKey(kEntry, seq), std::nullopt});
  for (int32_t partition : unwritten_offsets_) {
    std::string value;
    PutFixed(&value, confirmed_[partition]);
    writes->push_back({StoredKey(kOffset, static_cast<uint64_t>(partition)), std::move(value)});
  }
  if (unwritten_header_) {
    std::string value;
    PutFixed(&value, id_);
    PutFixed(&value, next_seq_);
    writes->push_back({std::string(kKeyPrefix).append(kHeader), std::move(value)});
  }
}

Status ExampleOutbox::Committed() {
  for (uint64_t seq : unwritten_added_)
    if (auto it = entries_.find(seq); it != entries_.end()) it->second.stored = true;
  unwritten_added_.clear();
  unwritten_removed_.clear();
  unwritten_offsets_.clear();
  unwritten_header_ = false;
  if (fate_unknown_) {
    if (sink_->in_flight() > 0) return Status::Ok();  // read back once nothing is in flight
    if (Status st = Recover(); !st.ok()) return st;
  }
  for (auto& [seq, e] : entries_) {
    if (!e.stored || e.in_flight) continue;
    if (Status st = sink_->Produce(id_, seq, e.key, e.value); !st.ok()) return st;  // the rest waits for the next commit
    e.in_flight = true;
  }
  return Status::Ok();
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
  for (uint64_t seq : found)
    if (auto it = entries_.find(seq); it != entries_.end() && it->second.stored) {
      Forget(seq);
      ++already;
    }
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
