#include "metrics/prometheus_domain_recorder.h"

#include <gtest/gtest.h>

#include <memory>
#include <thread>
#include <vector>

#include "scrape.h"

namespace mlops::metrics {
namespace {

using testing::sample;
using testing::scrape;

class PrometheusDomainRecorderTest : public ::testing::Test {
 protected:
  std::string text() const { return scrape(*registry_); }

  std::shared_ptr<::prometheus::Registry> registry_ = std::make_shared<::prometheus::Registry>();
  PrometheusDomainRecorder recorder_{*registry_};
};

TEST_F(PrometheusDomainRecorderTest, CountsPerNamespaceModelAndReason) {
  recorder_.promoted("ml", "iris");
  recorder_.promoted("ml", "iris");
  recorder_.promoted("other", "iris");
  recorder_.rolledBack("ml", "iris", "AnalysisFailed");
  recorder_.rolledBack("ml", "iris", "BakeFailed");
  recorder_.rolledBack("ml", "iris", "BakeFailed");
  recorder_.retrainTriggered("ml", "churn");

  const std::string t = text();
  EXPECT_EQ(sample(t, R"(mlops_promotions_total{model="iris",namespace="ml"})"), "2") << t;
  EXPECT_EQ(sample(t, R"(mlops_promotions_total{model="iris",namespace="other"})"), "1");
  EXPECT_EQ(
      sample(t, R"(mlops_rollbacks_total{model="iris",namespace="ml",reason="AnalysisFailed"})"),
      "1");
  EXPECT_EQ(sample(t, R"(mlops_rollbacks_total{model="iris",namespace="ml",reason="BakeFailed"})"),
            "2");
  EXPECT_EQ(sample(t, R"(mlops_retrains_total{model="churn",namespace="ml"})"), "1");
  EXPECT_FALSE(sample(t, R"(mlops_retrains_total{model="iris",namespace="ml"})"));
}

TEST_F(PrometheusDomainRecorderTest, ChecksKeepTheLastValueAndCountVerdicts) {
  recorder_.checkEvaluated("ml", "iris", "error-rate", "Successful", 0.01);
  recorder_.checkEvaluated("ml", "iris", "error-rate", "Failed", 0.2);
  recorder_.checkEvaluated("ml", "iris", "error-rate", "Failed", 0.3);
  recorder_.checkEvaluated("ml", "iris", "latency", "Error", std::nullopt);

  const std::string t = text();
  EXPECT_EQ(sample(t, R"(mlops_check_value{check="error-rate",model="iris",namespace="ml"})"),
            "0.3")
      << t;
  EXPECT_EQ(
      sample(
          t,
          R"(mlops_check_evaluations_total{check="error-rate",model="iris",namespace="ml",verdict="Successful"})"),
      "1");
  EXPECT_EQ(
      sample(
          t,
          R"(mlops_check_evaluations_total{check="error-rate",model="iris",namespace="ml",verdict="Failed"})"),
      "2");
  EXPECT_EQ(
      sample(
          t,
          R"(mlops_check_evaluations_total{check="latency",model="iris",namespace="ml",verdict="Error"})"),
      "1");
  // Evaluated without a value: NaN, not a stale or made-up number.
  EXPECT_EQ(sample(t, R"(mlops_check_value{check="latency",model="iris",namespace="ml"})"), "Nan");
}

TEST_F(PrometheusDomainRecorderTest, ForgottenModelLosesItsCheckSeriesOnly) {
  recorder_.promoted("ml", "iris");
  recorder_.checkEvaluated("ml", "iris", "error-rate", "Successful", 0.01);
  recorder_.checkEvaluated("ml", "churn", "error-rate", "Successful", 0.02);

  recorder_.modelForgotten("ml", "iris");
  recorder_.modelForgotten("ml", "never-seen");  // nothing to remove: no harm

  const std::string t = text();
  EXPECT_FALSE(sample(t, R"(mlops_check_value{check="error-rate",model="iris",namespace="ml"})"))
      << t;
  EXPECT_FALSE(sample(
      t,
      R"(mlops_check_evaluations_total{check="error-rate",model="iris",namespace="ml",verdict="Successful"})"));
  EXPECT_EQ(sample(t, R"(mlops_promotions_total{model="iris",namespace="ml"})"), "1");
  EXPECT_EQ(sample(t, R"(mlops_check_value{check="error-rate",model="churn",namespace="ml"})"),
            "0.02");

  // Evaluated again later: the series come back from zero.
  recorder_.checkEvaluated("ml", "iris", "error-rate", "Failed", 0.5);
  EXPECT_EQ(
      sample(
          text(),
          R"(mlops_check_evaluations_total{check="error-rate",model="iris",namespace="ml",verdict="Failed"})"),
      "1");
}

TEST_F(PrometheusDomainRecorderTest, GoneModelLosesEverySeries) {
  recorder_.promoted("ml", "iris");
  recorder_.rolledBack("ml", "iris", "AnalysisFailed");
  recorder_.retrainTriggered("ml", "iris");
  recorder_.checkEvaluated("ml", "iris", "error-rate", "Successful", 0.01);
  recorder_.promoted("ml", "churn");

  recorder_.modelGone("ml", "iris");

  const std::string t = text();
  EXPECT_EQ(t.find("model=\"iris\""), std::string::npos) << t;
  EXPECT_EQ(sample(t, R"(mlops_promotions_total{model="churn",namespace="ml"})"), "1");
  recorder_.promoted("ml", "iris");
  EXPECT_EQ(sample(text(), R"(mlops_promotions_total{model="iris",namespace="ml"})"), "1");
}

// Reporting and forgetting from several threads while scraping: no lost
// increments, no use of a removed series (TSan and ASan runs check the latter).
TEST_F(PrometheusDomainRecorderTest, ConcurrentCallsAndScrapes) {
  constexpr int kThreads = 4;
  constexpr int kCalls = 500;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCalls; ++i) {
        recorder_.promoted("ml", "iris");
        recorder_.checkEvaluated("ml", "churn", "c" + std::to_string(t), "Successful", i);
        if (i % 50 == 0) {
          recorder_.modelForgotten("ml", "churn");
          (void)text();
        }
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_EQ(sample(text(), R"(mlops_promotions_total{model="iris",namespace="ml"})"),
            std::to_string(kThreads * kCalls));
}

}  // namespace
}  // namespace mlops::metrics
