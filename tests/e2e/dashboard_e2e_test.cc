// End-to-end: the shipped Grafana dashboard and alert rules against the
// operator's real /metrics, scraped by the plane's real Prometheus.
//
// The test starts the operator (with leader election, so the leader gauge
// exists), puts a ModelVersion into production (reconciles, queue traffic,
// API requests), and writes the operator's metrics address into the plane's
// file_sd targets file (PROMETHEUS_OPERATOR_TARGETS_FILE, job
// "mlops-operator", honor_labels as the shipped ServiceMonitor). Then every
// query of deploy/grafana/mlops-operator-dashboard.json, with Grafana's
// variables expanded, must be accepted by Prometheus (a syntax error is
// errorType bad_data), and the operator-health panels must return data.
// Panels over metrics not exported yet are listed, not failed (see
// kMustReturnData).
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

// A target group for the plane's file_sd file; `job` overrides the scrape
// job's name.
json targetGroup(int port, const std::string& job) {
  return json{{"targets", {"127.0.0.1:" + std::to_string(port)}}, {"labels", {{"job", job}}}};
}

// Panels that must return data once Prometheus scrapes a running operator.
// The others are over the domain metrics (mlops_*) and process_* metrics;
// they must parse, and the test prints whether they returned data.
const std::set<std::string> kMustReturnData = {
    "Replicas up",           "Leaders",
    "Reconciles per second", "Reconcile errors per second",
    "Work queue depth",      "Work queue latency",
    "Reconcile duration",    "API server requests"};

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

  std::unique_ptr<OperatorProcess> op_;
  std::string targetsFile_;
};

TEST_F(DashboardE2E, EveryDashboardQueryParsesAndTheOperatorHealthPanelsReturnData) {
  const int health = freePort();
  const int metrics = freePort();
  op_ = std::make_unique<OperatorProcess>(operatorArgs(
      metrics, health, "dashboard-" + ns(),
      {"--namespace=" + ns(), "--workers=2", "--prometheus-url=" + env().prometheusUrl()}));
  ASSERT_TRUE(becomesReady(health, 30s)) << op_->output();

  // Work for the controllers: a model version put straight into production.
  const json version = {
      {"apiVersion", "mlops.dev/v1alpha1"},
      {"kind", "ModelVersion"},
      {"metadata", {{"name", "iris-v1"}, {"namespace", ns()}}},
      {"spec",
       {{"model", "iris"},
        {"version", 1},
        {"artifact", {{"uri", "s3://e2e/iris/1"}}},
        {"serving",
         {{"template",
           {{"spec",
             {{"containers",
               json::array({json{{"name", "server"},
                                 {"image", "registry.example.com/ml/server:1"}}})}}}}}}},
        {"stage", "Production"}}}};
  auto created = client().create(res::kModelVersions, ns(), version);
  ASSERT_TRUE(created.ok()) << created.error().toString();
  std::string phase;
  EXPECT_TRUE(eventually(60s,
                         [&] {
                           auto v = client().get(res::kModelVersions, ns(), "iris-v1");
                           phase = v ? v->value("status", json::object()).value("phase", "") : "";
                           return phase == "Production";
                         }))
      << "iris-v1 never reached Production; last phase: " << phase;

  // A job of this test's own, so no sample of an operator scraped by an
  // earlier test (rate() looks a minute back) can stand in for this one's.
  const std::string job = std::string(kJob) + "-" + ns();
  writeTargets(json::array({targetGroup(metrics, job)}));
  const auto scrapeStart = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually(30s, [&] { return query("up{job=\"" + job + "\"} == 1").results == 1; }))
      << "Prometheus never scraped the operator at 127.0.0.1:" << metrics;
  std::cout << "[ figure ] Prometheus scraped the operator "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - scrapeStart)
                   .count()
            << " ms after the targets file was written\n";

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
