#include "features/hyperloglog.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "common/byte_codec.h"

namespace featmon {
namespace {

HyperLogLog Fill(int n, int seed) {
  HyperLogLog h;
  for (int i = 0; i < n; ++i) h.Add("v" + std::to_string(seed) + ":" + std::to_string(i));
  return h;
}

TEST(HyperLogLogTest, EmptyIsZero) { EXPECT_EQ(HyperLogLog().Estimate(), 0.0); }

TEST(HyperLogLogTest, WithinOneBelowHundred) {
  for (int seed = 0; seed < 50; ++seed) {
    for (int n : {1, 2, 7, 33, 64, 99}) {
      HyperLogLog h = Fill(n, seed);
      EXPECT_NEAR(h.Estimate(), n, 1.0) << "n=" << n << " seed=" << seed;
    }
  }
}

TEST(HyperLogLogTest, DuplicatesDoNotCount) {
  HyperLogLog h;
  for (int r = 0; r < 10; ++r)
    for (int i = 0; i < 50; ++i) h.Add("item" + std::to_string(i));
  EXPECT_NEAR(h.Estimate(), 50, 1.0);
}

TEST(HyperLogLogTest, WithinThreePercentAboveThousand) {
  int checked = 0;
  for (int seed = 0; seed < 4; ++seed) {
    for (int n : {1000, 1500, 3000, 10000, 40000, 70000, 200000, 1000000}) {
      if (n == 1000000 && seed > 0) continue;  // one million-value run is enough
      HyperLogLog h = Fill(n, seed);
      EXPECT_LE(std::abs(h.Estimate() - n) / n, 0.03) << "n=" << n << " seed=" << seed;
      ++checked;
    }
  }
  EXPECT_GT(checked, 20);
}

TEST(HyperLogLogTest, MergeEqualsUnion) {
  HyperLogLog a, b, both;
  for (int i = 0; i < 30000; ++i) {
    std::string v = "x" + std::to_string(i);
    (i % 3 == 0 ? a : b).Add(v);
    both.Add(v);
  }
  a.Merge(b);
  EXPECT_DOUBLE_EQ(a.Estimate(), both.Estimate());
}

TEST(HyperLogLogTest, SparseMergeStaysExact) {
  HyperLogLog a = Fill(40, 1), b = Fill(40, 2), c = Fill(40, 1);
  a.Merge(b);
  a.Merge(c);  // same values as the first
  EXPECT_TRUE(a.is_sparse());
  EXPECT_NEAR(a.Estimate(), 80, 1.0);
}

TEST(HyperLogLogTest, SparseToDenseKeepsEstimate) {
  // Crossing the sparse limit must not jump the estimate.
  HyperLogLog h;
  double before = 0;
  for (size_t i = 0; i <= HyperLogLog::kMaxSparse + 1; ++i) {
    if (i == HyperLogLog::kMaxSparse) before = h.Estimate();
    h.Add("k" + std::to_string(i));
  }
  EXPECT_FALSE(h.is_sparse());
  EXPECT_NEAR(h.Estimate(), before + 2, 0.02 * before);
}

TEST(HyperLogLogTest, RoundTripsAndRejectsCorruption) {
  for (int n : {0, 10, 5000}) {
    HyperLogLog h = Fill(n, 9);
    std::string bytes;
    h.EncodeTo(&bytes);
    ByteReader in(bytes);
    HyperLogLog back;
    ASSERT_TRUE(HyperLogLog::DecodeFrom(&in, &back).ok());
    EXPECT_EQ(back.Estimate(), h.Estimate());
    EXPECT_TRUE(in.done());
    if (n > 0) {
      std::string cut = bytes.substr(0, bytes.size() / 2);
      ByteReader bad(cut);
      EXPECT_FALSE(HyperLogLog::DecodeFrom(&bad, &back).ok());
    }
  }
}

TEST(HyperLogLogTest, DenseRoundTripKeepsRanksAboveFifteen) {
  HyperLogLog h = Fill(5000, 3);
  ASSERT_FALSE(h.is_sparse());
  // Register 5 gets rank 21: 20 zero bits after the 14 index bits.
  h.AddHash((uint64_t{5} << 50) | (uint64_t{1} << 29));
  std::string bytes;
  h.EncodeTo(&bytes);
  EXPECT_LT(bytes.size(), 8300u);  // packed, not 16 KiB
  ByteReader in(bytes);
  HyperLogLog back;
  ASSERT_TRUE(HyperLogLog::DecodeFrom(&in, &back).ok());
  EXPECT_TRUE(in.done());
  EXPECT_EQ(back.Estimate(), h.Estimate());
  std::string again;
  back.EncodeTo(&again);
  EXPECT_EQ(again, bytes);
}

}  // namespace
}  // namespace featmon
