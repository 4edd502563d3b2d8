#include "core/number_format.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>

namespace mlops {
namespace {

TEST(FormatNumber, ShortestTextThatReadsBackExactly) {
  const std::pair<double, const char*> cases[] = {
      {0.0, "0"},
      {-0.0, "0"},
      {1.0, "1"},
      {0.002, "0.002"},
      {0.94, "0.94"},
      {-2.5e-3, "-0.0025"},
      {0.1 + 0.2, "0.30000000000000004"},  // the double really is not 0.3
      {1e21, "1e+21"},
      {123456789012345680000.0, "123456789012345680000"},
      {1e-7, "1e-7"},
      {0.000001, "0.000001"},
      {std::numeric_limits<double>::max(), "1.7976931348623157e+308"},
      {std::numeric_limits<double>::denorm_min(), "5e-324"},
  };
  for (const auto& [value, text] : cases) {
    EXPECT_EQ(formatNumber(value), text);
    if (std::string(text) != "0") {
      // strtod, not stod: stod throws on subnormal results.
      EXPECT_EQ(std::strtod(formatNumber(value).c_str(), nullptr), value) << text;
    }
  }
  EXPECT_EQ(formatNumber(std::nan("")), "NaN");
  EXPECT_EQ(formatNumber(-std::numeric_limits<double>::infinity()), "-Infinity");
}

TEST(ExactDifference, IsTheDifferenceOfTheDecimalsShown) {
  ASSERT_NE(0.962 - 0.96, 0.002);  // why it exists
  EXPECT_EQ(exactDifference(0.962, 0.96), 0.002);
  EXPECT_EQ(formatNumber(exactDifference(0.962, 0.96)), "0.002");
  EXPECT_EQ(exactDifference(0.96, 0.962), -0.002);
  EXPECT_EQ(exactDifference(0.3, 0.1), 0.2);
  EXPECT_EQ(exactDifference(1.000000001, 1.0), 1e-9);
  EXPECT_EQ(exactDifference(1e10, 0.5), 9999999999.5);
  EXPECT_EQ(exactDifference(5, 5), 0.0);
  EXPECT_EQ(exactDifference(0, 0.25), -0.25);
  EXPECT_EQ(exactDifference(-1.5, 2.25), -3.75);
  // Too far apart to align: the binary difference, which is exact enough.
  EXPECT_EQ(exactDifference(1e300, 1e-300), 1e300);
  EXPECT_TRUE(std::isinf(exactDifference(std::numeric_limits<double>::infinity(), 1)));
}

}  // namespace
}  // namespace mlops
