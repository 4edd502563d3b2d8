#include "core/utf8.h"

#include <gtest/gtest.h>

namespace mlops {
namespace {

// "Ошибка" (Cyrillic, two bytes per letter) and "数据" (three bytes each).
const std::string kRussian = "\xD0\x9E\xD1\x88\xD0\xB8\xD0\xB1\xD0\xBA\xD0\xB0";
const std::string kChinese = "\xE6\x95\xB0\xE6\x8D\xAE";
const std::string kReplacement = "\xEF\xBF\xBD";

TEST(Utf8, ValidTextIsKept) {
  for (const std::string& s :
       {std::string(), std::string("plain"), kRussian, kChinese, std::string("\xF0\x9F\x98\x80")}) {
    EXPECT_TRUE(isValidUtf8(s)) << s;
    EXPECT_EQ(sanitizeUtf8(s), s);
    EXPECT_EQ(truncateUtf8(s, 100), s);
  }
}

TEST(Utf8, InvalidBytesBecomeReplacementCharacters) {
  struct Case {
    std::string in, out;
  };
  const Case cases[] = {
      {"\xD0", kReplacement},  // a lone lead byte
      {"a\xD0"
       "b",
       "a" + kReplacement + "b"},                                    // lead byte then ASCII
      {"\x80", kReplacement},                                        // a lone continuation byte
      {"\xC0\xAF", kReplacement + kReplacement},                     // overlong '/'
      {"\xED\xA0\x80", kReplacement + kReplacement + kReplacement},  // a surrogate
      {"\xF4\x90\x80\x80",
       kReplacement + kReplacement + kReplacement + kReplacement},  // > U+10FFFF
      {"\xFF", kReplacement},
  };
  for (const auto& c : cases) {
    EXPECT_FALSE(isValidUtf8(c.in));
    EXPECT_EQ(sanitizeUtf8(c.in), c.out);
    EXPECT_TRUE(isValidUtf8(sanitizeUtf8(c.in)));
  }
}

TEST(Utf8, TruncationNeverSplitsACharacter) {
  // Every cut of a multi-byte text ends at a boundary and is valid.
  const std::string text = kRussian + " " + kChinese + " \xF0\x9F\x98\x80!";
  for (size_t max = 0; max <= text.size(); ++max) {
    const std::string cut = truncateUtf8(text, max, "");
    EXPECT_LE(cut.size(), max);
    EXPECT_TRUE(isValidUtf8(cut)) << max;
    EXPECT_EQ(text.compare(0, cut.size(), cut), 0) << "a prefix, at " << max;
    EXPECT_GT(cut.size() + 4, max) << "at most one character dropped, at " << max;
  }
  EXPECT_EQ(truncateUtf8(kRussian, 3), "\xD0\x9E...");  // 3 bytes hold one letter and a half
  EXPECT_EQ(truncateUtf8("abcdef", 3), "abc...");
  EXPECT_EQ(truncateUtf8("abc", 3), "abc");  // nothing cut, no ellipsis
}

TEST(Utf8, TruncationRepairsInvalidTextFirst) {
  const std::string cut = truncateUtf8("ab\xD0", 100);
  EXPECT_EQ(cut, "ab" + kReplacement);
}

}  // namespace
}  // namespace mlops
