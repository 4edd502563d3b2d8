// renderQuery: placeholders become escaped PromQL string contents, so no
// value can leave the string or the label matcher it sits in.
#include <gtest/gtest.h>

#include <string>

#include "analysis/analysis.h"
#include "core/utf8.h"

namespace mlops::analysis {
namespace {

Placeholders plain() {
  return {"fraud", "7", "ml-prod", "canary"};
}

TEST(AnalysisRenderQuery, ReplacesEveryPlaceholder) {
  const std::string q = R"(sum(rate(errors{model="{{model}}",version="{{version}}",)"
                        R"(namespace="{{namespace}}",track="{{track}}"}[5m])))";
  EXPECT_EQ(
      renderQuery(q, plain()),
      R"(sum(rate(errors{model="fraud",version="7",namespace="ml-prod",track="canary"}[5m])))");
  // Repeated, adjacent, at the ends.
  EXPECT_EQ(renderQuery("{{model}}{{model}}-{{track}}", plain()), "fraudfraud-canary");
  // Unknown placeholders, partial ones and other braces stay as written.
  EXPECT_EQ(renderQuery("{{pod}} {{model} {model}} {{ model }} x{y=\"1\"}", plain()),
            "{{pod}} {{model} {model}} {{ model }} x{y=\"1\"}");
  EXPECT_EQ(renderQuery("", plain()), "");
  EXPECT_EQ(renderQuery("{{", plain()), "{{");
}

TEST(AnalysisRenderQuery, HostileValuesStayInsideTheString) {
  struct Case {
    const char* name;
    std::string value;
    std::string escaped;
  };
  const Case cases[] = {
      {"quote", "a\"b", R"(a\"b)"},
      {"backslash", "a\\b", R"(a\\b)"},
      {"trailing backslash", "a\\", R"(a\\)"},
      {"newline", "a\nb", R"(a\nb)"},
      {"carriage return and tab", "a\r\tb", R"(a\r\tb)"},
      {"control bytes", std::string("a\x01\x1f\x7f", 4), R"(a\x01\x1f\x7f)"},
      {"nul", std::string("a\0b", 3), R"(a\x00b)"},
      {"label break-out", R"("} or vector(1) or up{a=")", R"(\"} or vector(1) or up{a=\")"},
      {"escaped quote break-out", R"(\"})", R"(\\\"})"},
      {"placeholder inside a value", "{{model}}{{track}}", "{{model}}{{track}}"},
      {"single quote and backtick", "a'b`c", "a'b`c"},
      {"utf-8", "caf\xc3\xa9 \xf0\x9f\x9a\x80", "caf\xc3\xa9 \xf0\x9f\x9a\x80"},
      {"invalid utf-8", "a\xff\xc3", "a\xef\xbf\xbd\xef\xbf\xbd"},
      {"empty", "", ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Placeholders p = plain();
    p.model = c.value;
    const std::string out = renderQuery(R"(up{model="{{model}}",track="{{track}}"})", p);
    EXPECT_EQ(out, "up{model=\"" + c.escaped + "\",track=\"canary\"}");
    EXPECT_TRUE(isValidUtf8(out));
    // Whatever the value, the rendered query has no raw newline and exactly
    // the quotes the template had, unescaped.
    EXPECT_EQ(out.find('\n'), std::string::npos);
    int unescapedQuotes = 0;
    for (std::size_t i = 0; i < out.size(); ++i) {
      if (out[i] == '\\') {
        ++i;  // skip the escaped character
      } else if (out[i] == '"') {
        ++unescapedQuotes;
      }
    }
    EXPECT_EQ(unescapedQuotes, 4);
  }
}

TEST(AnalysisRenderQuery, EveryPlaceholderIsEscaped) {
  const Placeholders p{"m\"", "v\\", "n\n", "t\"}"};
  EXPECT_EQ(renderQuery("{{model}}|{{version}}|{{namespace}}|{{track}}", p), R"(m\"|v\\|n\n|t\"})");
}

TEST(AnalysisRenderQuery, TemplateTextIsMadeValidUtf8) {
  EXPECT_EQ(renderQuery("up\xff{model=\"{{model}}\"}", plain()), "up\xef\xbf\xbd{model=\"fraud\"}");
}

}  // namespace
}  // namespace mlops::analysis
