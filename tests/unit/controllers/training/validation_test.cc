#include "controllers/training/validation.h"

#include <gtest/gtest.h>

namespace mlops::training {
namespace {

using Json = nlohmann::json;

Json gates(const std::string& list) {
  return Json::parse(R"({"gates": )" + list + "}");
}

struct GateCase {
  const char* name;
  Json validation;
  std::map<std::string, double> metrics;
  bool passed;
  std::string reason;
  std::string message;
};

TEST(ValidateMetrics, Gates) {
  const std::map<std::string, double> m{{"accuracy", 0.9}, {"loss", 0.25}};
  const GateCase cases[] = {
      {"no validation", Json(), m, true, "Passed", "no gates"},
      {"empty validation", Json::object(), m, true, "Passed", "no gates"},
      {">= equal passes", gates(R"([{"metric":"accuracy","op":">=","value":0.9}])"), m, true,
       "Passed", "1 gate passed"},
      {"> equal fails", gates(R"([{"metric":"accuracy","op":">","value":0.9}])"), m, false,
       "GateFailed", R"(gate "accuracy > 0.9" failed: accuracy is 0.9)"},
      {"<= equal passes", gates(R"([{"metric":"loss","op":"<=","value":0.25}])"), m, true, "Passed",
       "1 gate passed"},
      {"< equal fails", gates(R"([{"metric":"loss","op":"<","value":0.25}])"), m, false,
       "GateFailed", R"(gate "loss < 0.25" failed: loss is 0.25)"},
      {">= below fails", gates(R"([{"metric":"accuracy","op":">=","value":0.95}])"), m, false,
       "GateFailed", R"(gate "accuracy >= 0.95" failed: accuracy is 0.9)"},
      {"missing metric fails", gates(R"([{"metric":"f1","op":">=","value":0.5}])"), m, false,
       "GateFailed", R"(gate "f1 >= 0.5" failed: the run reported no metric "f1")"},
      {"all failures listed",
       gates(
           R"([{"metric":"accuracy","op":">=","value":0.95},{"metric":"loss","op":"<","value":0.3},)"
           R"({"metric":"loss","op":"<","value":0.1}])"),
       m, false, "GateFailed",
       R"(gate "accuracy >= 0.95" failed: accuracy is 0.9; gate "loss < 0.1" failed: loss is 0.25)"},
      {"two pass",
       gates(
           R"([{"metric":"accuracy","op":">","value":0.5},{"metric":"loss","op":"<","value":1}])"),
       m, true, "Passed", "2 gates passed"},
      {"unknown op", gates(R"([{"metric":"accuracy","op":"==","value":0.9}])"), m, false,
       "InvalidGate",
       R"(gate {"metric":"accuracy","op":"==","value":0.9} is invalid: it needs a metric, an op (>=, >, <=, <) and a numeric value)"},
      {"value not a number", gates(R"([{"metric":"accuracy","op":">=","value":"0.9"}])"), m, false,
       "InvalidGate",
       R"(gate {"metric":"accuracy","op":">=","value":"0.9"} is invalid: it needs a metric, an op (>=, >, <=, <) and a numeric value)"},
      {"large bound formatting", gates(R"([{"metric":"loss","op":">","value":1e21}])"), m, false,
       "GateFailed", R"(gate "loss > 1e+21" failed: loss is 0.25)"},
  };
  for (const auto& c : cases) {
    const auto v = validateMetrics(c.validation, c.metrics, std::nullopt);
    EXPECT_EQ(v.passed, c.passed) << c.name;
    EXPECT_EQ(v.reason, c.reason) << c.name;
    EXPECT_EQ(v.message, c.message) << c.name;
  }
}

struct ProductionCase {
  const char* name;
  Json compare;
  std::map<std::string, double> metrics;
  std::optional<ProductionMetrics> production;
  bool passed;
  std::string message;
};

TEST(ValidateMetrics, CompareToProduction) {
  const ProductionMetrics prod{"iris-v3", {{"accuracy", 0.95}, {"loss", 0.2}}};
  const ProductionMetrics prodWithout{"iris-v3", {{"f1", 0.9}}};
  const Json acc = Json::parse(R"({"metric":"accuracy"})");
  const Json accDelta = Json::parse(R"({"metric":"accuracy","minDelta":0.01})");
  const Json lossLower = Json::parse(R"({"metric":"loss","higherIsBetter":false,"minDelta":0.05})");
  const ProductionCase cases[] = {
      {"nothing in production",
       acc,
       {{"accuracy", 0.5}},
       std::nullopt,
       true,
       "no gates; no version is in production, nothing to compare accuracy with"},
      {"tie passes with minDelta 0",
       acc,
       {{"accuracy", 0.95}},
       prod,
       true,
       "no gates; beats production: accuracy 0.95 vs 0.95 in production version iris-v3 (higher is "
       "better, minDelta 0)"},
      {"worse fails",
       acc,
       {{"accuracy", 0.94}},
       prod,
       false,
       "compareToProduction failed: accuracy 0.94 vs 0.95 in production version iris-v3 (higher is "
       "better, minDelta 0)"},
      {"exactly minDelta better passes despite rounding",
       accDelta,
       {{"accuracy", 0.96}},
       prod,
       true,
       "no gates; beats production: accuracy 0.96 vs 0.95 in production version iris-v3 (higher is "
       "better, minDelta 0.01)"},
      {"less than minDelta fails",
       accDelta,
       {{"accuracy", 0.955}},
       prod,
       false,
       "compareToProduction failed: accuracy 0.955 vs 0.95 in production version iris-v3 (higher "
       "is better, minDelta 0.01)"},
      {"lower is better passes",
       lossLower,
       {{"loss", 0.15}},
       prod,
       true,
       "no gates; beats production: loss 0.15 vs 0.2 in production version iris-v3 (lower is "
       "better, minDelta 0.05)"},
      {"lower is better fails",
       lossLower,
       {{"loss", 0.16}},
       prod,
       false,
       "compareToProduction failed: loss 0.16 vs 0.2 in production version iris-v3 (lower is "
       "better, minDelta 0.05)"},
      {"run lacks the metric fails",
       acc,
       {{"f1", 0.99}},
       prod,
       false,
       R"(compareToProduction failed: the run reported no metric "accuracy")"},
      {"production lacks the metric passes",
       acc,
       {{"accuracy", 0.1}},
       prodWithout,
       true,
       R"(no gates; production version iris-v3 has no metric "accuracy", nothing to compare with)"},
  };
  for (const auto& c : cases) {
    const auto v =
        validateMetrics(Json{{"compareToProduction", c.compare}}, c.metrics, c.production);
    EXPECT_EQ(v.passed, c.passed) << c.name;
    EXPECT_EQ(v.reason, c.passed ? "Passed" : "ProductionNotBeaten") << c.name;
    EXPECT_EQ(v.message, c.message) << c.name;
  }
}

TEST(ValidateMetrics, GateFailureTakesPrecedenceAndAllFindingsAreListed) {
  const Json validation = Json::parse(
      R"({"gates":[{"metric":"accuracy","op":">=","value":0.99}],"compareToProduction":{"metric":"accuracy"}})");
  const auto v = validateMetrics(validation, {{"accuracy", 0.9}},
                                 ProductionMetrics{"m-v1", {{"accuracy", 0.95}}});
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.reason, "GateFailed");
  EXPECT_EQ(
      v.message,
      R"(gate "accuracy >= 0.99" failed: accuracy is 0.9; compareToProduction failed: accuracy 0.9 vs 0.95 )"
      R"(in production version m-v1 (higher is better, minDelta 0))");
}

}  // namespace
}  // namespace mlops::training
