#include "objects/canonical_json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "core/number_format.h"

namespace mlops::objects {
namespace {

using Json = nlohmann::json;

// Decodes one UTF-8 sequence at s[i], advancing i. Rejects overlong forms,
// surrogate code points and values above U+10FFFF (RFC 3629).
std::optional<char32_t> decodeUtf8(std::string_view s, size_t& i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) {
    ++i;
    return lead;
  }
  int extra = 0;
  char32_t cp = 0;
  char32_t minimum = 0;
  if ((lead & 0xE0) == 0xC0) {
    extra = 1, cp = lead & 0x1F, minimum = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    extra = 2, cp = lead & 0x0F, minimum = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    extra = 3, cp = lead & 0x07, minimum = 0x10000;
  } else {
    return std::nullopt;
  }
  if (i + static_cast<size_t>(extra) >= s.size()) {
    return std::nullopt;  // truncated
  }
  for (int k = 1; k <= extra; ++k) {
    const unsigned char c = byte(i + k);
    if ((c & 0xC0) != 0x80) {
      return std::nullopt;
    }
    cp = (cp << 6) | (c & 0x3F);
  }
  if (cp < minimum || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return std::nullopt;
  }
  i += extra + 1;
  return cp;
}

std::optional<std::u16string> toUtf16(std::string_view s) {
  std::u16string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    auto cp = decodeUtf8(s, i);
    if (!cp) {
      return std::nullopt;
    }
    if (*cp >= 0x10000) {
      const char32_t v = *cp - 0x10000;
      out.push_back(static_cast<char16_t>(0xD800 + (v >> 10)));
      out.push_back(static_cast<char16_t>(0xDC00 + (v & 0x3FF)));
    } else {
      out.push_back(static_cast<char16_t>(*cp));
    }
  }
  return out;
}

Status writeString(std::string_view s, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (size_t i = 0; i < s.size();) {
    const size_t start = i;
    auto cp = decodeUtf8(s, i);
    if (!cp) {
      return makeError(ErrorCode::kInvalidArgument,
                       "string is not valid UTF-8 (byte " + std::to_string(start) + ")");
    }
    switch (*cp) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (*cp < 0x20) {
          out += "\\u00";
          out.push_back(kHex[*cp >> 4]);
          out.push_back(kHex[*cp & 0xF]);
        } else {
          out.append(s.substr(start, i - start));
        }
    }
  }
  out.push_back('"');
  return okStatus();
}

Status writeValue(const Json& v, std::string& out);

Status writeObject(const Json& obj, std::string& out) {
  // nlohmann orders members by UTF-8 bytes (code points); JCS wants UTF-16
  // code units, which differ for characters above U+FFFF.
  std::vector<std::pair<std::u16string, Json::const_iterator>> members;
  members.reserve(obj.size());
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    auto key16 = toUtf16(it.key());
    if (!key16) {
      return makeError(ErrorCode::kInvalidArgument, "member name is not valid UTF-8");
    }
    members.emplace_back(std::move(*key16), it);
  }
  std::sort(members.begin(), members.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  out.push_back('{');
  bool first = true;
  for (const auto& [key16, it] : members) {
    if (!first) {
      out.push_back(',');
    }
    first = false;
    if (auto st = writeString(it.key(), out); !st) {
      return st;
    }
    out.push_back(':');
    if (auto st = writeValue(it.value(), out); !st) {
      return st;
    }
  }
  out.push_back('}');
  return okStatus();
}

Status writeValue(const Json& v, std::string& out) {
  switch (v.type()) {
    case Json::value_t::null:
      out += "null";
      return okStatus();
    case Json::value_t::boolean:
      out += v.get<bool>() ? "true" : "false";
      return okStatus();
    case Json::value_t::number_integer:
      out += std::to_string(v.get<int64_t>());
      return okStatus();
    case Json::value_t::number_unsigned:
      out += std::to_string(v.get<uint64_t>());
      return okStatus();
    case Json::value_t::number_float: {
      const double d = v.get<double>();
      if (!std::isfinite(d)) {
        return makeError(ErrorCode::kInvalidArgument,
                         "number " + ecmaScriptNumber(d) + " has no JSON representation");
      }
      out += ecmaScriptNumber(d);
      return okStatus();
    }
    case Json::value_t::string:
      return writeString(v.get_ref<const std::string&>(), out);
    case Json::value_t::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& item : v) {
        if (!first) {
          out.push_back(',');
        }
        first = false;
        if (auto st = writeValue(item, out); !st) {
          return st;
        }
      }
      out.push_back(']');
      return okStatus();
    }
    case Json::value_t::object:
      return writeObject(v, out);
    case Json::value_t::binary:
    case Json::value_t::discarded:
      break;
  }
  return makeError(ErrorCode::kInvalidArgument, "value has no JSON representation");
}

}  // namespace

std::string ecmaScriptNumber(double v) {
  return formatNumber(v);
}

Result<std::string> canonicalJson(const nlohmann::json& value) {
  std::string out;
  if (auto st = writeValue(value, out); !st) {
    return st.error();
  }
  return out;
}

}  // namespace mlops::objects
