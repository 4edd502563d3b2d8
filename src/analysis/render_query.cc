// renderQuery (analysis.h): placeholders replaced by escaped PromQL string
// contents.
#include "analysis/analysis.h"

#include <array>
#include <string>
#include <string_view>
#include <utility>

#include "core/utf8.h"

namespace mlops::analysis {
namespace {

// The contents of a PromQL double-quoted string that reads back as `raw`
// (Go's strconv.Unquote rules, which PromQL's lexer follows). Invalid UTF-8
// is replaced first: the lexer rejects it. A raw newline would end the string
// ("unterminated quoted string"); a quote or backslash would end or extend it.
std::string escapePromqlString(std::string_view raw) {
  static constexpr char kHex[] = "0123456789abcdef";
  const std::string valid = sanitizeUtf8(raw);
  std::string out;
  out.reserve(valid.size() + 8);
  for (const char c : valid) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (u < 0x20 || u == 0x7f) {
          out += "\\x";
          out.push_back(kHex[u >> 4]);
          out.push_back(kHex[u & 0x0f]);
        } else {
          out.push_back(c);
        }
    }
  }
  return out;
}

}  // namespace

std::string renderQuery(std::string_view query, const Placeholders& placeholders) {
  const std::array<std::pair<std::string_view, std::string>, 4> replacements = {{
      {"{{model}}", escapePromqlString(placeholders.model)},
      {"{{version}}", escapePromqlString(placeholders.version)},
      {"{{namespace}}", escapePromqlString(placeholders.ns)},
      {"{{track}}", escapePromqlString(placeholders.track)},
  }};
  // One pass over the template: a value is never scanned again, so a value
  // that itself contains "{{model}}" stays literal text.
  std::string out;
  out.reserve(query.size() + 64);
  std::size_t i = 0;
  while (i < query.size()) {
    bool replaced = false;
    if (query[i] == '{') {
      for (const auto& [placeholder, value] : replacements) {
        if (query.substr(i, placeholder.size()) == placeholder) {
          out += value;
          i += placeholder.size();
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) {
      out.push_back(query[i]);
      ++i;
    }
  }
  // The template's own text may be anything the caller passed; the query is
  // shown in status, so it must be valid UTF-8 too.
  return sanitizeUtf8(out);
}

}  // namespace mlops::analysis
