// JSON numbers as the lookups and featmon-export write them: the shortest
// round-trip form std::to_chars gives, -0 with its sign, null for what JSON
// cannot hold.
#include "daemon/http/json_text.h"

#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

namespace featmon {
namespace {

std::string ToChars(double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, end);
}

std::string Json(double v) {
  std::string out = "x";  // appends, never replaces
  AppendJsonDouble(&out, v);
  return out.substr(1);
}

TEST(JsonText, WholeNumbersAreWhatToCharsWrites) {
  for (int i = -100'001; i <= 100'001; ++i) ASSERT_EQ(Json(i), ToChars(i)) << i;
  for (double v : {1e5, -1e5, 99999.0, 1e6, 123456.0, 1e15, 9007199254740992.0, -2147483648.0, 4294967296.0})
    EXPECT_EQ(Json(v), ToChars(v)) << v;
  EXPECT_EQ(Json(1e5), "1e+05") << "the exponent form where it is the shorter";
  EXPECT_EQ(Json(10000), "10000") << "a tie goes to the plain form";
}

TEST(JsonText, KeepsTheSignOfZeroAndWritesNullForWhatJsonCannotHold) {
  EXPECT_EQ(Json(0.0), "0");
  EXPECT_EQ(Json(-0.0), "-0");
  EXPECT_EQ(Json(std::numeric_limits<double>::quiet_NaN()), "null");
  EXPECT_EQ(Json(std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(Json(-std::numeric_limits<double>::infinity()), "null");
}

TEST(JsonText, FractionsAndExtremesAreWhatToCharsWrites) {
  for (double v : {0.5, -0.5, 99999.5, -99999.5, 0.1, 1e-300, 4.9e-324, std::numeric_limits<double>::max(),
                   std::nextafter(1e5, 0.0), std::nextafter(-1e5, 0.0), std::nextafter(1.0, 2.0)})
    EXPECT_EQ(Json(v), ToChars(v)) << v;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 200'000; ++i) {
    uint64_t bits = rng();
    double v;
    std::memcpy(&v, &bits, sizeof v);
    if (!std::isfinite(v)) continue;
    ASSERT_EQ(Json(v), ToChars(v)) << bits;
    const double near_whole = std::ldexp(static_cast<double>(bits >> 40), -static_cast<int>(bits % 8));
    ASSERT_EQ(Json(near_whole), ToChars(near_whole)) << near_whole;  // dyadic fractions and whole numbers
  }
}

}  // namespace
}  // namespace featmon
