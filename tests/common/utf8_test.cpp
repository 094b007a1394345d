// IsValidUtf8 against simdjson's validator (an independent implementation
// of the same rule) on mostly-ASCII strings with bytes of every kind put in
// at every position, so that both the word-wide ASCII test and the
// sequence check decide; and the rule's edges by hand.
#include "common/utf8.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <random>
#include <string>

namespace featmon {
namespace {

bool Simdjson(const std::string& s) { return simdjson::validate_utf8(s.data(), s.size()); }

TEST(Utf8Test, AgreesWithSimdjsonOnRandomStrings) {
  std::mt19937_64 rng(7);
  // Lead bytes, continuation bytes and bytes never valid, beside ASCII.
  const unsigned char special[] = {0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0x9f, 0xa0, 0x8f, 0x90};
  size_t valid = 0, invalid = 0;
  for (int n = 0; n < 200'000; ++n) {
    std::string s(rng() % 40, 'a');
    for (char& c : s) c = static_cast<char>('!' + rng() % 90);
    const int put = static_cast<int>(rng() % 4);
    for (int k = 0; k < put && !s.empty(); ++k) s[rng() % s.size()] = static_cast<char>(special[rng() % sizeof special]);
    if (rng() % 4 == 0 && s.size() >= 4) s.replace(rng() % (s.size() - 3), 4, "\xf0\x9f\x98\x80");  // U+1F600
    const bool expected = Simdjson(s);
    ASSERT_EQ(IsValidUtf8(s), expected) << testing::PrintToString(s);
    (expected ? valid : invalid) += 1;
  }
  EXPECT_GT(valid, 40'000u);  // both answers were tested often
  EXPECT_GT(invalid, 40'000u);
}

TEST(Utf8Test, TheRulesEdges) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii, longer than one word"));
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9"));          // U+00E9
  EXPECT_TRUE(IsValidUtf8("\xef\xbf\xbf"));         // U+FFFF
  EXPECT_TRUE(IsValidUtf8("\xf4\x8f\xbf\xbf"));     // U+10FFFF, the last
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));            // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));        // overlong, 3 bytes
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));        // a surrogate, U+D800
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));    // U+110000
  EXPECT_FALSE(IsValidUtf8("caf\xc3"));             // cut short at the end
  EXPECT_FALSE(IsValidUtf8("abc\xffxyzabcdefgh"));  // in the first word
  EXPECT_FALSE(IsValidUtf8("abcdefgh12345\x80"));   // in the tail after a word
}

}  // namespace
}  // namespace featmon
