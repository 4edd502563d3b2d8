// Series on the plane's test exporter (hack/plane/metrics_exporter.py), as
// the end-to-end tests set them: `set` returns once Prometheus answers the
// query selecting exactly those labels with the value, so a test never acts
// on a value Prometheus has not scraped yet. Every series set is deleted
// again when the ExporterSeries goes (the exporter outlives each test).
#pragma once

#include <chrono>
#include <cmath>
#include <set>
#include <string>
#include <utility>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "operator_process.h"
#include "support/plane.h"

namespace mlops::e2e {

class ExporterSeries {
 public:
  explicit ExporterSeries(const testing::PlaneEnv& env) : env_(env) {}
  ExporterSeries(const ExporterSeries&) = delete;
  ExporterSeries& operator=(const ExporterSeries&) = delete;
  ~ExporterSeries() {
    for (const auto& [name, labels] : set_) {
      exporter("DELETE", nlohmann::json{{"name", name}, {"labels", labels}});
    }
  }

  // Sets metric `name` with these labels (string values) to `value`, and
  // waits until Prometheus answers with it.
  void set(const std::string& name, const nlohmann::json& labels, double value) {
    set_.insert({name, labels});
    exporter("PUT", nlohmann::json{{"name", name}, {"labels", labels}, {"value", value}});
    std::string query = name + "{";
    for (const auto& [key, v] : labels.items()) {
      query += (query.back() == '{' ? "" : ",") + key + "=\"" + v.get<std::string>() + "\"";
    }
    query += "}";
    ASSERT_TRUE(eventually(
        std::chrono::seconds(20),
        [&] {
          const auto r =
              testing::runCommand({"curl", "-sS", "-f", "--get", "--data-urlencode",
                                   "query=" + query, env_.get("PROMETHEUS_URL") + "/api/v1/query"});
          if (r.exitCode != 0) return false;
          const nlohmann::json reply = nlohmann::json::parse(r.out, nullptr, false);
          const nlohmann::json::json_pointer resultPath("/data/result");
          if (!reply.contains(resultPath)) return false;
          const nlohmann::json& result = reply.at(resultPath);
          return result.is_array() && result.size() == 1 &&
                 std::abs(std::stod(result[0]["value"][1].get<std::string>()) - value) < 1e-9;
        }))
        << "Prometheus never showed " << query << " = " << value;
  }

 private:
  // PUT or DELETE /series on the test exporter.
  void exporter(const std::string& method, const nlohmann::json& body) {
    const auto r = testing::runCommand({"curl", "-sS", "-f", "-X", method, "-H",
                                        "Content-Type: application/json", "--data", body.dump(),
                                        env_.metricsExporterUrl() + "/series"});
    EXPECT_EQ(r.exitCode, 0) << r.describe();
  }

  const testing::PlaneEnv& env_;
  std::set<std::pair<std::string, nlohmann::json>> set_;
};

}  // namespace mlops::e2e
