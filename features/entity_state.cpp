#include "features/entity_state.h"

#include <cstring>

#include "common/byte_codec.h"

namespace featmon {

namespace {

constexpr uint8_t kFormatVersion = 1;
constexpr size_t kHeaderSize = 1 + 8;

SeriesState EmptySeries(SeriesKind kind) {
  switch (kind) {
    case SeriesKind::kTiledCount: return Tiles<int64_t>{};
    case SeriesKind::kTiledSum: return Tiles<double>{};
    case SeriesKind::kTiledDistinct: return Tiles<HyperLogLog>{};
    case SeriesKind::kLastN: return LastNState{};
    case SeriesKind::kLatestTs: return LatestTsState{};
    case SeriesKind::kDecayed: return DecayedState{};
  }
  return LatestTsState{};
}

bool IsEmpty(const SeriesState& s) {
  return std::visit(
      [](const auto& v) -> bool {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, LastNState>) return v.values.empty();
        else if constexpr (std::is_same_v<T, LatestTsState>) return v.ts_ms == 0;
        else if constexpr (std::is_same_v<T, DecayedState>) return v.ref_ts_ms == 0;
        else return v.empty();
      },
      s);
}

void EncodeTileIndex(std::string* out, int64_t tile, int64_t* prev) {
  PutSigned(out, tile - *prev);
  *prev = tile;
}

void EncodeSeries(const SeriesState& s, std::string* out) {
  std::visit(
      [out](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, Tiles<int64_t>>) {
          PutVarint(out, v.size());
          int64_t prev = 0;
          for (const auto& [tile, count] : v) {
            EncodeTileIndex(out, tile, &prev);
            PutSigned(out, count);
          }
        } else if constexpr (std::is_same_v<T, Tiles<double>>) {
          PutVarint(out, v.size());
          int64_t prev = 0;
          for (const auto& [tile, sum] : v) {
            EncodeTileIndex(out, tile, &prev);
            PutFixed(out, sum);
          }
        } else if constexpr (std::is_same_v<T, Tiles<HyperLogLog>>) {
          PutVarint(out, v.size());
          int64_t prev = 0;
          for (const auto& [tile, hll] : v) {
            EncodeTileIndex(out, tile, &prev);
            hll.EncodeTo(out);
          }
        } else if constexpr (std::is_same_v<T, LastNState>) {
          PutVarint(out, v.values.size());
          for (const auto& [value, ts] : v.values) {
            PutVarint(out, value.size());
            out->append(value);
            PutSigned(out, ts);
          }
        } else if constexpr (std::is_same_v<T, LatestTsState>) {
          PutSigned(out, v.ts_ms);
        } else {
          PutFixed(out, v.value);
          PutSigned(out, v.ref_ts_ms);
        }
      },
      s);
}

// Tile lists are stored sorted; a list that is not is corrupt.
template <typename V, typename ReadValue>
Status DecodeTiles(ByteReader* in, Tiles<V>* tiles, ReadValue read_value) {
  uint64_t n;
  if (!in->ReadVarint(&n) || n > in->remaining()) return Status::Corruption("tile count");
  tiles->clear();
  tiles->reserve(n);
  int64_t tile = 0;
  for (uint64_t i = 0; i < n; ++i) {
    int64_t delta;
    if (!in->ReadSigned(&delta)) return Status::Corruption("tile index");
    if (i > 0 && delta <= 0) return Status::Corruption("tiles out of order");
    tile += delta;
    V value{};
    Status st = read_value(&value);
    if (!st.ok()) return st;
    tiles->emplace_back(tile, std::move(value));
  }
  return Status::Ok();
}

Status DecodeSeries(ByteReader* in, SeriesState* s) {
  return std::visit(
      [in](auto& v) -> Status {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, Tiles<int64_t>>) {
          return DecodeTiles(in, &v, [in](int64_t* c) {
            return in->ReadSigned(c) ? Status::Ok() : Status::Corruption("count");
          });
        } else if constexpr (std::is_same_v<T, Tiles<double>>) {
          return DecodeTiles(in, &v, [in](double* d) {
            return in->ReadFixed(d) ? Status::Ok() : Status::Corruption("sum");
          });
        } else if constexpr (std::is_same_v<T, Tiles<HyperLogLog>>) {
          return DecodeTiles(in, &v, [in](HyperLogLog* h) { return HyperLogLog::DecodeFrom(in, h); });
        } else if constexpr (std::is_same_v<T, LastNState>) {
          uint64_t n;
          if (!in->ReadVarint(&n) || n > in->remaining()) return Status::Corruption("last_n count");
          v.values.clear();
          for (uint64_t i = 0; i < n; ++i) {
            std::string_view value;
            int64_t ts;
            if (!in->ReadLengthPrefixed(&value) || !in->ReadSigned(&ts)) return Status::Corruption("last_n value");
            v.values.emplace_back(std::string(value), ts);
          }
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, LatestTsState>) {
          return in->ReadSigned(&v.ts_ms) ? Status::Ok() : Status::Corruption("latest ts");
        } else {
          return in->ReadFixed(&v.value) && in->ReadSigned(&v.ref_ts_ms) ? Status::Ok()
                                                                         : Status::Corruption("decayed");
        }
      },
      *s);
}

}  // namespace

EntityState NewEntityState(const FeatureSet& set, EntityKind kind) {
  EntityState state;
  for (const SeriesSpec& s : set.series(kind)) state.series.push_back(EmptySeries(s.kind));
  return state;
}

void EncodeEntityState(const FeatureSet& set, EntityKind kind, const EntityState& state, std::string* out) {
  out->clear();
  out->push_back(static_cast<char>(kFormatVersion));
  PutFixed(out, state.last_event_ts_ms);
  size_t present = 0;
  for (const auto& s : state.series) present += !IsEmpty(s);
  PutVarint(out, present);
  const auto& specs = set.series(kind);
  for (size_t i = 0; i < state.series.size(); ++i) {
    if (IsEmpty(state.series[i])) continue;
    PutFixed(out, specs[i].id);
    // Payload written in place behind a fixed-width length patched afterwards.
    const size_t length_at = out->size();
    PutFixed(out, uint32_t{0});
    EncodeSeries(state.series[i], out);
    const uint32_t length = static_cast<uint32_t>(out->size() - length_at - sizeof(uint32_t));
    std::memcpy(out->data() + length_at, &length, sizeof(length));
  }
}

Status DecodeEntityState(const FeatureSet& set, EntityKind kind, std::string_view data, EntityState* out) {
  *out = NewEntityState(set, kind);
  ByteReader in(data);
  uint8_t version;
  if (!in.ReadFixed(&version)) return Status::Corruption("entity state: empty value");
  if (version != kFormatVersion)
    return Status::Corruption("entity state: unknown format version " + std::to_string(version));
  uint64_t count;
  if (!in.ReadFixed(&out->last_event_ts_ms) || !in.ReadVarint(&count))
    return Status::Corruption("entity state: truncated header");
  for (uint64_t i = 0; i < count; ++i) {
    uint32_t id, length;
    std::string_view payload;
    if (!in.ReadFixed(&id) || !in.ReadFixed(&length) || !in.ReadBytes(length, &payload))
      return Status::Corruption("entity state: truncated series");
    int index = set.SeriesIndexById(kind, id);
    if (index < 0) continue;  // a feature removed from the config
    ByteReader series_in(payload);
    Status st = DecodeSeries(&series_in, &out->series[index]);
    if (!st.ok()) return Status::Corruption("entity state: series " + std::to_string(id) + ": " + st.message());
    if (!series_in.done()) return Status::Corruption("entity state: trailing bytes in series");
  }
  if (!in.done()) return Status::Corruption("entity state: trailing bytes");
  return Status::Ok();
}

bool PeekLastEventTs(std::string_view data, int64_t* ts_ms) {
  if (data.size() < kHeaderSize || static_cast<uint8_t>(data[0]) != kFormatVersion) return false;
  ByteReader in(data.substr(1));
  return in.ReadFixed(ts_ms);
}

}  // namespace featmon
