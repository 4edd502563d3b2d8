#include "objects/canonical_json.h"

#include <bit>
#include <cstdint>
#include <limits>

#include <gtest/gtest.h>

namespace mlops::objects {
namespace {

using Json = nlohmann::json;

// RFC 8785 Appendix B: IEEE 754 bit patterns and their JCS text (each value
// checked against Node.js String(x), the reference ECMAScript serialization).
struct NumberCase {
  uint64_t bits;
  const char* text;
};

TEST(EcmaScriptNumber, MatchesRfc8785AppendixB) {
  const NumberCase cases[] = {
      {0x0000000000000000, "0"},
      {0x8000000000000000, "0"},  // -0
      {0x0000000000000001, "5e-324"},
      {0x8000000000000001, "-5e-324"},
      {0x7fefffffffffffff, "1.7976931348623157e+308"},
      {0xffefffffffffffff, "-1.7976931348623157e+308"},
      {0x4340000000000000, "9007199254740992"},
      {0xc340000000000000, "-9007199254740992"},
      {0x4430000000000000, "295147905179352830000"},
      {0x44b52d02c7e14af5, "9.999999999999997e+22"},
      {0x44b52d02c7e14af6, "1e+23"},
      {0x44b52d02c7e14af7, "1.0000000000000001e+23"},
      {0x444b1ae4d6e2ef4e, "999999999999999700000"},
      {0x444b1ae4d6e2ef4f, "999999999999999900000"},
      {0x444b1ae4d6e2ef50, "1e+21"},
      {0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"},
      {0x3eb0c6f7a0b5ed8d, "0.000001"},
      {0x41b3de4355555553, "333333333.3333332"},
      {0x41b3de4355555554, "333333333.33333325"},
      {0x41b3de4355555555, "333333333.3333333"},
      {0x41b3de4355555556, "333333333.3333334"},
      {0x41b3de4355555557, "333333333.33333343"},
      {0xbecbf647612f3696, "-0.0000033333333333333333"},
      {0x43143ff3c1cb0959, "1424953923781206.2"},
  };
  for (const auto& c : cases) {
    const double d = std::bit_cast<double>(c.bits);
    EXPECT_EQ(ecmaScriptNumber(d), c.text) << std::hex << c.bits;
    auto canonical = canonicalJson(Json(d));
    ASSERT_TRUE(canonical.ok()) << std::hex << c.bits;
    EXPECT_EQ(*canonical, c.text) << std::hex << c.bits;
  }
}

TEST(EcmaScriptNumber, FollowsTheExponentRules) {
  const std::pair<double, const char*> cases[] = {
      {1.0, "1"},
      {-1.5, "-1.5"},
      {0.5, "0.5"},
      {100.0, "100"},
      {1e20, "100000000000000000000"},
      {1e21, "1e+21"},
      {1.5e21, "1.5e+21"},
      {1e-6, "0.000001"},
      {1.5e-6, "0.0000015"},
      {1e-7, "1e-7"},
      {1.25e-7, "1.25e-7"},
      {123.456, "123.456"},
      {0.1, "0.1"},
      {0.3 - 0.2, "0.09999999999999998"},
  };
  for (const auto& [value, text] : cases) EXPECT_EQ(ecmaScriptNumber(value), text) << value;
  EXPECT_EQ(ecmaScriptNumber(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(ecmaScriptNumber(std::numeric_limits<double>::infinity()), "Infinity");
  EXPECT_EQ(ecmaScriptNumber(-std::numeric_limits<double>::infinity()), "-Infinity");
}

TEST(CanonicalJson, Rfc8785Section3_2_2Example) {
  const char* input = R"({
    "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
    "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
    "literals": [null, true, false]
  })";
  auto canonical = canonicalJson(Json::parse(input));
  ASSERT_TRUE(canonical.ok());
  EXPECT_EQ(*canonical,
            "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],"
            "\"string\":\"\xE2\x82\xAC$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
}

TEST(CanonicalJson, SortsMembersByUtf16CodeUnits) {
  // RFC 8785 section 3.2.3: U+1F600 (surrogates D83D DE00) sorts before U+FB33,
  // although its UTF-8 bytes (and code point) are larger.
  const char* input = R"({
    "\u20ac": "Euro Sign",
    "\r": "Carriage Return",
    "\ufb33": "Hebrew Letter Dalet With Dagesh",
    "1": "One",
    "\ud83d\ude00": "Emoji: Grinning Face",
    "\u0080": "Control",
    "\u00f6": "Latin Small Letter O With Diaeresis"
  })";
  auto canonical = canonicalJson(Json::parse(input));
  ASSERT_TRUE(canonical.ok());
  EXPECT_EQ(*canonical,
            "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\xC2\x80\":\"Control\","
            "\"\xC3\xB6\":\"Latin Small Letter O With Diaeresis\",\"\xE2\x82\xAC\":\"Euro Sign\","
            "\"\xF0\x9F\x98\x80\":\"Emoji: Grinning Face\","
            "\"\xEF\xAC\xB3\":\"Hebrew Letter Dalet With Dagesh\"}");
}

TEST(CanonicalJson, EscapesStringsAsJcsPrescribes) {
  const std::pair<std::string, std::string> cases[] = {
      {"plain", R"("plain")"},
      {"a\"b", R"("a\"b")"},
      {"back\\slash", R"("back\\slash")"},
      {"/", R"("/")"},
      {"\b\t\n\f\r", R"("\b\t\n\f\r")"},
      {std::string("\x00\x01\x1f", 3), R"("\u0000\u0001\u001f")"},
      {"\x7f", "\"\x7f\""},
      {"caf\xC3\xA9", "\"caf\xC3\xA9\""},
  };
  for (const auto& [value, text] : cases) {
    auto canonical = canonicalJson(Json(value));
    ASSERT_TRUE(canonical.ok()) << text;
    EXPECT_EQ(*canonical, text);
  }
}

TEST(CanonicalJson, WritesStructureWithoutWhitespace) {
  const std::pair<Json, std::string> cases[] = {
      {Json::object(), "{}"},
      {Json::array(), "[]"},
      {Json::parse(R"({"b": [1, {"d": 2, "c": 3}], "a": {}})"),
       R"({"a":{},"b":[1,{"c":3,"d":2}]})"},
      {Json(nullptr), "null"},
      {Json(true), "true"},
  };
  for (const auto& [value, text] : cases) {
    auto canonical = canonicalJson(value);
    ASSERT_TRUE(canonical.ok()) << text;
    EXPECT_EQ(*canonical, text);
  }
}

TEST(CanonicalJson, WritesIntegersExactly) {
  const std::pair<Json, std::string> cases[] = {
      {Json(0), "0"},
      {Json(-42), "-42"},
      {Json(int64_t{9007199254740992}), "9007199254740992"},
      {Json(std::numeric_limits<int64_t>::max()), "9223372036854775807"},
      {Json(std::numeric_limits<int64_t>::min()), "-9223372036854775808"},
      {Json(std::numeric_limits<uint64_t>::max()), "18446744073709551615"},
      {Json(2.0), "2"},  // a double with an integral value prints like an integer
  };
  for (const auto& [value, text] : cases) {
    auto canonical = canonicalJson(value);
    ASSERT_TRUE(canonical.ok()) << text;
    EXPECT_EQ(*canonical, text);
  }
}

TEST(CanonicalJson, RejectsWhatJcsCannotRepresent) {
  const std::pair<Json, const char*> cases[] = {
      {Json(std::numeric_limits<double>::quiet_NaN()), "NaN"},
      {Json(std::numeric_limits<double>::infinity()), "Infinity"},
      {Json::array({1, std::numeric_limits<double>::infinity()}), "Infinity"},
      {Json(std::string("bad \xC3")), "UTF-8"},      // truncated sequence
      {Json(std::string("\xC0\xAF")), "UTF-8"},      // overlong '/'
      {Json(std::string("\xED\xA0\x80")), "UTF-8"},  // a surrogate
      {Json{{std::string("k\xFF"), 1}}, "UTF-8"},    // member name
  };
  for (const auto& [value, what] : cases) {
    auto canonical = canonicalJson(value);
    ASSERT_FALSE(canonical.ok()) << what;
    EXPECT_EQ(canonical.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(canonical.error().message.find(what), std::string::npos) << canonical.error().message;
  }
}

TEST(CanonicalJson, EqualValuesGiveEqualText) {
  auto a = canonicalJson(Json::parse(R"({"x": 1.0, "y": [1e2, "s"], "z": {"b": 1, "a": 2}})"));
  auto b = canonicalJson(Json::parse(R"({"z":{"a":2,"b":1},"y":[100,"s"],"x":1})"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
}

}  // namespace
}  // namespace mlops::objects
