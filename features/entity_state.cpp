#include "features/entity_state.h"

#include <algorithm>
#include <cstring>

#include "common/byte_codec.h"

namespace featmon {

namespace {

constexpr uint8_t kFormatVersion = 1;
constexpr uint8_t kDeltaVersion = 2;
constexpr uint8_t kUnmergeable = 0xff;
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

void EncodeTileValue(int64_t count, std::string* out) { PutSigned(out, count); }
void EncodeTileValue(double sum, std::string* out) { PutFixed(out, sum); }
void EncodeTileValue(const HyperLogLog& hll, std::string* out) { hll.EncodeTo(out); }

// The tiles from `first` on: count, then (index delta, value) pairs.
template <typename V>
void EncodeTiles(const Tiles<V>& tiles, size_t first, std::string* out) {
  PutVarint(out, tiles.size() - first);
  int64_t prev = 0;
  for (size_t i = first; i < tiles.size(); ++i) {
    EncodeTileIndex(out, tiles[i].first, &prev);
    EncodeTileValue(tiles[i].second, out);
  }
}

template <typename T>
constexpr bool kIsTiles = std::is_same_v<T, Tiles<int64_t>> || std::is_same_v<T, Tiles<double>> ||
                          std::is_same_v<T, Tiles<HyperLogLog>>;

void EncodeSeries(const SeriesState& s, std::string* out) {
  std::visit(
      [out](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (kIsTiles<T>) {
          EncodeTiles(v, 0, out);
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

// Writes one series tagged with its id, its payload behind a fixed-width
// length patched afterwards.
template <typename EncodePayload>
void PutTaggedSeries(uint32_t id, std::string* out, EncodePayload encode_payload) {
  PutFixed(out, id);
  const size_t length_at = out->size();
  PutFixed(out, uint32_t{0});
  encode_payload();
  const uint32_t length = static_cast<uint32_t>(out->size() - length_at - sizeof(uint32_t));
  std::memcpy(out->data() + length_at, &length, sizeof(length));
}

// A tiled series' delta payload: tiles before the first one the state holds
// are gone (all of them when it holds none), tiles from the changes' earliest
// event time on are written.
void EncodeTiledDelta(const SeriesState& s, int64_t tile_ms, int64_t from_ts_ms, std::string* out) {
  std::visit(
      [&](const auto& tiles) {
        using T = std::decay_t<decltype(tiles)>;
        if constexpr (kIsTiles<T>) {
          const int64_t replace_from = TileOf(from_ts_ms, tile_ms);
          PutSigned(out, tiles.empty() ? INT64_MAX : tiles.front().first);
          PutSigned(out, replace_from);
          const auto first = std::lower_bound(tiles.begin(), tiles.end(), replace_from,
                                              [](const auto& p, int64_t t) { return p.first < t; });
          EncodeTiles(tiles, static_cast<size_t>(first - tiles.begin()), out);
        }
      },
      s);
}

// Drops the base's tiles before keep_from and from replace_from on, then
// appends the delta's, which all lie at or after replace_from.
Status SpliceTiles(ByteReader* in, SeriesState* base) {
  int64_t keep_from, replace_from;
  if (!in->ReadSigned(&keep_from) || !in->ReadSigned(&replace_from)) return Status::Corruption("delta tile range");
  SeriesState fresh = *base;
  if (Status st = DecodeSeries(in, &fresh); !st.ok()) return st;
  return std::visit(
      [&](auto& tiles) -> Status {
        using T = std::decay_t<decltype(tiles)>;
        if constexpr (kIsTiles<T>) {
          auto& add = std::get<T>(fresh);
          if (!add.empty() && add.front().first < replace_from) return Status::Corruption("delta tile before its range");
          std::erase_if(tiles, [&](const auto& p) { return p.first < keep_from || p.first >= replace_from; });
          for (auto& tile : add) tiles.push_back(std::move(tile));
          return Status::Ok();
        } else {
          return Status::Corruption("tile delta for a series without tiles");
        }
      },
      *base);
}

// Applies one delta to a decoded state.
Status ApplyEntityDelta(const FeatureSet& set, EntityKind kind, ByteReader* in, EntityState* state) {
  int64_t last_event_ts;
  uint64_t count;
  if (!in->ReadFixed(&last_event_ts) || !in->ReadVarint(&count)) return Status::Corruption("delta: truncated header");
  state->last_event_ts_ms = std::max(state->last_event_ts_ms, last_event_ts);
  for (uint64_t i = 0; i < count; ++i) {
    uint32_t id, length;
    std::string_view payload;
    if (!in->ReadFixed(&id) || !in->ReadFixed(&length) || !in->ReadBytes(length, &payload))
      return Status::Corruption("delta: truncated series");
    const int index = set.SeriesIndexById(kind, id);
    if (index < 0) continue;  // a feature removed from the config
    ByteReader series_in(payload);
    SeriesState& series = state->series[index];
    Status st = set.series(kind)[index].tiled() ? SpliceTiles(&series_in, &series) : DecodeSeries(&series_in, &series);
    if (!st.ok()) return Status::Corruption("delta: series " + std::to_string(id) + ": " + st.message());
    if (!series_in.done()) return Status::Corruption("delta: trailing bytes in series");
  }
  if (!in->done()) return Status::Corruption("delta: trailing bytes");
  return Status::Ok();
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
    PutTaggedSeries(specs[i].id, out, [&] { EncodeSeries(state.series[i], out); });
  }
}

void EncodeEntityDelta(const FeatureSet& set, EntityKind kind, const EntityState& state, const StateChanges& changes,
                       std::string* out) {
  out->clear();
  out->push_back(static_cast<char>(kDeltaVersion));
  PutFixed(out, state.last_event_ts_ms);
  size_t changed = 0;
  for (size_t i = 0; i < state.series.size(); ++i) changed += changes.Has(i);
  PutVarint(out, changed);
  const auto& specs = set.series(kind);
  for (size_t i = 0; i < state.series.size(); ++i) {
    if (!changes.Has(i)) continue;
    PutTaggedSeries(specs[i].id, out, [&] {
      if (specs[i].tiled()) EncodeTiledDelta(state.series[i], specs[i].tile_ms, changes.from_ts_ms, out);
      else EncodeSeries(state.series[i], out);
    });
  }
}

Status MergeEntityValues(const FeatureSet& set, EntityKind kind, const std::string_view* base,
                         const std::vector<std::string_view>& operands, std::string* out) {
  EntityState state = NewEntityState(set, kind);
  if (base) {
    if (Status st = DecodeEntityState(set, kind, *base, &state); !st.ok()) return st;
  }
  for (std::string_view operand : operands) {
    ByteReader in(operand);
    uint8_t version;
    if (!in.ReadFixed(&version)) return Status::Corruption("entity delta: empty value");
    Status st;
    if (version == kFormatVersion) st = DecodeEntityState(set, kind, operand, &state);
    else if (version == kDeltaVersion) st = ApplyEntityDelta(set, kind, &in, &state);
    else st = Status::Corruption("entity delta: unknown format version " + std::to_string(version));
    if (!st.ok()) return st;
  }
  EncodeEntityState(set, kind, state, out);
  return Status::Ok();
}

void EncodeUnmergeable(std::string_view reason, std::string* out) {
  out->clear();
  out->push_back(static_cast<char>(kUnmergeable));
  out->append(reason);
}

Status DecodeEntityState(const FeatureSet& set, EntityKind kind, std::string_view data, EntityState* out) {
  *out = NewEntityState(set, kind);
  ByteReader in(data);
  uint8_t version;
  if (!in.ReadFixed(&version)) return Status::Corruption("entity state: empty value");
  if (version == kUnmergeable)
    return Status::Corruption("entity state: a stored change could not be applied: " + std::string(data.substr(1)));
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

size_t ApproximateMemory(const EntityState& state) {
  size_t bytes = sizeof(EntityState) + state.series.capacity() * sizeof(SeriesState);
  for (const SeriesState& s : state.series) {
    bytes += std::visit(
        [](const auto& v) -> size_t {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, Tiles<HyperLogLog>>) {
            size_t n = v.capacity() * sizeof(typename T::value_type);
            for (const auto& tile : v) n += tile.second.MemoryBytes();
            return n;
          } else if constexpr (kIsTiles<T>) {
            return v.capacity() * sizeof(typename T::value_type);
          } else if constexpr (std::is_same_v<T, LastNState>) {
            size_t n = v.values.capacity() * sizeof(v.values[0]);
            for (const auto& [value, ts] : v.values) n += value.capacity() > 15 ? value.capacity() + 1 : 0;
            return n;
          } else {
            return 0;
          }
        },
        s);
  }
  return bytes;
}

bool PeekLastEventTs(std::string_view data, int64_t* ts_ms) {
  if (data.size() < kHeaderSize || static_cast<uint8_t>(data[0]) != kFormatVersion) return false;
  ByteReader in(data.substr(1));
  return in.ReadFixed(ts_ms);
}

}  // namespace featmon
