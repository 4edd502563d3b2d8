// Comparing the difference of two reported metric values with a bound.
//
// a - b carries binary rounding: 0.96 - 0.95 is 0.010000000000000009 and
// 0.3 - 0.2 is 0.09999999999999998, so a tolerance or minimum improvement of
// 0.01 or 0.1 written by a user would fail or pass by accident. These helpers
// allow a slack of 1e-9 relative to the operands' magnitude (absolute 1e-9 for
// metrics of order 1) — far below any difference a metric can meaningfully
// express, far above the rounding.
#pragma once

namespace mlops::training {

// |a - b| <= bound, up to rounding.
bool absoluteDifferenceWithin(double a, double b, double bound);

// a - b >= bound, up to rounding.
bool differenceAtLeast(double a, double b, double bound);

}  // namespace mlops::training
