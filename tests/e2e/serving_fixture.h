// The fixture of the suites that run the operator against the plane's
// Prometheus (rollout, drift): one operator process watching the test's
// namespace, exporter series deleted after the test, and the checks every
// such test ends with (no Forbidden in the operator's log: every write went
// through its own least-privilege RBAC; the log printed when the test failed).
#pragma once

#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "exporter_series.h"
#include "operator_fixture.h"
#include "operator_process.h"

namespace mlops::e2e {

// The serving section every test version uses: one small server container
// (kwok plays its pods).
inline nlohmann::json servingTemplate() {
  using nlohmann::json;
  return json{
      {"template",
       {{"spec",
         {{"containers", json::array({json{{"name", "server"},
                                           {"image", "registry.example.com/ml/server:1"},
                                           {"resources", {{"requests", {{"cpu", "10m"}}}}}}})}}}}}};
}

class ServingOperatorFixture : public OperatorFixture {
 protected:
  void TearDown() override {
    if (op_) {
      EXPECT_EQ(op_->output().find("Forbidden"), std::string::npos) << op_->output();
      if (HasFailure()) std::cerr << "---- operator log ----\n" << op_->output() << "\n";
      op_.reset();
    }
    series_.reset();
    OperatorFixture::TearDown();
  }

  // Starts the operator (a running one is replaced) and waits until it is
  // ready; `extra` flags are appended.
  void startOperator(const std::vector<std::string>& extra = {}) {
    op_.reset();
    const int health = freePort();
    std::vector<std::string> flags = {"--namespace=" + ns(), "--workers=2",
                                      "--artifact-root=s3://e2e-artifacts",
                                      "--prometheus-url=" + env().get("PROMETHEUS_URL")};
    flags.insert(flags.end(), extra.begin(), extra.end());
    metricsPort_ = freePort();
    op_ = std::make_unique<OperatorProcess>(operatorArgs(metricsPort_, health, "", flags));
    ASSERT_TRUE(eventually(std::chrono::seconds(30), [&] {
      auto r = httpGet(health, "/readyz");
      return r && r->status == 200;
    })) << op_->output();
  }

  // ModelVersion <model>-v<number> in the test's namespace, at `stage`.
  nlohmann::json modelVersion(const std::string& model, int number, const std::string& stage) {
    return nlohmann::json{
        {"apiVersion", "mlops.dev/v1alpha1"},
        {"kind", "ModelVersion"},
        {"metadata", {{"name", model + "-v" + std::to_string(number)}, {"namespace", ns()}}},
        {"spec",
         {{"model", model},
          {"version", number},
          {"artifact", {{"uri", "s3://e2e/" + model + "/" + std::to_string(number)}}},
          {"serving", servingTemplate()},
          {"stage", stage}}}};
  }

  std::unique_ptr<OperatorProcess> op_;
  int metricsPort_ = 0;
  std::unique_ptr<ExporterSeries> series_ = std::make_unique<ExporterSeries>(env());
};

}  // namespace mlops::e2e
