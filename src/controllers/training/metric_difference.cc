#include "controllers/training/metric_difference.h"

#include <algorithm>
#include <cmath>

namespace mlops::training {
namespace {

double slack(double a, double b) {
  return 1e-9 * std::max({1.0, std::fabs(a), std::fabs(b)});
}

}  // namespace

bool absoluteDifferenceWithin(double a, double b, double bound) {
  return std::fabs(a - b) <= bound + slack(a, b);
}

bool differenceAtLeast(double a, double b, double bound) {
  return a - b >= bound - slack(a, b);
}

}  // namespace mlops::training
