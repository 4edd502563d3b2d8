// End-to-end: the shipped Grafana dashboard and alert rules against the
// operator's real /metrics, scraped by the plane's real Prometheus.
//
// The first test starts the operator (with leader election, so the leader
// gauge exists), points the plane's file_sd targets file
// (PROMETHEUS_OPERATOR_TARGETS_FILE; honor_labels, as the shipped
// ServiceMonitor) at it, and plays what the model panels show: a version
// promoted after canary analysis, a version rolled back, a TrainingRun that
// fails. Then every query of deploy/grafana/mlops-operator-dashboard.json,
// with Grafana's variables expanded, must be accepted by Prometheus (a syntax
// error is errorType bad_data), and the operator-health panels must return
// data. Panels over metrics not exported yet are listed, not failed (see
// kMustReturnData). The second test runs the alert rules' expressions.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include "operator_fixture.h"
#include "operator_process.h"
#include "support/plane.h"

namespace mlops::e2e {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace res = kube::resources;

// The scrape job of the plane's file_sd targets and of the shipped rules.
constexpr const char* kJob = "mlops-operator";
// The test exporter's series playing the model servers' error rate.
constexpr const char* kErrorRate = "mlops_e2e_dashboard_error_rate";

// A target group for the plane's file_sd file; `job` overrides the scrape
// job's name.
json targetGroup(int port, const std::string& job) {
  return json{{"targets", {"127.0.0.1:" + std::to_string(port)}}, {"labels", {{"job", job}}}};
}

// Panels that must return data once Prometheus scrapes a running operator
// through the scenario below. The others must parse, and the test prints
// whether they returned data: "Retrains" and "Promotions, rollbacks and
// retrains" need the drift controller to retrain.
const std::set<std::string> kMustReturnData = {"Replicas up",
                                               "Leaders",
                                               "Reconciles per second",
                                               "Reconcile errors per second",
                                               "Work queue depth",
                                               "Work queue latency",
                                               "Reconcile duration",
                                               "API server requests",
                                               "Production version",
                                               "Versions by phase",
                                               "Training runs by phase",
                                               "Training runs by phase over time",
                                               "Promotions",
                                               "Rollbacks",
                                               "Check values",
                                               "Check evaluations by verdict",
                                               "Canary analysis in range",
                                               "Resident memory",
                                               "CPU"};

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Replaces every occurrence of `from` in `s` by `to`.
std::string replaceAll(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
  return s;
}

// One query as Prometheus answered it.
struct Answer {
  bool answered = false;  // Prometheus replied with JSON at all
  std::string status;     // "success" or "error"
  std::string errorType;  // e.g. "bad_data" for a syntax error
  std::string error;
  size_t results = 0;  // series (vector) or 1 (scalar)
  json series;         // the vector's elements ({metric, value}), if a vector
};

struct Query {
  std::string panel;
  std::string expr;  // variables expanded
};

class DashboardE2E : public OperatorFixture {
 protected:
  std::string namespacePrefix() const override { return "e2e-dash"; }

  void SetUp() override {
    OperatorFixture::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    targetsFile_ = env().get("PROMETHEUS_OPERATOR_TARGETS_FILE");
    ASSERT_FALSE(targetsFile_.empty())
        << "the plane predates the operator scrape job (no PROMETHEUS_OPERATOR_TARGETS_FILE in "
        << env().file << "): run make cluster-down and make cluster-up";
  }

  void TearDown() override {
    // No target left for the next test's Prometheus.
    if (!targetsFile_.empty()) {
      writeTargets(json::array());
    }
    for (const auto& labels : series_) {
      testing::runCommand({"curl", "-sS", "-X", "DELETE", "--data",
                           json{{"name", kErrorRate}, {"labels", labels}}.dump(),
                           env().metricsExporterUrl() + "/series"});
    }
    if (op_) {
      if (HasFailure()) {
        std::cerr << "---- operator log ----\n" << op_->output() << "\n";
      }
      op_.reset();
    }
    OperatorFixture::TearDown();
  }

  // Replaced atomically, so Prometheus never reads a half-written file.
  void writeTargets(const json& groups) {
    const std::string tmp = targetsFile_ + ".tmp";
    std::ofstream(tmp) << groups.dump();
    std::error_code ec;
    std::filesystem::rename(tmp, targetsFile_, ec);
    EXPECT_FALSE(ec) << "cannot write " << targetsFile_ << ": " << ec.message();
  }

  Answer query(const std::string& expr) {
    Answer a;
    const auto r =
        testing::runCommand({"curl", "-sS", "--max-time", "10", "--get", "--data-urlencode",
                             "query=" + expr, env().prometheusUrl() + "/api/v1/query"});
    const json reply = json::parse(r.out, nullptr, false);
    if (r.exitCode != 0 || !reply.is_object()) {
      return a;
    }
    a.answered = true;
    a.status = reply.value("status", "");
    a.errorType = reply.value("errorType", "");
    a.error = reply.value("error", "");
    const json data = reply.value("data", json::object());
    const json result = data.value("result", json());
    if (data.value("resultType", "") == "scalar") {
      a.results = 1;
    } else if (result.is_array()) {
      a.results = result.size();
      a.series = result;
    }
    return a;
  }

  // Grafana's variables as the dashboard would send them with this test's
  // namespace selected, all models, and `job` typed into the job textbox.
  std::string expand(const std::string& expr, const std::string& job) const {
    std::string out = expr;
    out = replaceAll(out, "$__rate_interval", "1m");
    out = replaceAll(out, "$__range", "5m");
    out = replaceAll(out, "$namespace", ns());
    out = replaceAll(out, "$model", ".*");
    out = replaceAll(out, "$job", job);
    return out;
  }

  // Every panel query, and each query variable's selector (Grafana's
  // label_values(selector, label) looks the selector's series up).
  std::vector<Query> dashboardQueries(const std::string& job) {
    const json d =
        json::parse(readFile(testing::repoRoot() + "/deploy/grafana/mlops-operator-dashboard.json"),
                    nullptr, false);
    EXPECT_TRUE(d.is_object()) << "the dashboard is not JSON";
    std::vector<Query> out;
    if (!d.is_object()) {
      return out;
    }
    for (const auto& panel : d.value("panels", json::array())) {
      for (const auto& target : panel.value("targets", json::array())) {
        out.push_back({panel.value("title", ""), expand(target.value("expr", ""), job)});
      }
    }
    static const std::regex labelValues(R"(^label_values\((.*),\s*\w+\)$)");
    for (const auto& v : d.at("/templating/list"_json_pointer)) {
      if (v.value("type", "") != "query") {
        continue;
      }
      const std::string q = v.at("query").is_object() ? v.at("query").value("query", "")
                                                      : v.at("query").get<std::string>();
      std::smatch m;
      EXPECT_TRUE(std::regex_match(q, m, labelValues)) << "variable " << v["name"] << ": " << q;
      if (!m.empty()) {
        out.push_back({"variable " + v.value("name", ""), expand(m[1].str(), job)});
      }
    }
    return out;
  }

  // alert name → expression, from the plain rules file.
  static std::map<std::string, std::string> loadAlerts() {
    const YAML::Node rules =
        YAML::LoadFile(testing::repoRoot() + "/deploy/prometheus/mlops-operator-rules.yaml");
    std::map<std::string, std::string> alerts;
    for (const auto& group : rules["groups"]) {
      for (const auto& rule : group["rules"]) {
        if (rule["alert"]) {
          alerts[rule["alert"].as<std::string>()] = rule["expr"].as<std::string>();
        }
      }
    }
    return alerts;
  }

  json create(const kube::Resource& r, const json& obj) {
    auto created = client().create(r, ns(), obj);
    EXPECT_TRUE(created.ok()) << created.error().toString();
    return created.ok() ? *created : json();
  }

  void waitForPhase(const kube::Resource& r, const std::string& name, const std::string& phase) {
    std::string last;
    EXPECT_TRUE(eventually(60s,
                           [&] {
                             auto obj = client().get(r, ns(), name);
                             last =
                                 obj ? obj->value("status", json::object()).value("phase", "") : "";
                             return last == phase;
                           }))
        << name << " never reached " << phase << "; last phase: " << last;
  }

  static json modelVersion(int number) {
    return json{
        {"apiVersion", "mlops.dev/v1alpha1"},
        {"kind", "ModelVersion"},
        {"metadata", {{"name", "iris-v" + std::to_string(number)}}},
        {"spec",
         {{"model", "iris"},
          {"version", number},
          {"artifact", {{"uri", "s3://e2e/iris/" + std::to_string(number)}}},
          {"serving",
           {{"template",
             {{"spec",
               {{"containers",
                 json::array({json{{"name", "server"},
                                   {"image", "registry.example.com/ml/server:1"},
                                   {"resources", {{"requests", {{"cpu", "10m"}}}}}}})}}}}}}},
          {"stage", "Production"}}}};
  }

  // The error rate the test exporter shows for iris's `track`; returns once
  // Prometheus answers with it.
  void setErrorRate(const std::string& track, double value) {
    const json labels = {{"namespace", ns()}, {"model", "iris"}, {"track", track}};
    series_.insert(labels);
    const auto r = testing::runCommand(
        {"curl", "-sS", "-f", "-X", "PUT", "-H", "Content-Type: application/json", "--data",
         json{{"name", kErrorRate}, {"labels", labels}, {"value", value}}.dump(),
         env().metricsExporterUrl() + "/series"});
    ASSERT_EQ(r.exitCode, 0) << r.describe();
    const std::string selector = std::string(kErrorRate) + "{namespace=\"" + ns() +
                                 "\",model=\"iris\",track=\"" + track +
                                 "\"} == " + std::to_string(value);
    ASSERT_TRUE(eventually(20s, [&] { return query(selector).results == 1; }))
        << "Prometheus never showed " << selector;
  }

  std::unique_ptr<OperatorProcess> op_;
  std::string targetsFile_;
  std::set<json> series_;  // exporter series to delete
};

TEST_F(DashboardE2E, AfterARolloutEveryDashboardQueryParsesAndTheHealthPanelsReturnData) {
  const int health = freePort();
  const int metrics = freePort();
  op_ = std::make_unique<OperatorProcess>(operatorArgs(
      metrics, health, "dashboard-" + ns(),
      {"--namespace=" + ns(), "--workers=2", "--prometheus-url=" + env().prometheusUrl()}));
  ASSERT_TRUE(becomesReady(health, 30s)) << op_->output();
  // A job of this test's own, so no sample of an operator scraped by an
  // earlier test (rate() looks a minute back) can stand in for this one's.
  const std::string job = std::string(kJob) + "-" + ns();
  writeTargets(json::array({targetGroup(metrics, job)}));
  const auto scrapeStart = std::chrono::steady_clock::now();

  // What the model panels show: a promotion after canary analysis, a
  // rollback, and a failed TrainingRun (the drift controller's retrains are
  // not exercised here).
  setErrorRate("canary", 0.01);
  setErrorRate("stable", 0.01);
  create(res::kDriftPolicies,
         json{{"apiVersion", "mlops.dev/v1alpha1"},
              {"kind", "DriftPolicy"},
              {"metadata", {{"name", "iris"}, {"namespace", ns()}}},
              {"spec",
               {{"model", "iris"},
                {"analysis",
                 {{"checks",
                   json::array({json{{"name", "error-rate"},
                                     {"query", std::string(kErrorRate) +
                                                   "{namespace=\"{{namespace}}\","
                                                   "model=\"{{model}}\",track=\"{{track}}\"}"},
                                     {"max", 0.05}}})},
                  {"interval", "1s"},
                  {"initialDelay", "0s"},
                  {"count", 2},
                  {"bakeTime", "0s"}}}}}});
  create(res::kModelVersions, modelVersion(1));
  waitForPhase(res::kModelVersions, "iris-v1", "Production");
  create(res::kModelVersions, modelVersion(2));
  waitForPhase(res::kModelVersions, "iris-v2", "Production");
  setErrorRate("canary", 0.5);
  create(res::kModelVersions, modelVersion(3));
  waitForPhase(res::kModelVersions, "iris-v3", "RolledBack");
  create(res::kTrainingRuns,
         json{{"apiVersion", "mlops.dev/v1alpha1"},
              {"kind", "TrainingRun"},
              {"metadata", {{"name", "iris-crash"}, {"namespace", ns()}}},
              {"spec",
               {{"model", "iris"},
                {"backoffLimit", 0},
                {"template",
                 {{"metadata", {{"annotations", {{"test.mlops.dev/exit-code", "3"}}}}},
                  {"spec",
                   {{"containers",
                     json::array({json{{"name", "trainer"},
                                       {"image", "registry.example.com/ml/iris-trainer:1"},
                                       {"resources", {{"requests", {{"cpu", "10m"}}}}}}})}}}}}}}});
  waitForPhase(res::kTrainingRuns, "iris-crash", "Failed");

  ASSERT_TRUE(eventually(30s, [&] { return query("up{job=\"" + job + "\"} == 1").results == 1; }))
      << "Prometheus never scraped the operator at 127.0.0.1:" << metrics;
  std::cout << "[ figure ] rollout scenario scraped for "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - scrapeStart)
                   .count()
            << " ms\n";

  const std::vector<Query> queries = dashboardQueries(job);
  ASSERT_FALSE(queries.empty());
  std::set<std::string> titles;
  std::vector<std::string> withData, withoutData;
  for (const auto& q : queries) {
    titles.insert(q.panel);
    Answer a = query(q.expr);
    if (kMustReturnData.count(q.panel) != 0) {
      // rate() needs two samples in its window; give the scrapes time.
      eventually(30s, [&] {
        a = query(q.expr);
        return a.status != "success" || a.results > 0;
      });
      EXPECT_GT(a.results, 0u) << q.panel << " returned no data: " << q.expr;
    }
    ASSERT_TRUE(a.answered) << "Prometheus did not answer " << q.expr;
    EXPECT_EQ(a.status, "success") << q.panel << ": " << a.errorType << ": " << a.error << "\n"
                                   << q.expr;
    (a.results > 0 ? withData : withoutData).push_back(q.panel + ": " + q.expr);
  }
  for (const auto& title : kMustReturnData) {
    EXPECT_EQ(titles.count(title), 1u) << "no dashboard panel titled " << title;
  }
  std::cout << "[ figure ] " << queries.size() << " dashboard queries parsed; " << withData.size()
            << " returned data:\n";
  for (const auto& line : withData) {
    std::cout << "    data:    " << line << "\n";
  }
  for (const auto& line : withoutData) {
    std::cout << "    no data: " << line << "\n";
  }

  // Which of the model alerts' expressions now hold for this namespace (a
  // rollback and a failed run happened above; the alerts' `for:` and the
  // cases where they must not hold are promtool's to test).
  std::cout << "[ figure ] alert expressions holding for " << ns() << ":\n";
  for (const auto& [name, expr] : loadAlerts()) {
    const Answer a = query(expr);
    EXPECT_EQ(a.status, "success") << name << ": " << a.errorType << ": " << a.error;
    int holding = 0;
    for (const auto& sample : a.series) {
      holding += sample.value("metric", json::object()).value("namespace", "") == ns() ? 1 : 0;
    }
    std::cout << "    " << name << ": " << (holding > 0 ? "holds" : "does not hold") << "\n";
  }
}

TEST_F(DashboardE2E, TheAlertRulesParseOnPrometheusAndTheOperatorDownAlertsStayQuiet) {
  const int health = freePort();
  const int metrics = freePort();
  op_ = std::make_unique<OperatorProcess>(
      operatorArgs(metrics, health, "dashboard-" + ns(), {"--namespace=" + ns()}));
  ASSERT_TRUE(becomesReady(health, 30s)) << op_->output();
  // The job the rules select. Their expressions aggregate over the job, so a
  // sample left from an operator an earlier test stopped does not change
  // the answers below: this one is up and leads.
  writeTargets(json::array({targetGroup(metrics, kJob)}));

  std::map<std::string, std::string> alerts = loadAlerts();
  ASSERT_EQ(alerts.count("MlopsOperatorDown"), 1u);
  ASSERT_EQ(alerts.count("MlopsOperatorNoLeader"), 1u);

  // Once the leading operator is scraped, neither "down" alert holds (the
  // leader gauge is set when the Lease is won: wait for it).
  EXPECT_TRUE(eventually(30s, [&] {
    return query(alerts["MlopsOperatorDown"]).results == 0 &&
           query("leader_election_master_status{job=\"" + std::string(kJob) +
                 "\",instance=\"127.0.0.1:" + std::to_string(metrics) + "\"} == 1")
                   .results == 1;
  })) << "the operator never showed up as scraped and leading";
  const Answer down = query(alerts["MlopsOperatorDown"]);
  EXPECT_EQ(down.status, "success") << down.error;
  EXPECT_EQ(down.results, 0u) << "MlopsOperatorDown holds while the operator is scraped";
  const Answer noLeader = query(alerts["MlopsOperatorNoLeader"]);
  EXPECT_EQ(noLeader.status, "success") << noLeader.error;
  EXPECT_EQ(noLeader.results, 0u) << "MlopsOperatorNoLeader holds while the operator leads";

  // Every alert expression is accepted by the real Prometheus.
  for (const auto& [name, expr] : alerts) {
    const Answer a = query(expr);
    ASSERT_TRUE(a.answered) << name;
    EXPECT_EQ(a.status, "success") << name << ": " << a.errorType << ": " << a.error;
  }

  // And when the operator is gone, "operator down"'s expression holds (the
  // alert's `for: 5m` is promtool's to test, tests/deploy/alerts_test.yaml).
  op_.reset();
  EXPECT_TRUE(eventually(30s, [&] { return query(alerts["MlopsOperatorDown"]).results == 1; }))
      << "MlopsOperatorDown's expression never held after the operator stopped";
}

}  // namespace
}  // namespace mlops::e2e
