#include "cluster/changelog_record.h"

#include "common/byte_codec.h"

namespace featmon::changelog {

namespace {
constexpr char kStateTag = 'S', kMarkerTag = 'M', kClaimTag = 'C';
constexpr uint8_t kVersion = 1;

void PutCheckpoints(std::string* out, const std::vector<SourceCheckpoint>& checkpoints) {
  PutVarint(out, checkpoints.size());
  for (const SourceCheckpoint& c : checkpoints) {
    PutVarint(out, c.topic.size());
    out->append(c.topic);
    PutSigned(out, c.next_offset);
    PutSigned(out, c.stream_time_ms);
  }
}

bool ReadCheckpoints(ByteReader* in, std::vector<SourceCheckpoint>* out) {
  uint64_t n;
  if (!in->ReadVarint(&n) || n > in->remaining()) return false;
  out->resize(static_cast<size_t>(n));
  for (SourceCheckpoint& c : *out) {
    std::string_view topic;
    if (!in->ReadLengthPrefixed(&topic) || !in->ReadSigned(&c.next_offset) || !in->ReadSigned(&c.stream_time_ms))
      return false;
    c.topic = topic;
  }
  return true;
}

bool ReadVersion(ByteReader* in) {
  uint8_t version;
  return in->ReadFixed(&version) && version == kVersion;
}

Status Bad(std::string_view what) { return Status::Corruption("changelog record: " + std::string(what)); }
}  // namespace

std::string RecordKey(const Record& record) {
  std::string key;
  if (const auto* s = std::get_if<StateRecord>(&record)) {
    key.push_back(kStateTag);
    key.append(s->store_key);
  } else if (const auto* m = std::get_if<MarkerRecord>(&record)) {
    key.push_back(kMarkerTag);
    PutFixed(&key, m->commit.writer);
    PutFixed(&key, m->commit.seq);
  } else {
    key.push_back(kClaimTag);
    PutFixed(&key, std::get<ClaimRecord>(record).writer);
  }
  return key;
}

std::string RecordValue(const Record& record) {
  std::string value;
  value.push_back(static_cast<char>(kVersion));
  if (const auto* s = std::get_if<StateRecord>(&record)) {
    PutFixed(&value, s->commit.writer);
    PutVarint(&value, s->commit.seq);
    value.push_back(s->state ? 1 : 0);
    if (s->state) value.append(*s->state);
  } else if (const auto* m = std::get_if<MarkerRecord>(&record)) {
    PutCheckpoints(&value, m->checkpoints);
  } else {
    const auto& c = std::get<ClaimRecord>(record);
    PutFixed(&value, c.base.writer);
    PutVarint(&value, c.base.seq);
    PutVarint(&value, c.owner.size());
    value.append(c.owner);
  }
  return value;
}

Result<Record> DecodeRecord(std::string_view key, std::string_view value) {
  if (key.empty()) return Bad("empty key");
  ByteReader in(value);
  if (!ReadVersion(&in)) return Bad("unknown version (written by a newer featmond?)");
  ByteReader key_in(key.substr(1));
  switch (key[0]) {
    case kStateTag: {
      StateRecord s;
      s.store_key = key.substr(1);
      uint8_t present;
      if (!in.ReadFixed(&s.commit.writer) || !in.ReadVarint(&s.commit.seq) || !in.ReadFixed(&present) || present > 1)
        return Bad("state value truncated");
      if (present) s.state = std::string(value.substr(value.size() - in.remaining()));
      else if (!in.done()) return Bad("deleted state with bytes");
      return Record(std::move(s));
    }
    case kMarkerTag: {
      MarkerRecord m;
      if (!key_in.ReadFixed(&m.commit.writer) || !key_in.ReadFixed(&m.commit.seq) || !key_in.done())
        return Bad("marker key is not writer and seq");
      if (!ReadCheckpoints(&in, &m.checkpoints) || !in.done()) return Bad("marker value truncated");
      return Record(std::move(m));
    }
    case kClaimTag: {
      ClaimRecord c;
      std::string_view owner;
      if (!key_in.ReadFixed(&c.writer) || !key_in.done() || c.writer == 0) return Bad("claim key is not a writer");
      if (!in.ReadFixed(&c.base.writer) || !in.ReadVarint(&c.base.seq) || !in.ReadLengthPrefixed(&owner) || !in.done())
        return Bad("claim value truncated");
      c.owner = owner;
      return Record(std::move(c));
    }
    default:
      return Bad("unknown key tag");
  }
}

}  // namespace featmon::changelog
