// Numbers for people: the one formatter every message and Event uses, so a
// bound or a metric appears as the user or the trainer wrote it ("0.002",
// never "0.0020000000000000018" or "0.002000").
#pragma once

#include <string>

namespace mlops {

// The shortest decimal text that reads back as exactly `v` (round trip), in
// ECMAScript Number::toString form: "0" for ±0, plain digits for exponents in
// [-7, 21), otherwise d.ddde±X (1e+21, 1e-7, 333333333.3333333, 0.000001).
// Non-finite values give "NaN", "Infinity", "-Infinity".
std::string formatNumber(double v);

// a - b computed on the decimal values formatNumber(a) and formatNumber(b)
// show, rounded once to the nearest double, so that differences of metrics
// read as people compute them: exactDifference(0.962, 0.96) == 0.002, where
// the binary subtraction gives 0.0020000000000000018. When the two operands'
// digits are too far apart to align exactly (more than 20 decimal places
// between their last digits) or either is not finite, it is the binary a - b,
// whose error is then far below the larger operand's last digit anyway.
double exactDifference(double a, double b);

}  // namespace mlops
