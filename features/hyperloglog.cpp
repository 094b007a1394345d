#include "features/hyperloglog.h"

#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/byte_codec.h"

namespace featmon {

namespace {

constexpr int kQ = 64 - HyperLogLog::kPrecision;        // bits left for the rank: 50
constexpr int kSparseRest = 64 - HyperLogLog::kSparsePrecision;  // 39
constexpr uint32_t kSparseM = 1u << HyperLogLog::kSparsePrecision;

uint32_t SparseEntry(uint64_t h) {
  uint32_t idx = static_cast<uint32_t>(h >> kSparseRest);
  uint64_t rest = h << HyperLogLog::kSparsePrecision;
  uint32_t rank = rest == 0 ? kSparseRest + 1 : static_cast<uint32_t>(__builtin_clzll(rest)) + 1;
  return (idx << 6) | rank;
}
uint32_t EntryIndex(uint32_t e) { return e >> 6; }
uint8_t EntryRank(uint32_t e) { return static_cast<uint8_t>(e & 63); }

// Ertl's sigma and tau (section 4 of the paper).
double Sigma(double x) {
  if (x == 1.0) return std::numeric_limits<double>::infinity();
  double y = 1.0, z = x, z_prev;
  do {
    x *= x;
    z_prev = z;
    z += x * y;
    y += y;
  } while (z != z_prev);
  return z;
}
double Tau(double x) {
  if (x == 0.0 || x == 1.0) return 0.0;
  double y = 1.0, z = 1.0 - x, z_prev;
  do {
    x = std::sqrt(x);
    z_prev = z;
    y *= 0.5;
    z -= (1 - x) * (1 - x) * y;
  } while (z != z_prev);
  return z / 3;
}

// Merges two sorted sparse lists keeping the larger rank per index.
std::vector<uint32_t> MergeSparse(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b) {
  std::vector<uint32_t> out;
  out.reserve(a.size() + b.size());
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (j == b.size() || (i < a.size() && EntryIndex(a[i]) < EntryIndex(b[j]))) {
      out.push_back(a[i++]);
    } else if (i == a.size() || EntryIndex(b[j]) < EntryIndex(a[i])) {
      out.push_back(b[j++]);
    } else {
      out.push_back(std::max(a[i++], b[j++]));  // same index: larger rank wins
    }
  }
  return out;
}

}  // namespace

uint64_t HyperLogLog::Hash(std::string_view value) { return XXH3_64bits(value.data(), value.size()); }

bool HyperLogLog::Add(std::string_view value, RegisterRise* rise) { return AddHash(Hash(value), rise); }

bool HyperLogLog::AddHash(uint64_t h, RegisterRise* rise) {
  if (!dense_.empty()) {
    uint64_t w = h << kPrecision;
    uint8_t rank = w == 0 ? kQ + 1 : static_cast<uint8_t>(__builtin_clzll(w) + 1);
    return SetRegister(static_cast<uint32_t>(h >> kQ), rank, rise);
  }
  uint32_t e = SparseEntry(h);
  auto it = std::lower_bound(sparse_.begin(), sparse_.end(), e,
                             [](uint32_t a, uint32_t b) { return EntryIndex(a) < EntryIndex(b); });
  if (it != sparse_.end() && EntryIndex(*it) == EntryIndex(e)) {
    if (*it >= e) return false;
    *it = e;
    return true;
  }
  sparse_.insert(it, e);
  if (sparse_.size() > kMaxSparse) ToDense();
  return true;
}

void HyperLogLog::ToDense() {
  dense_.assign(kRegisters, 0);
  constexpr int kExtra = kSparsePrecision - kPrecision;  // 11 index bits that become rank bits
  for (uint32_t e : sparse_) {
    uint32_t idx = EntryIndex(e);
    uint32_t low = idx & ((1u << kExtra) - 1);
    uint8_t rank = low != 0 ? static_cast<uint8_t>(__builtin_clz(low) - (32 - kExtra) + 1)
                            : static_cast<uint8_t>(kExtra + EntryRank(e));
    SetRegister(idx >> kExtra, rank);
  }
  sparse_.clear();
  sparse_.shrink_to_fit();
}

void HyperLogLog::Merge(const HyperLogLog& other) {
  if (other.empty()) return;
  if (dense_.empty() && other.dense_.empty()) {
    sparse_ = MergeSparse(sparse_, other.sparse_);
    if (sparse_.size() > kMaxSparse) ToDense();
    return;
  }
  if (dense_.empty()) ToDense();
  if (!other.dense_.empty()) {
    // Written as a plain loop so the compiler vectorises it (pmaxub).
    uint8_t* __restrict d = dense_.data();
    const uint8_t* __restrict s = other.dense_.data();
    for (uint32_t i = 0; i < kRegisters; ++i) d[i] = d[i] > s[i] ? d[i] : s[i];
  } else {
    HyperLogLog tmp = other;
    tmp.ToDense();
    Merge(tmp);
  }
}

double HyperLogLog::Estimate() const {
  if (dense_.empty()) {
    // Linear counting over 2^25 sparse registers.
    if (sparse_.empty()) return 0.0;
    double m = kSparseM;
    return m * std::log(m / (m - static_cast<double>(sparse_.size())));
  }
  return EstimateDense(Histogram());
}

HyperLogLog::RankHistogram HyperLogLog::Histogram() const {
  static_assert(kMaxRank == kQ + 1);
  RankHistogram counts{};
  if (dense_.empty()) return counts;
  // Four histograms, summed after: consecutive registers mostly hold the same
  // small rank, and one array would make each increment wait for the last.
  int32_t parts[4][kQ + 2] = {};
  const uint8_t* r = dense_.data();
  for (uint32_t i = 0; i < kRegisters; i += 4) {
    ++parts[0][r[i]];
    ++parts[1][r[i + 1]];
    ++parts[2][r[i + 2]];
    ++parts[3][r[i + 3]];
  }
  for (int k = 0; k < kQ + 2; ++k) counts[k] = parts[0][k] + parts[1][k] + parts[2][k] + parts[3][k];
  return counts;
}

double HyperLogLog::EstimateDense(const RankHistogram& counts) {
  const double m = kRegisters;
  double z = m * Tau(1.0 - counts[kQ + 1] / m);
  for (int k = kQ; k >= 1; --k) z = 0.5 * (z + counts[k]);
  z += m * Sigma(counts[0] / m);
  const double alpha_inf = 1.0 / (2.0 * std::log(2.0));
  return alpha_inf * m * m / z;
}

void HyperLogLog::EncodeTo(std::string* out) const {
  if (dense_.empty()) {
    out->push_back(0);
    PutVarint(out, sparse_.size());
    uint32_t prev = 0;
    for (uint32_t e : sparse_) {  // sorted by index, so deltas are small
      PutVarint(out, e - prev);
      prev = e;
    }
  } else {
    // Packed: two registers a byte, 15 meaning "see the overflow list". A rank
    // of 15 or more has probability 2^-14 per register, so the list is almost
    // always empty and a dense sketch stores in 8 KiB instead of 16.
    out->push_back(2);
    const size_t start = out->size();
    out->resize(start + kRegisters / 2);
    char* packed = out->data() + start;
    uint32_t overflow = 0;
    for (uint32_t i = 0; i < kRegisters; i += 2) {
      const uint8_t a = std::min<uint8_t>(dense_[i], 15), b = std::min<uint8_t>(dense_[i + 1], 15);
      overflow += (a == 15) + (b == 15);
      packed[i / 2] = static_cast<char>(a | (b << 4));
    }
    PutVarint(out, overflow);
    for (uint32_t i = 0; i < kRegisters && overflow > 0; ++i) {
      if (dense_[i] >= 15) {
        PutVarint(out, i);
        out->push_back(static_cast<char>(dense_[i]));
      }
    }
  }
}

Status HyperLogLog::DecodeFrom(ByteReader* in, HyperLogLog* out) {
  std::string_view mode;
  if (!in->ReadBytes(1, &mode)) return Status::Corruption("hll: truncated");
  out->sparse_.clear();
  out->dense_.clear();
  if (mode[0] == 0) {
    uint64_t n;
    if (!in->ReadVarint(&n) || n > kMaxSparse) return Status::Corruption("hll: bad sparse size");
    out->sparse_.reserve(n);
    uint64_t prev = 0;
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t delta;
      if (!in->ReadVarint(&delta)) return Status::Corruption("hll: truncated sparse list");
      prev += delta;
      if (prev > UINT32_MAX || (i > 0 && delta == 0)) return Status::Corruption("hll: unsorted sparse list");
      out->sparse_.push_back(static_cast<uint32_t>(prev));
    }
    return Status::Ok();
  }
  if (mode[0] != 2) return Status::Corruption("hll: unknown mode");
  std::string_view packed;
  if (!in->ReadBytes(kRegisters / 2, &packed)) return Status::Corruption("hll: truncated registers");
  out->dense_.resize(kRegisters);
  for (uint32_t i = 0; i < kRegisters; i += 2) {
    const uint8_t byte = static_cast<uint8_t>(packed[i / 2]);
    out->dense_[i] = byte & 15;
    out->dense_[i + 1] = byte >> 4;
  }
  uint64_t overflow;
  if (!in->ReadVarint(&overflow) || overflow > kRegisters) return Status::Corruption("hll: bad overflow count");
  for (uint64_t k = 0; k < overflow; ++k) {
    uint64_t index;
    std::string_view value;
    if (!in->ReadVarint(&index) || index >= kRegisters || !in->ReadBytes(1, &value) || out->dense_[index] != 15)
      return Status::Corruption("hll: bad overflow entry");
    out->dense_[index] = static_cast<uint8_t>(value[0]);
  }
  for (uint8_t r : out->dense_) {
    if (r > kQ + 1) return Status::Corruption("hll: register out of range");
  }
  return Status::Ok();
}

}  // namespace featmon
