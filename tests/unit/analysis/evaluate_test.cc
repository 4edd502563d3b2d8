// evaluateChecks through a fake QueryClient: rendering, one query per check,
// per-check verdicts and the worst of them, and a throwing client fenced.
#include "analysis/evaluate.h"

#include <gtest/gtest.h>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace mlops::analysis {
namespace {

using prometheus::QueryResult;
using prometheus::ResultType;

// Answers by query text; records what was asked.
class FakeQueryClient : public prometheus::QueryClient {
 public:
  std::map<std::string, Result<QueryResult>> answers;
  std::vector<std::string> asked;
  bool throwOnQuery = false;

  Result<QueryResult> query(const std::string& promql) override {
    asked.push_back(promql);
    if (throwOnQuery) {
      throw std::runtime_error("socket exploded");
    }
    auto it = answers.find(promql);
    if (it == answers.end()) {
      return makeError(ErrorCode::kInternal, "unexpected query " + promql);
    }
    return it->second;
  }
};

Result<QueryResult> value(double v) {
  QueryResult r;
  r.type = ResultType::kVector;
  r.series.push_back({{{"model", "m"}}, v});
  return r;
}

Result<QueryResult> empty() {
  QueryResult r;
  r.type = ResultType::kVector;
  return r;
}

const Placeholders kCanary{"fraud", "3", "ml", "canary"};

TEST(AnalysisEvaluate, RendersQueriesAndJudgesEachCheck) {
  const std::vector<Check> checks = {
      {"accuracy", R"(acc{model="{{model}}",version="{{version}}"})", 0.9, std::nullopt,
       OnNoData::kInconclusive},
      {"latency", R"(lat{track="{{track}}",namespace="{{namespace}}"})", std::nullopt, 0.2,
       OnNoData::kFail},
  };
  FakeQueryClient client;
  client.answers.emplace(R"(acc{model="fraud",version="3"})", value(0.95));
  client.answers.emplace(R"(lat{track="canary",namespace="ml"})", value(0.1));
  Evaluation e = evaluateChecks(checks, kCanary, client, "2026-01-01T00:00:00Z");
  EXPECT_EQ(e.queries, 2);
  EXPECT_EQ(client.asked.size(), 2u);
  ASSERT_EQ(e.measurements.size(), 2u);
  EXPECT_EQ(e.measurements[0].check, "accuracy");
  EXPECT_EQ(e.measurements[0].query, R"(acc{model="fraud",version="3"})");
  EXPECT_EQ(e.measurements[0].verdict, Verdict::kSuccessful);
  EXPECT_EQ(e.measurements[1].check, "latency");
  EXPECT_EQ(e.measurements[1].verdict, Verdict::kSuccessful);
  EXPECT_EQ(e.measurements[1].time, "2026-01-01T00:00:00Z");
  EXPECT_EQ(e.verdict, Verdict::kSuccessful);
}

TEST(AnalysisEvaluate, WorstVerdictAndEveryCheckStillQueried) {
  const std::vector<Check> checks = {
      {"a", "fails", 1, std::nullopt, OnNoData::kInconclusive},
      {"b", "errors", 1, std::nullopt, OnNoData::kInconclusive},
      {"c", "nodata", 1, std::nullopt, OnNoData::kInconclusive},
      {"d", "passes", 1, std::nullopt, OnNoData::kInconclusive},
  };
  FakeQueryClient client;
  client.answers.emplace("fails", value(0));
  client.answers.emplace("errors", Result<QueryResult>(makeError(ErrorCode::kTimeout, "slow")));
  client.answers.emplace("nodata", empty());
  client.answers.emplace("passes", value(2));
  Evaluation e = evaluateChecks(checks, kCanary, client, "t");
  EXPECT_EQ(e.queries, 4);
  ASSERT_EQ(e.measurements.size(), 4u);
  EXPECT_EQ(e.measurements[0].verdict, Verdict::kFailed);
  EXPECT_EQ(e.measurements[1].verdict, Verdict::kError);
  EXPECT_EQ(e.measurements[1].message, "slow");
  EXPECT_EQ(e.measurements[2].verdict, Verdict::kInconclusive);
  EXPECT_EQ(e.measurements[3].verdict, Verdict::kSuccessful);
  EXPECT_EQ(e.verdict, Verdict::kFailed);

  // Without the failing check the worst is the Error.
  Evaluation rest = evaluateChecks({checks[1], checks[2], checks[3]}, kCanary, client, "t");
  EXPECT_EQ(rest.verdict, Verdict::kError);
}

TEST(AnalysisEvaluate, NoChecksIsSuccessfulWithoutQueries) {
  FakeQueryClient client;
  Evaluation e = evaluateChecks({}, kCanary, client, "t");
  EXPECT_EQ(e.queries, 0);
  EXPECT_TRUE(e.measurements.empty());
  EXPECT_EQ(e.verdict, Verdict::kSuccessful);
  EXPECT_TRUE(client.asked.empty());
}

TEST(AnalysisEvaluate, ThrowingClientBecomesAnError) {
  FakeQueryClient client;
  client.throwOnQuery = true;
  Evaluation e =
      evaluateChecks({{"a", "up", 1, std::nullopt, OnNoData::kPass}}, kCanary, client, "t");
  ASSERT_EQ(e.measurements.size(), 1u);
  EXPECT_EQ(e.measurements[0].verdict, Verdict::kError);
  EXPECT_NE(e.measurements[0].message.find("socket exploded"), std::string::npos);
  EXPECT_EQ(e.verdict, Verdict::kError);
}

}  // namespace
}  // namespace mlops::analysis
