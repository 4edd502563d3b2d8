#include "core/number_format.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace mlops {
namespace {

// The shortest round-trip digits of |v| (no leading zeros) and the decimal
// exponent of the first digit: |v| = d.ddd × 10^exponent. v finite, non-zero.
struct Decimal {
  std::string digits;
  int exponent = 0;
};

Decimal shortestDecimal(double v) {
  // to_chars without a precision gives the shortest digits that round-trip,
  // choosing the closest to v on ties.
  char buf[64];
  const auto res =
      std::to_chars(buf, buf + sizeof buf, std::fabs(v), std::chars_format::scientific);
  const std::string_view sci(buf, static_cast<size_t>(res.ptr - buf));
  const size_t ePos = sci.find('e');
  Decimal out;
  for (char c : sci.substr(0, ePos)) {
    if (c != '.') {
      out.digits.push_back(c);
    }
  }
  out.exponent = std::atoi(std::string(sci.substr(ePos + 1)).c_str());
  return out;
}

}  // namespace

std::string formatNumber(double v) {
  if (std::isnan(v)) {
    return "NaN";
  }
  if (std::isinf(v)) {
    return v < 0 ? "-Infinity" : "Infinity";
  }
  if (v == 0) {
    return "0";  // also -0
  }
  std::string out = v < 0 ? "-" : "";
  const Decimal d = shortestDecimal(v);
  const std::string& digits = d.digits;
  // ECMAScript's k (digit count) and n (position of the decimal point).
  const int k = static_cast<int>(digits.size());
  const int n = d.exponent + 1;
  if (k <= n && n <= 21) {
    out += digits;
    out.append(static_cast<size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, static_cast<size_t>(n));
    out.push_back('.');
    out += digits.substr(static_cast<size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(static_cast<size_t>(-n), '0');
    out += digits;
  } else {
    out.push_back(digits[0]);
    if (k > 1) {
      out.push_back('.');
      out += digits.substr(1);
    }
    const int e = n - 1;
    out += e >= 0 ? "e+" : "e-";
    out += std::to_string(std::abs(e));
  }
  return out;
}

// Two 17-digit mantissas aligned to one exponent need more than 64 bits; the
// GCC/Clang extension type is marked as such so -Wpedantic stays quiet.
__extension__ using Int128 = __int128;

double exactDifference(double a, double b) {
  if (!std::isfinite(a) || !std::isfinite(b)) {
    return a - b;
  }
  if (a == 0 || b == 0) {
    return a - b;  // exact: one operand is zero
  }
  // Each operand as sign × mantissa × 10^last, with at most 17 mantissa digits.
  struct Scaled {
    Int128 mantissa;
    int last;  // decimal exponent of the last digit
  };
  const auto scaled = [](double v) {
    const Decimal d = shortestDecimal(v);
    Int128 m = 0;
    for (char c : d.digits) {
      m = m * 10 + (c - '0');
    }
    return Scaled{v < 0 ? -m : m, d.exponent - static_cast<int>(d.digits.size()) + 1};
  };
  Scaled x = scaled(a);
  Scaled y = scaled(b);
  // Align to the smaller last-digit exponent; 10^17 × 10^20 fits in 127 bits.
  constexpr int kMaxShift = 20;
  const int last = std::min(x.last, y.last);
  const int shiftX = x.last - last;
  const int shiftY = y.last - last;
  if (shiftX > kMaxShift || shiftY > kMaxShift) {
    return a - b;
  }
  for (int i = 0; i < shiftX; ++i) {
    x.mantissa *= 10;
  }
  for (int i = 0; i < shiftY; ++i) {
    y.mantissa *= 10;
  }
  Int128 diff = x.mantissa - y.mantissa;
  if (diff == 0) {
    return 0.0;
  }
  const bool negative = diff < 0;
  if (negative) {
    diff = -diff;
  }
  std::string text;
  while (diff > 0) {
    text.insert(text.begin(), static_cast<char>('0' + static_cast<int>(diff % 10)));
    diff /= 10;
  }
  text = (negative ? "-" : "") + text + "e" + std::to_string(last);
  double out = 0;
  // One correctly rounded conversion of the exact decimal difference.
  const auto res = std::from_chars(text.data(), text.data() + text.size(), out);
  if (res.ec != std::errc()) {
    return a - b;
  }
  return out;
}

}  // namespace mlops
