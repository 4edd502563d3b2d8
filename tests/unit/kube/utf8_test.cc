#include "kube/utf8.h"

#include <gtest/gtest.h>

namespace mlops::kube {
namespace {

const std::string kReplacement = "\xEF\xBF\xBD";

TEST(Utf8Test, Validity) {
  EXPECT_TRUE(isValidUtf8(""));
  EXPECT_TRUE(isValidUtf8("plain ascii"));
  EXPECT_TRUE(isValidUtf8("caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80"));
  for (const std::string& bad : {
           std::string("\xC3"),              // cut inside a sequence
           std::string("\xC0\xAF"),          // overlong
           std::string("\xED\xA0\x80"),      // surrogate
           std::string("\xF4\x90\x80\x80"),  // above U+10FFFF
           std::string("\x80"),              // stray continuation
           std::string("\xFF"),
       }) {
    EXPECT_FALSE(isValidUtf8(bad)) << bad.size();
  }
}

TEST(Utf8Test, ReplacementKeepsValidTextAndReplacesBadBytes) {
  EXPECT_EQ(toValidUtf8("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(toValidUtf8("caf\xC3"), "caf" + kReplacement);
  EXPECT_EQ(toValidUtf8("a\xFF"
                        "b"),
            "a" + kReplacement + "b");
  EXPECT_TRUE(isValidUtf8(toValidUtf8("\xED\xA0\x80\xC0\xAF\xF4\x90\x80\x80")));
}

TEST(Utf8Test, PrefixNeverEndsInsideACharacter) {
  const std::string text =
      "ab\xC3\xA9"
      "cd";  // "abécd"
  EXPECT_EQ(utf8Prefix(text, 100), text);
  EXPECT_EQ(utf8Prefix(text, 2), "ab");
  EXPECT_EQ(utf8Prefix(text, 3), "ab");  // would cut "é"
  EXPECT_EQ(utf8Prefix(text, 4), "ab\xC3\xA9");
  EXPECT_EQ(utf8Prefix("\xF0\x9F\x98\x80", 3), "");
  EXPECT_EQ(utf8Prefix("a\xFF\xFF", 2), "a\xFF");  // a stray byte counts as one
}

}  // namespace
}  // namespace mlops::kube
