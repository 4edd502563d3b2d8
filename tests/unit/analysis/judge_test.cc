// judge: one check's verdict from its query's outcome, for every shape,
// bound and special value, and for errors.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <optional>
#include <string>

#include "analysis/analysis.h"
#include "core/utf8.h"

namespace mlops::analysis {
namespace {

using prometheus::QueryResult;
using prometheus::ResultType;
using prometheus::Series;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
const char* const kTime = "2026-01-02T03:04:05Z";

QueryResult vectorOf(std::initializer_list<double> values) {
  QueryResult r;
  r.type = ResultType::kVector;
  int i = 0;
  for (double v : values) {
    Series s;
    s.labels = {{"pod", "p" + std::to_string(i++)}};
    s.value = v;
    r.series.push_back(s);
  }
  return r;
}

QueryResult scalarOf(double v) {
  QueryResult r;
  r.type = ResultType::kScalar;
  r.series.push_back(Series{{}, v});
  return r;
}

Check check(std::optional<double> min, std::optional<double> max,
            OnNoData onNoData = OnNoData::kInconclusive) {
  return Check{"accuracy", "q", min, max, onNoData};
}

TEST(AnalysisJudge, ValuesAgainstBounds) {
  struct Case {
    const char* name;
    Check c;
    QueryResult result;
    Verdict verdict;
    std::optional<double> value;
    const char* message;
  };
  const Case cases[] = {
      {"inside", check(0.9, 1), vectorOf({0.95}), Verdict::kSuccessful, 0.95,
       "value 0.95 is within [0.9, 1]"},
      {"equal to min passes", check(0.9, 1), vectorOf({0.9}), Verdict::kSuccessful, 0.9,
       "value 0.9 is within [0.9, 1]"},
      {"equal to max passes", check(0.9, 1), vectorOf({1}), Verdict::kSuccessful, 1,
       "value 1 is within [0.9, 1]"},
      {"below min", check(0.9, 1), vectorOf({0.899}), Verdict::kFailed, 0.899,
       "value 0.899 is below min 0.9"},
      {"above max", check(0.9, 1), vectorOf({1.001}), Verdict::kFailed, 1.001,
       "value 1.001 is above max 1"},
      {"min only", check(0.5, std::nullopt), vectorOf({1e9}), Verdict::kSuccessful, 1e9,
       "value 1000000000 is within [0.5, +Inf]"},
      {"max only", check(std::nullopt, 0.01), vectorOf({0.02}), Verdict::kFailed, 0.02,
       "value 0.02 is above max 0.01"},
      {"max only, negative", check(std::nullopt, 0.01), vectorOf({-5}), Verdict::kSuccessful, -5,
       "value -5 is within [-Inf, 0.01]"},
      {"scalar", check(0, 10), scalarOf(3), Verdict::kSuccessful, 3, "value 3 is within [0, 10]"},
      {"scalar below", check(4, 10), scalarOf(3), Verdict::kFailed, 3, "value 3 is below min 4"},
      {"+Inf above max", check(0, 10), vectorOf({kInf}), Verdict::kFailed, std::nullopt,
       "value +Inf is above max 10"},
      {"+Inf with min only", check(0, std::nullopt), vectorOf({kInf}), Verdict::kSuccessful,
       std::nullopt, "value +Inf is within [0, +Inf]"},
      {"-Inf below min", check(0, std::nullopt), scalarOf(-kInf), Verdict::kFailed, std::nullopt,
       "value -Inf is below min 0"},
      {"NaN", check(0, 10), vectorOf({kNaN}), Verdict::kInconclusive, std::nullopt,
       "the value is NaN"},
      {"NaN scalar", check(0, 10), scalarOf(kNaN), Verdict::kInconclusive, std::nullopt,
       "the value is NaN"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const Measurement m = judge(c.c, "rendered{q=\"1\"}", c.result, kTime);
    EXPECT_EQ(m.verdict, c.verdict) << verdictName(m.verdict);
    EXPECT_EQ(m.value, c.value);
    EXPECT_EQ(m.message, c.message);
    EXPECT_EQ(m.check, "accuracy");
    EXPECT_EQ(m.query, "rendered{q=\"1\"}");
    EXPECT_EQ(m.time, kTime);
    EXPECT_EQ(m.min, c.c.min);
    EXPECT_EQ(m.max, c.c.max);
  }
}

TEST(AnalysisJudge, NoDataFollowsOnNoData) {
  struct Case {
    OnNoData onNoData;
    Verdict verdict;
    const char* policy;
  };
  const Case cases[] = {
      {OnNoData::kInconclusive, Verdict::kInconclusive, "Inconclusive"},
      {OnNoData::kFail, Verdict::kFailed, "Fail"},
      {OnNoData::kPass, Verdict::kSuccessful, "Pass"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.policy);
    const Measurement m = judge(check(0, 1, c.onNoData), "q", vectorOf({}), kTime);
    EXPECT_EQ(m.verdict, c.verdict);
    EXPECT_FALSE(m.value.has_value());
    EXPECT_NE(m.message.find("no data"), std::string::npos) << m.message;
    EXPECT_NE(m.message.find(c.policy), std::string::npos) << m.message;
  }
}

TEST(AnalysisJudge, WrongShapesAreErrors) {
  QueryResult matrix;
  matrix.type = ResultType::kMatrix;
  matrix.series = {Series{{{"a", "1"}}, 1}};
  QueryResult str;
  str.type = ResultType::kString;
  str.stringValue = "0.5";
  QueryResult emptyScalar;
  emptyScalar.type = ResultType::kScalar;
  struct Case {
    const char* name;
    QueryResult result;
    const char* expectInMessage;
  };
  const Case cases[] = {
      {"two series", vectorOf({0.5, 0.5}), "a vector of 2 series"},
      {"many series, one NaN", vectorOf({kNaN, 1, 2}), "a vector of 3 series"},
      {"matrix", matrix, "a matrix (range vector) of 1 series"},
      {"string", str, "returned a string"},
      {"malformed scalar", emptyScalar, "malformed scalar"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    // onNoData Pass must not turn a wrong shape into a pass.
    const Measurement m = judge(check(0, 1, OnNoData::kPass), "q", c.result, kTime);
    EXPECT_EQ(m.verdict, Verdict::kError);
    EXPECT_FALSE(m.value.has_value());
    EXPECT_NE(m.message.find(c.expectInMessage), std::string::npos) << m.message;
    EXPECT_NE(m.message.find("a check needs a scalar or a vector of exactly one series"),
              std::string::npos);
  }
}

TEST(AnalysisJudge, QueryErrorsAreErrorsWithTheirMessage) {
  Error bad =
      makeError(ErrorCode::kInvalidArgument, "bad_data: 1:5: parse error: unexpected \"}\"");
  bad.httpStatus = 400;
  const Measurement m = judge(check(0, 1, OnNoData::kPass), "q", bad, kTime);
  EXPECT_EQ(m.verdict, Verdict::kError);
  EXPECT_EQ(m.message, "bad_data: 1:5: parse error: unexpected \"}\"");
  EXPECT_FALSE(m.value.has_value());

  const Measurement timeout = judge(
      check(0, 1), "q", makeError(ErrorCode::kTimeout, "did not answer within 10000ms"), kTime);
  EXPECT_EQ(timeout.verdict, Verdict::kError);

  // A long message (e.g. from a transport layer) is cut to 256 bytes at a
  // character boundary.
  std::string longMessage;
  for (int i = 0; i < 200; ++i) {
    longMessage += "\xe2\x82\xac";  // €, 3 bytes
  }
  const Measurement cut =
      judge(check(0, 1), "q", makeError(ErrorCode::kUnavailable, longMessage), kTime);
  EXPECT_LE(cut.message.size(), 256u);
  EXPECT_GE(cut.message.size(), 250u);
  EXPECT_TRUE(isValidUtf8(cut.message));
}

}  // namespace
}  // namespace mlops::analysis
