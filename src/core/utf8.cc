#include "core/utf8.h"

namespace mlops {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the well-formed UTF-8 sequence starting at text[i], or 0 when the
// byte there does not start one (Unicode Table 3-7, well-formed byte sequences).
size_t sequenceLength(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) {
    return 1;
  }
  size_t len = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) {
      lo = 0xA0;  // no overlongs
    }
    if (b0 == 0xED) {
      hi = 0x9F;  // no surrogates
    }
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) {
      lo = 0x90;  // no overlongs
    }
    if (b0 == 0xF4) {
      hi = 0x8F;  // nothing above U+10FFFF
    }
  } else {
    return 0;
  }
  if (i + len > text.size()) {
    return 0;
  }
  const unsigned char b1 = byte(i + 1);
  if (b1 < lo || b1 > hi) {
    return 0;
  }
  for (size_t k = 2; k < len; ++k) {
    const unsigned char b = byte(i + k);
    if (b < 0x80 || b > 0xBF) {
      return 0;
    }
  }
  return len;
}

}  // namespace

bool isValidUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const size_t len = sequenceLength(text, i);
    if (len == 0) {
      return false;
    }
    i += len;
  }
  return true;
}

std::string_view utf8Prefix(std::string_view text, size_t maxBytes) {
  if (text.size() <= maxBytes) {
    return text;
  }
  size_t end = 0;
  while (end < text.size()) {
    size_t n = sequenceLength(text, end);
    if (n == 0) {
      n = 1;  // a stray byte is cut like a character of its own
    }
    if (end + n > maxBytes) {
      break;
    }
    end += n;
  }
  return text.substr(0, end);
}

std::string sanitizeUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t len = sequenceLength(text, i);
    if (len == 0) {
      out += kReplacement;
      ++i;
    } else {
      out.append(text.substr(i, len));
      i += len;
    }
  }
  return out;
}

std::string truncateUtf8(std::string_view text, size_t maxBytes, std::string_view ellipsis) {
  std::string clean = sanitizeUtf8(text);
  if (clean.size() <= maxBytes) {
    return clean;
  }
  size_t end = 0;
  // `clean` is valid, so walking whole sequences finds the last boundary.
  while (end < clean.size()) {
    const size_t len = sequenceLength(clean, end);
    if (end + len > maxBytes) {
      break;
    }
    end += len;
  }
  return clean.substr(0, end) + std::string(ellipsis);
}

}  // namespace mlops
