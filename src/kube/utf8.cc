#include "kube/utf8.h"

namespace mlops::kube {
namespace {

bool inRange(unsigned char c, unsigned char lo, unsigned char hi) {
  return c >= lo && c <= hi;
}

// Length of the well-formed sequence starting at `i` (Unicode table 3-7), or
// 0 when the bytes there do not form one.
size_t sequenceLength(std::string_view s, size_t i) {
  const auto at = [&](size_t k) -> unsigned char {
    return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0;
  };
  const unsigned char b0 = at(0);
  if (b0 < 0x80) {
    return 1;
  }
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  size_t length = 0;
  if (inRange(b0, 0xC2, 0xDF)) {
    length = 2;
  } else if (b0 == 0xE0) {
    length = 3;
    lo = 0xA0;
  } else if (b0 == 0xED) {
    length = 3;
    hi = 0x9F;  // no surrogates
  } else if (inRange(b0, 0xE1, 0xEF)) {
    length = 3;
  } else if (b0 == 0xF0) {
    length = 4;
    lo = 0x90;
  } else if (b0 == 0xF4) {
    length = 4;
    hi = 0x8F;  // nothing above U+10FFFF
  } else if (inRange(b0, 0xF1, 0xF3)) {
    length = 4;
  } else {
    return 0;
  }
  if (i + length > s.size() || !inRange(at(1), lo, hi)) {
    return 0;
  }
  for (size_t k = 2; k < length; ++k) {
    if (!inRange(at(k), 0x80, 0xBF)) {
      return 0;
    }
  }
  return length;
}

}  // namespace

bool isValidUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const size_t n = sequenceLength(text, i);
    if (n == 0) {
      return false;
    }
    i += n;
  }
  return true;
}

std::string toValidUtf8(std::string_view text) {
  if (isValidUtf8(text)) {
    return std::string(text);
  }
  std::string out;
  out.reserve(text.size() + 8);
  for (size_t i = 0; i < text.size();) {
    const size_t n = sequenceLength(text, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
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

}  // namespace mlops::kube
