#include "core/result.h"

#include <gtest/gtest.h>

namespace mlops {
namespace {

Result<int> parsePositive(int v) {
  if (v <= 0) return makeError(ErrorCode::kInvalidArgument, "must be positive");
  return v;
}

TEST(Result, CarriesValueOrError) {
  auto good = parsePositive(3);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 3);

  auto bad = parsePositive(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message, "must be positive");
}

TEST(Error, TransientOnlyForRetryableCodes) {
  EXPECT_TRUE(makeError(ErrorCode::kUnavailable, "x").transient());
  EXPECT_TRUE(makeError(ErrorCode::kConflict, "x").transient());
  EXPECT_TRUE(makeError(ErrorCode::kTooManyRequests, "x").transient());
  EXPECT_FALSE(makeError(ErrorCode::kForbidden, "x").transient());
  EXPECT_FALSE(makeError(ErrorCode::kInvalid, "x").transient());
  EXPECT_FALSE(makeError(ErrorCode::kNotFound, "x").transient());
}

TEST(Error, ToStringNamesCodeStatusAndReason) {
  Error e = makeError(ErrorCode::kForbidden, "secrets is forbidden");
  e.httpStatus = 403;
  e.reason = "Forbidden";
  EXPECT_EQ(e.toString(), "Forbidden (HTTP 403, Forbidden): secrets is forbidden");
  EXPECT_EQ(makeError(ErrorCode::kTimeout, "slow").toString(), "Timeout: slow");
}

}  // namespace
}  // namespace mlops
