// HyperLogLog distinct counter, precision 14 (16384 registers, ~0.8% standard
// error), with an HLL++-style sparse mode: below kMaxSparse entries it keeps
// sorted 25-bit register indexes, whose linear-counting estimate is exact for
// all practical purposes up to thousands of values. The dense estimate is
// Ertl's improved estimator ("New cardinality estimation algorithms for
// HyperLogLog sketches", 2017), unbiased over the whole range without the
// empirical bias tables of HLL++.
//
// Stored form: sparse, a delta-varint list; dense, registers packed two to a
// byte with an overflow list for ranks of 15 and above (8 KiB).
//
// Not thread-safe; a value type.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace featmon {

class ByteReader;

class HyperLogLog {
 public:
  static constexpr int kPrecision = 14;
  static constexpr uint32_t kRegisters = 1u << kPrecision;
  static constexpr int kSparsePrecision = 25;
  static constexpr size_t kMaxSparse = 2048;  // sparse entries before going dense (8 KiB)

  // The ranks a register can hold: 0 to kMaxRank.
  static constexpr int kMaxRank = 64 - kPrecision + 1;
  // How many dense registers hold each rank: what the dense estimate reads.
  using RankHistogram = std::array<int32_t, kMaxRank + 1>;
  // A dense register that rose: a caller keeping the RankHistogram of the
  // sketch moves one count from `from` to `to`.
  struct RegisterRise {
    uint8_t from = 0, to = 0;
  };

  // True when a register rose, i.e. the estimate may have changed. With
  // `rise`, says which dense register did (left alone when the sketch was
  // sparse, or became dense just now: then call Histogram).
  bool Add(std::string_view value, RegisterRise* rise = nullptr);
  bool AddHash(uint64_t hash, RegisterRise* rise = nullptr);
  void Merge(const HyperLogLog& other);
  double Estimate() const;
  // Dense sketches only: the histogram of their registers, and the estimate
  // from it (Estimate() is EstimateDense(Histogram()) for a dense sketch).
  RankHistogram Histogram() const;
  static double EstimateDense(const RankHistogram& counts);
  bool empty() const { return sparse_.empty() && dense_.empty(); }
  bool is_sparse() const { return dense_.empty(); }
  // Heap bytes held, for caches bounded in bytes.
  size_t MemoryBytes() const { return sparse_.capacity() * sizeof(uint32_t) + dense_.capacity(); }

  void EncodeTo(std::string* out) const;
  static Status DecodeFrom(ByteReader* in, HyperLogLog* out);

  static uint64_t Hash(std::string_view value);

 private:
  void ToDense();
  bool SetRegister(uint32_t reg, uint8_t rank, RegisterRise* rise = nullptr) {
    if (dense_[reg] >= rank) return false;
    if (rise) *rise = {dense_[reg], rank};
    dense_[reg] = rank;
    return true;
  }
  // Sparse entry: (25-bit index << 6) | rank over the remaining 39 bits.
  std::vector<uint32_t> sparse_;
  std::vector<uint8_t> dense_;
};

}  // namespace featmon
