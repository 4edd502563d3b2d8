// End-to-end: the rollout controller in the mlops-operator binary, run with
// its own ServiceAccount's token against the local control plane, judging
// canaries on the plane's real Prometheus. The plane's test exporter plays
// the model servers' metrics: each test sets a gauge series
// mlops_e2e_error_rate{namespace,model,track} (TESTENV.md "The metrics
// exporter"), which Prometheus scrapes every second. kwok plays the serving
// pods: they become Running and Ready, so Deployments become Available.
//
// Each test starts its own operator watching only the test's namespace.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "chaos_seed.h"
#include "exporter_series.h"
#include "json_fields.h"
#include "operator_fixture.h"
#include "operator_process.h"
#include "serving_fixture.h"
#include "support/plane.h"

namespace mlops::e2e {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace res = kube::resources;

constexpr const char* kMetric = "mlops_e2e_error_rate";

class RolloutE2E : public ServingOperatorFixture {
 protected:
  std::string namespacePrefix() const override { return "e2e-ro"; }

  // Sets the error rate the model's `track` shows in Prometheus, and waits
  // until Prometheus answers with it.
  void setErrorRate(const std::string& model, const std::string& track, double value) {
    setSeries(json{{"namespace", ns()}, {"model", model}, {"track", track}}, value);
  }

  // Sets the exporter's series of kMetric with these labels; returns once
  // Prometheus answers with `value`.
  void setSeries(const json& labels, double value) { series_->set(kMetric, labels, value); }

  json errorRateCheck(const std::string& name = "error-rate") {
    return json{
        {"name", name},
        {"query", std::string(kMetric) +
                      "{namespace=\"{{namespace}}\",model=\"{{model}}\",track=\"{{track}}\"}"},
        {"max", 0.05}};
  }

  json driftPolicy(const std::string& model, json analysis) {
    analysis.emplace("checks", json::array({errorRateCheck()}));
    analysis.emplace("interval", "1s");
    analysis.emplace("initialDelay", "0s");
    analysis.emplace("count", 3);
    return json{{"apiVersion", "mlops.dev/v1alpha1"},
                {"kind", "DriftPolicy"},
                {"metadata", {{"name", model}, {"namespace", ns()}}},
                {"spec", {{"model", model}, {"analysis", analysis}}}};
  }

  void setStage(const std::string& name, const std::string& stage) {
    auto patched =
        client().mergePatch(res::kModelVersions, ns(), name, json{{"spec", {{"stage", stage}}}});
    ASSERT_TRUE(patched.ok()) << patched.error().toString();
  }

  // Waits until the version's status satisfies `done`; returns its last state.
  json waitForVersion(const std::string& name, const std::function<bool(const json&)>& done,
                      std::chrono::milliseconds timeout = 60s) {
    json last;
    const bool reached = eventually(timeout, [&] {
      auto v = get(res::kModelVersions, name);
      if (!v) return false;
      last = *v;
      return done(last);
    });
    // The status alone: managedFields would push it out of a truncated CI log.
    EXPECT_TRUE(reached) << name << " never reached the expected state; last status: "
                         << field(last, "/status").dump(2);
    return last;
  }

  json waitForPhase(const std::string& name, const std::string& phase,
                    std::chrono::milliseconds timeout = 60s) {
    return waitForVersion(
        name, [&](const json& v) { return str(v, "/status/phase") == phase; }, timeout);
  }

  // The version label of the Deployment's pod template, "" when absent.
  std::string servedVersion(const std::string& deployment) {
    auto d = get(res::kDeployments, deployment);
    return d ? str(*d, "/spec/template/metadata/labels/mlops.dev~1version") : "";
  }

  // v1 of `model` in production (served by `<model>`), and a policy if asked.
  void v1InProduction(const std::string& model, const std::optional<json>& policy) {
    if (policy) create(res::kDriftPolicies, *policy);
    create(res::kModelVersions, modelVersion(model, 1, "Production"));
    waitForPhase(model + "-v1", "Production");
    ASSERT_EQ(servedVersion(model), "1");
  }

  // The sum of the operator's samples of `name` whose labels contain
  // `labelPart` (e.g. `method="GET"`); 0 when unreadable.
  double operatorMetric(const std::string& name, const std::string& labelPart) {
    auto page = httpGet(metricsPort_, "/metrics");
    double total = 0;
    if (!page) return total;
    std::istringstream lines(page->body);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind(name + "{", 0) == 0 && line.find(labelPart) != std::string::npos) {
        total += std::stod(line.substr(line.rfind(' ') + 1));
      }
    }
    return total;
  }
};

TEST_F(RolloutE2E, TheFirstVersionIsServedAndGetsTheServingObjectsAsDesigned) {
  startOperator();
  create(res::kModelVersions, modelVersion("iris", 1, "Production"));
  const json v1 = waitForPhase("iris-v1", "Production");
  EXPECT_EQ(conditionStatus(v1, "Ready"), "True");
  EXPECT_EQ(field(v1, "/status/observedGeneration"), field(v1, "/metadata/generation"));
  const auto finalizers = field(v1, "/metadata/finalizers");
  ASSERT_TRUE(finalizers.is_array());
  EXPECT_NE(std::find(finalizers.begin(), finalizers.end(), "mlops.dev/production-protection"),
            finalizers.end());

  auto stable = get(res::kDeployments, "iris");
  ASSERT_TRUE(stable);
  EXPECT_EQ(field(*stable, "/spec/selector/matchLabels"),
            (json{{"mlops.dev/model", "iris"}, {"mlops.dev/track", "stable"}}));
  EXPECT_EQ(str(*stable, "/metadata/labels/app.kubernetes.io~1managed-by"), "mlops-operator");
  const json owners = field(*stable, "/metadata/ownerReferences");
  ASSERT_EQ(owners.size(), 1u);
  EXPECT_EQ(owners[0]["name"], "iris-v1");
  EXPECT_EQ(owners[0]["controller"], true);
  bool envFound = false;
  for (const auto& e : field(*stable, "/spec/template/spec/containers/0/env")) {
    envFound = envFound || (e["name"] == "MLOPS_MODEL_VERSION" && e["value"] == "1");
  }
  EXPECT_TRUE(envFound);
  auto service = get(res::kServices, "iris");
  ASSERT_TRUE(service);
  EXPECT_EQ(field(*service, "/spec/selector"),
            (json{{"mlops.dev/model", "iris"}, {"app.kubernetes.io/component", "serving"}}));
}

TEST_F(RolloutE2E, WithoutADriftPolicyANewVersionIsARollingUpdate) {
  startOperator();
  v1InProduction("iris", std::nullopt);
  create(res::kModelVersions, modelVersion("iris", 2, "Production"));
  waitForPhase("iris-v2", "Production");
  EXPECT_EQ(str(waitForPhase("iris-v1", "Superseded"), "/status/phase"), "Superseded");
  EXPECT_EQ(servedVersion("iris"), "2");
  EXPECT_FALSE(get(res::kDeployments, "iris-canary")) << "no canary without a policy";
}

TEST_F(RolloutE2E, AHealthyCanaryIsPromotedAfterCountEvaluationsInTheStatedOrder) {
  startOperator();
  setErrorRate("iris", "canary", 0.01);
  setErrorRate("iris", "stable", 0.01);
  v1InProduction("iris", driftPolicy("iris", json::object()));
  create(res::kModelVersions, modelVersion("iris", 2, "Production"));
  // The canary runs v2 while stable still serves v1.
  ASSERT_TRUE(eventually(30s, [&] { return servedVersion("iris-canary") == "2"; }));
  EXPECT_EQ(servedVersion("iris"), "1");
  const json v2 = waitForPhase("iris-v2", "Production");
  EXPECT_GE(field(v2, "/status/analysis/successes").get<int>(), 0);  // bake restarted the counters
  EXPECT_EQ(str(v2, "/status/analysis/kind"), "Bake");
  EXPECT_EQ(field(v2, "/status/replacedVersion"), 1);
  EXPECT_EQ(servedVersion("iris"), "2");
  EXPECT_EQ(str(get(res::kModelVersions, "iris-v1").value_or(json()), "/status/phase"),
            "Superseded");
  EXPECT_TRUE(eventually(15s, [&] { return !get(res::kDeployments, "iris-canary"); }))
      << "the canary is deleted once v2 serves on stable";
  std::string message;
  EXPECT_TRUE(eventuallyHasEvent("iris-v2", "AnalysisSuccessful", &message));
  EXPECT_NE(message.find("3 successful evaluations"), std::string::npos) << message;
  EXPECT_TRUE(eventuallyHasEvent("iris-v2", "Promoted"));
}

TEST_F(RolloutE2E, ABreachingCanaryIsRolledBackWithTheDecidingMeasurement) {
  startOperator();
  setErrorRate("iris", "canary", 0.2);
  v1InProduction("iris", driftPolicy("iris", json::object()));
  create(res::kModelVersions, modelVersion("iris", 2, "Production"));
  const json v2 = waitForPhase("iris-v2", "RolledBack");
  EXPECT_EQ(str(v2, "/status/reason"), "AnalysisFailed");
  EXPECT_EQ(conditionStatus(v2, "Stalled"), "True");
  const json m = field(v2, "/status/analysis/checks/0/measurements/0");
  EXPECT_EQ(m.value("verdict", ""), "Failed");
  EXPECT_DOUBLE_EQ(m.value("value", 0.0), 0.2);
  EXPECT_DOUBLE_EQ(m.value("max", 0.0), 0.05);
  EXPECT_NE(m.value("query", "").find("model=\"iris\",track=\"canary\""), std::string::npos) << m;
  std::string message;
  EXPECT_TRUE(eventuallyHasEvent("iris-v2", "RolledBack", &message));
  EXPECT_NE(message.find("0.2 > max 0.05"), std::string::npos) << message;
  EXPECT_EQ(servedVersion("iris"), "1") << "stable untouched";
  EXPECT_TRUE(eventually(15s, [&] { return !get(res::kDeployments, "iris-canary"); }));
  EXPECT_EQ(str(get(res::kModelVersions, "iris-v1").value_or(json()), "/status/phase"),
            "Production");
}

TEST_F(RolloutE2E, NoDataPausesAsInconclusiveUntilAPersonDecides) {
  startOperator();
  // No series for the canary: the check has no data (onNoData: Inconclusive).
  v1InProduction("iris", driftPolicy("iris", json::object()));
  create(res::kModelVersions, modelVersion("iris", 2, "Production"));
  const json paused = waitForVersion(
      "iris-v2", [](const json& v) { return str(v, "/status/reason") == "Inconclusive"; });
  EXPECT_EQ(str(paused, "/status/phase"), "Canary");
  EXPECT_EQ(conditionStatus(paused, "Stalled"), "True");
  EXPECT_TRUE(get(res::kDeployments, "iris-canary")) << "a paused canary keeps running";
  auto patched = client().mergePatch(
      res::kModelVersions, ns(), "iris-v2",
      json{{"metadata", {{"annotations", {{"mlops.dev/decision", "rollback"}}}}}});
  ASSERT_TRUE(patched.ok()) << patched.error().toString();
  const json v2 = waitForPhase("iris-v2", "RolledBack");
  EXPECT_EQ(str(v2, "/status/reason"), "ManualRollback");
  EXPECT_EQ(str(v2, "/status/manualDecision/decision"), "rollback");
  EXPECT_EQ(servedVersion("iris"), "1");

  // The other way: a third version, promoted by a person.
  create(res::kModelVersions, modelVersion("iris", 3, "Production"));
  waitForVersion("iris-v3",
                 [](const json& v) { return str(v, "/status/reason") == "Inconclusive"; });
  patched = client().mergePatch(
      res::kModelVersions, ns(), "iris-v3",
      json{{"metadata", {{"annotations", {{"mlops.dev/decision", "promote"}}}}}});
  ASSERT_TRUE(patched.ok()) << patched.error().toString();
  waitForPhase("iris-v3", "Production");
  EXPECT_EQ(servedVersion("iris"), "3");
}

TEST_F(RolloutE2E, AnUnreachablePrometheusRollsTheCanaryBackAfterTheErrorLimit) {
  startOperator();
  json policy = driftPolicy("iris", json{{"consecutiveErrorLimit", 2}});
  policy["spec"]["prometheus"] = {{"url", "http://127.0.0.1:" + std::to_string(freePort())},
                                  {"timeout", "2s"}};
  v1InProduction("iris", policy);
  create(res::kModelVersions, modelVersion("iris", 2, "Production"));
  const json v2 = waitForPhase("iris-v2", "RolledBack");
  EXPECT_EQ(str(v2, "/status/reason"), "AnalysisError");
  EXPECT_EQ(field(v2, "/status/analysis/consecutiveErrors"), 3);
  const std::string message = str(v2, "/status/analysis/checks/0/measurements/2/message");
  EXPECT_FALSE(message.empty()) << v2.dump(2);
  EXPECT_EQ(servedVersion("iris"), "1");
}

TEST_F(RolloutE2E, AQueryWithASyntaxErrorShowsPrometheusErrorInStatusAndAnEvent) {
  startOperator();
  json policy = driftPolicy("iris", json{{"consecutiveErrorLimit", 0}});
  policy["spec"]["analysis"]["checks"] =
      json::array({json{{"name", "broken"}, {"query", "sum(("}, {"max", 1}}});
  v1InProduction("iris", policy);
  create(res::kModelVersions, modelVersion("iris", 2, "Production"));
  const json v2 = waitForPhase("iris-v2", "RolledBack");
  const std::string message = str(v2, "/status/analysis/checks/0/measurements/0/message");
  EXPECT_NE(message.find("bad_data"), std::string::npos) << message;
  EXPECT_NE(message.find("parse error"), std::string::npos) << message;
  std::string event;
  EXPECT_TRUE(eventuallyHasEvent("iris-v2", "AnalysisError", &event));
  EXPECT_NE(event.find("bad_data"), std::string::npos) << event;
}

TEST_F(RolloutE2E, ABreachDuringBakeRestoresTheReplacedVersion) {
  startOperator();
  setErrorRate("iris", "canary", 0.01);
  setErrorRate("iris", "stable", 0.01);
  v1InProduction("iris", driftPolicy("iris", json{{"bakeTime", "5m"}}));
  create(res::kModelVersions, modelVersion("iris", 2, "Production"));
  waitForPhase("iris-v2", "Production");
  setErrorRate("iris", "stable", 0.5);
  const json v2 = waitForPhase("iris-v2", "RolledBack");
  EXPECT_EQ(str(v2, "/status/reason"), "BakeFailed");
  const json v1 = waitForPhase("iris-v1", "Production");
  EXPECT_EQ(str(v1, "/status/reason"), "Restored");
  EXPECT_EQ(servedVersion("iris"), "1");
}

TEST_F(RolloutE2E, ANewerCandidatePreemptsARunningCanary) {
  startOperator();
  v1InProduction("iris", driftPolicy("iris", json::object()));  // no data: v2 pauses
  create(res::kModelVersions, modelVersion("iris", 2, "Production"));
  waitForPhase("iris-v2", "Canary");
  create(res::kModelVersions, modelVersion("iris", 3, "Production"));
  const json v2 = waitForPhase("iris-v2", "Superseded");
  EXPECT_EQ(str(v2, "/status/reason"), "Preempted");
  EXPECT_TRUE(eventually(30s, [&] { return servedVersion("iris-canary") == "3"; }));
}

TEST_F(RolloutE2E, DeletingThePolicyMidCanaryPausesIt) {
  startOperator();
  v1InProduction("iris", driftPolicy("iris", json{{"count", 1000}}));
  setErrorRate("iris", "canary", 0.01);
  create(res::kModelVersions, modelVersion("iris", 2, "Production"));
  waitForVersion("iris-v2", [](const json& v) {
    return field(v, "/status/analysis/successes").is_number() &&
           field(v, "/status/analysis/successes").get<int>() >= 1;
  });
  ASSERT_TRUE(client().remove(res::kDriftPolicies, ns(), "iris").ok());
  const json v2 = waitForVersion(
      "iris-v2", [](const json& v) { return str(v, "/status/reason") == "PolicyMissing"; });
  EXPECT_EQ(conditionStatus(v2, "Stalled"), "True");
  EXPECT_EQ(servedVersion("iris-canary"), "2") << "nothing is removed on no evidence";
  EXPECT_EQ(servedVersion("iris"), "1");
}

TEST_F(RolloutE2E, AnUnmanagedDeploymentOfTheModelsNameIsNeverTouched) {
  startOperator();
  json theirs{
      {"apiVersion", "apps/v1"},
      {"kind", "Deployment"},
      {"metadata", {{"name", "iris"}, {"namespace", ns()}}},
      {"spec",
       {{"replicas", 1},
        {"selector", {{"matchLabels", {{"app", "theirs"}}}}},
        {"template",
         {{"metadata", {{"labels", {{"app", "theirs"}}}}},
          {"spec",
           {{"containers", json::array({json{{"name", "c"}, {"image", "theirs:1"}}})}}}}}}}};
  const json created = create(res::kDeployments, theirs);
  create(res::kModelVersions, modelVersion("iris", 1, "Production"));
  const json v1 = waitForVersion(
      "iris-v1", [](const json& v) { return str(v, "/status/reason") == "NameTaken"; });
  EXPECT_EQ(conditionStatus(v1, "Stalled"), "True");
  auto after = get(res::kDeployments, "iris");
  ASSERT_TRUE(after);
  // The Deployment controller writes its status; nothing else may change.
  EXPECT_EQ(field(*after, "/spec/template"), field(created, "/spec/template"));
  EXPECT_EQ(field(*after, "/metadata/labels"), field(created, "/metadata/labels"));
  EXPECT_EQ(field(*after, "/metadata/ownerReferences"), json());
  // The test's own client creates with the same default field manager, so
  // what must be absent is the operator's server-side apply.
  for (const auto& entry : field(*after, "/metadata/managedFields")) {
    EXPECT_NE(entry.value("operation", ""), "Apply") << entry.dump();
  }
}

TEST_F(RolloutE2E, TheProductionVersionCannotBeDeletedButItsNamespaceCan) {
  auto applied = testing::kubectl(
      env(), {"apply", "-f", testing::repoRoot() + "/deploy/admission-policy.yaml"});
  ASSERT_EQ(applied.exitCode, 0) << applied.describe();
  startOperator();
  v1InProduction("iris", std::nullopt);
  // The API server loads a new admission policy within a moment; a
  // server-side dry run sees it without deleting anything.
  ASSERT_TRUE(eventually(30s, [&] {
    auto r = testing::kubectl(
        env(), {"delete", "modelversion", "iris-v1", "-n", ns(), "--dry-run=server"});
    return r.exitCode != 0 && r.err.find("is in production") != std::string::npos;
  })) << "the admission policy never refused the dry run";
  auto removed = client().remove(res::kModelVersions, ns(), "iris-v1");
  ASSERT_FALSE(removed.ok()) << "deleting the production version must be refused";
  EXPECT_NE(removed.error().message.find("is in production"), std::string::npos)
      << removed.error().message;
  EXPECT_EQ(str(get(res::kModelVersions, "iris-v1").value_or(json()), "/status/phase"),
            "Production");
  // The namespace goes, version and all (the test fixture waits for it).
  auto nsRemoved = client().remove(res::kNamespaces, "", ns());
  ASSERT_TRUE(nsRemoved.ok()) << nsRemoved.error().toString();
  EXPECT_TRUE(eventually(60s, [&] { return !get(res::kModelVersions, "iris-v1"); }))
      << "the finalizer was not released for a terminating namespace";
}

TEST_F(RolloutE2E, AServingTemplateTheApiServerRefusesMakesTheVersionInvalid) {
  startOperator();
  json v1 = modelVersion("iris", 1, "Production");
  v1["spec"]["serving"]["template"]["spec"]["containers"][0]["resources"] = {
      {"requests", {{"cpu", "lots"}}}};
  create(res::kModelVersions, v1);
  const json invalid = waitForPhase("iris-v1", "Invalid");
  EXPECT_EQ(conditionStatus(invalid, "Stalled"), "True");
  EXPECT_NE(str(invalid, "/status/message").find("refused"), std::string::npos) << invalid.dump(2);
  EXPECT_TRUE(eventuallyHasEvent("iris-v1", "InvalidServing"));
  EXPECT_FALSE(get(res::kDeployments, "iris"));
}

TEST_F(RolloutE2E, APrometheusTheOperatorMayNotUsePausesTheCanaryAndMeasuresNothing) {
  // The policy names the plane's Prometheus, which the allow-list excludes.
  startOperator({"--prometheus-url-allow=https://prometheus.example.com/"});
  json policy = driftPolicy("iris", json::object());
  policy["spec"]["prometheus"] = {{"url", env().get("PROMETHEUS_URL")}};
  v1InProduction("iris", policy);
  create(res::kModelVersions, modelVersion("iris", 2, "Production"));
  json v2 = waitForVersion("iris-v2", [](const json& v) {
    return str(v, "/status/reason") == "PrometheusConfigInvalid";
  });
  EXPECT_NE(str(v2, "/status/message").find("--prometheus-url-allow"), std::string::npos)
      << v2.dump(2);
  EXPECT_EQ(field(v2, "/status/analysis/errors"), 0) << "nothing measured, nothing counted";
  EXPECT_TRUE(eventuallyHasEvent("iris-v2", "PrometheusConfigInvalid"));

  // A token Secret without the opt-in label is not read.
  json secret{{"apiVersion", "v1"},
              {"kind", "Secret"},
              {"metadata", {{"name", "prom-token"}, {"namespace", ns()}}},
              {"stringData", {{"token", "not-for-the-operator"}}}};
  create(res::kSecrets, secret);
  auto patched = client().mergePatch(
      res::kDriftPolicies, ns(), "iris",
      json{{"spec",
            {{"prometheus",
              {{"bearerTokenSecretRef", {{"name", "prom-token"}, {"key", "token"}}}}}}}});
  ASSERT_TRUE(patched.ok()) << patched.error().toString();
  startOperator();  // now without the allow-list
  v2 = waitForVersion("iris-v2", [](const json& v) {
    return str(v, "/status/message").find("mlops.dev/prometheus-credentials") != std::string::npos;
  });
  EXPECT_EQ(str(v2, "/status/reason"), "PrometheusConfigInvalid");
  EXPECT_EQ(op_->output().find("not-for-the-operator"), std::string::npos) << "a token was logged";
}

// Per-version canary error rates: the check's query selects the version.
json versionedCheck() {
  return json{{"name", "error-rate"},
              {"query", std::string(kMetric) +
                            "{namespace=\"{{namespace}}\",model=\"{{model}}\",track=\"{{track}}\","
                            "version=\"{{version}}\"}"},
              {"max", 0.05}};
}

TEST_F(RolloutE2E, SigkilledDuringCanariesAndPromotionsTheInvariantsHold) {
  constexpr int kKills = 20;
  std::string seedError;
  const auto seed = chaosSeed(seedError);
  ASSERT_TRUE(seed) << seedError;
  std::mt19937 rng(*seed);
  std::uniform_int_distribution<int> killAfterMs(150, 2500);

  json policy =
      driftPolicy("chaos", json{{"checks", json::array({versionedCheck()})}, {"bakeTime", "1s"}});
  create(res::kDriftPolicies, policy);
  // Every third version breaches on its canary; the rest are healthy.
  const auto breaches = [](int v) { return v % 3 == 0; };
  const auto setRate = [&](int v, const std::string& track, double value) {
    setSeries(json{{"namespace", ns()},
                   {"model", "chaos"},
                   {"track", track},
                   {"version", std::to_string(v)}},
              value);
  };

  // Invariants, observed from outside while the operator is killed and
  // restarted. The versions are read before the Deployments: the operator
  // changes what is served before it writes RolledBack, so a version that
  // reads RolledBack must already be off both Deployments.
  std::atomic<bool> watching{true};
  std::atomic<int> violations{0};
  std::string firstViolation;
  std::mutex violationMu;
  std::thread watcher([&] {
    auto admin = testing::adminClient(env());
    if (!admin.ok()) return;
    while (watching) {
      auto versions = (*admin)->list(res::kModelVersions, ns());
      kube::ListOptions stableOnly;
      stableOnly.labelSelector = "mlops.dev/model=chaos,mlops.dev/track=stable";
      auto stable = (*admin)->list(res::kDeployments, ns(), stableOnly);
      auto canary = (*admin)->get(res::kDeployments, ns(), "chaos-canary");
      if (versions.ok() && stable.ok()) {
        std::set<std::string> rolledBack;
        for (const auto& v : versions->items) {
          if (str(v, "/status/phase") == "RolledBack")
            rolledBack.insert(std::to_string(field(v, "/spec/version").get<int>()));
        }
        std::vector<std::string> problems;
        if (stable->items.size() > 1) problems.push_back("two stable Deployments");
        for (const auto& d : stable->items) {
          const std::string served = str(d, "/spec/template/metadata/labels/mlops.dev~1version");
          if (rolledBack.count(served))
            problems.push_back("stable serves RolledBack version " + served);
        }
        if (canary.ok()) {
          const std::string served =
              str(*canary, "/spec/template/metadata/labels/mlops.dev~1version");
          if (rolledBack.count(served))
            problems.push_back("canary serves RolledBack version " + served);
        }
        if (!problems.empty()) {
          std::lock_guard lock(violationMu);
          if (violations++ == 0) firstViolation = problems.front();
        }
      }
      std::this_thread::sleep_for(50ms);
    }
  });

  // Every candidate's verdict is checked at the end: retention must not
  // archive the oldest ones first (a fast machine decides more than ten).
  const std::vector<std::string> keepAll = {"--retention-keep=10000"};  // the flag's maximum
  startOperator(keepAll);
  create(res::kModelVersions, modelVersion("chaos", 1, "Production"));
  int kills = 0;
  int version = 1;
  const auto decided = [&](int v) {
    const std::string phase = str(
        get(res::kModelVersions, "chaos-v" + std::to_string(v)).value_or(json()), "/status/phase");
    return phase == "Production" || phase == "Superseded" || phase == "RolledBack";
  };
  while (kills < kKills && !HasFatalFailure()) {
    if (decided(version)) {
      ++version;
      setRate(version, "canary", breaches(version) ? 0.5 : 0.01);
      setRate(version, "stable", 0.01);
      create(res::kModelVersions, modelVersion("chaos", version, "Production"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(killAfterMs(rng)));
    op_->signal(SIGKILL);
    ASSERT_TRUE(op_->waitExit(10s));
    ++kills;
    startOperator(keepAll);
  }
  // Once left alone, every version is decided the way its evidence says.
  for (int v = 2; v <= version; ++v) {
    const std::string name = "chaos-v" + std::to_string(v);
    const json last = waitForVersion(
        name,
        [](const json& obj) {
          const std::string phase = str(obj, "/status/phase");
          return phase == "Production" || phase == "Superseded" || phase == "RolledBack";
        },
        90s);
    if (breaches(v)) {
      EXPECT_EQ(str(last, "/status/phase"), "RolledBack") << name;
    } else {
      EXPECT_NE(str(last, "/status/phase"), "RolledBack") << name << ": " << last.dump(2);
    }
  }
  EXPECT_TRUE(eventually(30s, [&] { return !get(res::kDeployments, "chaos-canary"); }))
      << "a canary outlived every decision";
  watching = false;
  watcher.join();
  EXPECT_EQ(violations.load(), 0) << "first violation: " << firstViolation;
  std::cout << "[figures] " << kills << " SIGKILLs over " << version - 1
            << " candidates; invariant violations: " << violations.load() << "\n";
}

// A served model with no candidate is reconciled from the cache alone: the
// canary's name is read live only when a canary is about to be created.
TEST_F(RolloutE2E, ASettledModelIsReconciledWithoutLiveReads) {
  startOperator();
  v1InProduction("quiet", std::nullopt);
  if (HasFatalFailure()) return;
  const auto reconciles = [&] {
    return operatorMetric("controller_runtime_reconcile_total", "controller=\"rollout\"");
  };
  const double getsBefore = operatorMetric("rest_client_requests_total", "method=\"GET\"");
  const double reconcilesBefore = reconciles();
  for (int i = 1; i <= 5; ++i) {
    auto r = testing::kubectl(env(), {"annotate", "--overwrite", "modelversion", "quiet-v1", "-n",
                                      ns(), "e2e.mlops.dev/poke=" + std::to_string(i)});
    ASSERT_EQ(r.exitCode, 0) << r.describe();
  }
  // The witness: the pokes were reconciled (at least one; the queue folds
  // pokes that arrive while a reconcile waits).
  ASSERT_TRUE(eventually(30s, [&] { return reconciles() > reconcilesBefore; }));
  EXPECT_EQ(operatorMetric("rest_client_requests_total", "method=\"GET\"") - getsBefore, 0)
      << "reconciles: " << reconciles() - reconcilesBefore;
}

// DESIGN.md: replicas are "not applied when a HorizontalPodAutoscaler
// targets the Deployment": the autoscaler's choice survives reconciles.
TEST_F(RolloutE2E, AnAutoscalersReplicaCountSurvivesReconciles) {
  startOperator();
  v1InProduction("scaled", std::nullopt);
  if (HasFatalFailure()) return;
  const json hpa{
      {"apiVersion", "autoscaling/v2"},
      {"kind", "HorizontalPodAutoscaler"},
      {"metadata", {{"name", "scaled"}, {"namespace", ns()}}},
      {"spec",
       {{"scaleTargetRef", {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"name", "scaled"}}},
        {"minReplicas", 1},
        {"maxReplicas", 5},
        {"metrics",
         json::array(
             {json{{"type", "Resource"},
                   {"resource",
                    {{"name", "cpu"},
                     {"target", {{"type", "Utilization"}, {"averageUtilization", 80}}}}}}})}}}};
  create(res::kHorizontalPodAutoscalers, hpa);
  // The witness that the operator saw the autoscaler: it gave spec.replicas up.
  const auto ownsReplicas = [&] {
    auto d = get(res::kDeployments, "scaled");
    if (!d) return true;
    for (const auto& entry : field(*d, "/metadata/managedFields")) {
      if (entry.value("manager", "") == "mlops-operator" &&
          field(entry, "/fieldsV1/f:spec").contains("f:replicas")) {
        return true;
      }
    }
    return false;
  };
  ASSERT_TRUE(eventually(30s, [&] { return !ownsReplicas(); }))
      << "the operator still owns spec.replicas of an autoscaled Deployment";
  // What an autoscaler does: scale through the scale subresource.
  auto scaled =
      testing::kubectl(env(), {"scale", "deployment", "scaled", "-n", ns(), "--replicas=3"});
  ASSERT_EQ(scaled.exitCode, 0) << scaled.describe();
  const double before =
      operatorMetric("controller_runtime_reconcile_total", "controller=\"rollout\"");
  auto poked = testing::kubectl(env(), {"annotate", "--overwrite", "modelversion", "scaled-v1",
                                        "-n", ns(), "e2e.mlops.dev/poke=1"});
  ASSERT_EQ(poked.exitCode, 0) << poked.describe();
  ASSERT_TRUE(eventually(30s, [&] {
    return operatorMetric("controller_runtime_reconcile_total", "controller=\"rollout\"") > before;
  }));
  auto d = get(res::kDeployments, "scaled");
  ASSERT_TRUE(d);
  EXPECT_EQ(field(*d, "/spec/replicas"), 3);
}

// Not a timed assertion: prints the figures the rollout is judged by
// (breach → rollback time against interval + 2 s; queries and API writes per
// evaluation), and checks only that every breach was rolled back.
TEST_F(RolloutE2E, FiguresBreachToRollbackTimeAndWritesPerEvaluation) {
  constexpr int kTrials = 10;
  startOperator();
  json policy =
      driftPolicy("fig", json{{"checks", json::array({versionedCheck()})}, {"count", 1000}});
  create(res::kDriftPolicies, policy);
  create(res::kModelVersions, modelVersion("fig", 1, "Production"));
  waitForPhase("fig-v1", "Production");
  const auto metric = [&](const std::string& method) {
    return operatorMetric("rest_client_requests_total", "method=\"" + method + "\"");
  };
  std::vector<double> seconds;
  double evaluations = 0;
  std::map<std::string, double> writes;
  for (int t = 0; t < kTrials; ++t) {
    const int v = t + 2;
    const std::string name = "fig-v" + std::to_string(v);
    const json labels{
        {"namespace", ns()}, {"model", "fig"}, {"track", "canary"}, {"version", std::to_string(v)}};
    setSeries(labels, 0.01);
    create(res::kModelVersions, modelVersion("fig", v, "Production"));
    const auto successes = [&](int n) {
      return [n](const json& obj) {
        const json s = field(obj, "/status/analysis/successes");
        return s.is_number() && s.get<int>() >= n;
      };
    };
    waitForVersion(name, successes(2), 60s);
    // Steady state: API writes per evaluation between the 2nd and 5th.
    std::map<std::string, double> before;
    for (const char* m : {"GET", "PUT", "PATCH", "POST", "DELETE"}) before[m] = metric(m);
    waitForVersion(name, successes(5), 60s);
    for (const char* m : {"GET", "PUT", "PATCH", "POST", "DELETE"})
      writes[m] += metric(m) - before[m];
    evaluations += 3;
    // The breach: timed from the moment Prometheus answers with it.
    setSeries(labels, 0.5);
    const auto visible = std::chrono::steady_clock::now();
    waitForPhase(name, "RolledBack", 30s);
    seconds.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - visible).count());
  }
  std::sort(seconds.begin(), seconds.end());
  const double median = (seconds[kTrials / 2 - 1] + seconds[kTrials / 2]) / 2;
  std::cout << "[figures] breach visible in Prometheus -> canary RolledBack over " << kTrials
            << " trials: median " << median << " s, max " << seconds.back()
            << " s (interval + 2 s = 3 s)\n";
  std::cout << "[figures] per analysis evaluation (steady state, " << evaluations
            << " evaluations): Prometheus queries 1 (one check); API requests:";
  for (const auto& [method, n] : writes) std::cout << " " << method << " " << n / evaluations;
  std::cout << "\n";
}

// One sample of a Prometheus text exposition.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// The samples of a text exposition (comments skipped). Label values here are
// object names and fixed words: no escaped quotes or commas to handle.
std::vector<Sample> parseExposition(const std::string& text) {
  std::vector<Sample> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    Sample s;
    const size_t brace = line.find('{');
    const size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
    if (brace != std::string::npos && brace < space) {
      s.name = line.substr(0, brace);
      const size_t close = line.rfind('}');
      std::istringstream pairs(line.substr(brace + 1, close - brace - 1));
      for (std::string pair; std::getline(pairs, pair, ',');) {
        const size_t eq = pair.find('=');
        s.labels[pair.substr(0, eq)] = pair.substr(eq + 2, pair.size() - eq - 3);
      }
    } else {
      s.name = line.substr(0, space);
    }
    const std::string value = line.substr(space + 1);
    s.value = value == "Nan" || value == "NaN" ? std::nan("") : std::stod(value);
    out.push_back(std::move(s));
  }
  return out;
}

// The samples named `name` whose labels include `labels`.
std::vector<Sample> select(const std::vector<Sample>& all, const std::string& name,
                           const std::map<std::string, std::string>& labels = {}) {
  std::vector<Sample> out;
  for (const auto& s : all) {
    const bool match = std::all_of(labels.begin(), labels.end(), [&](const auto& kv) {
      auto it = s.labels.find(kv.first);
      return it != s.labels.end() && it->second == kv.second;
    });
    if (s.name == name && match) out.push_back(s);
  }
  return out;
}

// The one value of `name` with `labels`; NaN (and a failure) when there is
// not exactly one such sample.
double valueOf(const std::vector<Sample>& all, const std::string& name,
               const std::map<std::string, std::string>& labels = {}) {
  const auto found = select(all, name, labels);
  EXPECT_EQ(found.size(), 1u) << name << " " << ::testing::PrintToString(labels);
  return found.size() == 1 ? found[0].value : std::nan("");
}

// Issue 8, 3f: after a promotion, a rollback and a training run, the
// operator's /metrics shows each of them with the right values, the state
// gauges follow the objects, and the process_* metrics are there.
TEST_F(RolloutE2E, MetricsShowPromotionsRollbacksChecksVersionsRunsAndTheProcess) {
  const auto testStart = std::chrono::system_clock::now();
  startOperator({"--artifact-root=s3://e2e-artifacts"});
  setErrorRate("iris", "canary", 0.01);
  setErrorRate("iris", "stable", 0.01);
  // v1 promoted directly, v2 canaried (3 evaluations) and promoted; a bake of
  // 1 s, over before v3 comes, so that v2 measures nothing after it.
  v1InProduction("iris", driftPolicy("iris", json{{"bakeTime", "1s"}}));
  create(res::kModelVersions, modelVersion("iris", 2, "Production"));
  const json v2 = waitForVersion("iris-v2", [](const json& v) {
    return str(v, "/status/phase") == "Production" && str(v, "/status/analysis/kind") == "Bake" &&
           str(v, "/status/analysis/phase") == "Successful";
  });
  const int bakeSuccesses = field(v2, "/status/analysis/successes").get<int>();
  const int bakeOthers = field(v2, "/status/analysis/failures").get<int>() +
                         field(v2, "/status/analysis/inconclusives").get<int>() +
                         field(v2, "/status/analysis/errors").get<int>();
  // v3's canary breaches at its first evaluation: rolled back.
  setErrorRate("iris", "canary", 0.2);
  create(res::kModelVersions, modelVersion("iris", 3, "Production"));
  const json v3 = waitForPhase("iris-v3", "RolledBack");
  ASSERT_EQ(str(v3, "/status/reason"), "AnalysisFailed");

  // A training run of another model that succeeds and registers churn-v1.
  json run{
      {"apiVersion", "mlops.dev/v1alpha1"},
      {"kind", "TrainingRun"},
      {"metadata", {{"name", "churn-run-1"}, {"namespace", ns()}}},
      {"spec",
       {{"model", "churn"},
        {"template",
         {{"metadata",
           {{"annotations",
             {{"test.mlops.dev/results",
               json{{"metrics", {{"accuracy", 0.9}}}, {"artifact", {{"uri", "s3://e2e/churn/1"}}}}
                   .dump()}}}}},
          {"spec",
           {{"containers",
             json::array({json{{"name", "trainer"},
                               {"image", "registry.example.com/ml/churn-trainer:1"},
                               {"resources", {{"requests", {{"cpu", "10m"}}}}}}})}}}}},
        {"resultsContainer", "trainer"},
        {"dataset", {{"uri", "s3://datasets/churn/1"}}},
        {"serving",
         {{"template",
           {{"spec",
             {{"containers", json::array({json{{"name", "server"}, {"image", "srv:1"}}})}}}}}}},
        {"promotion", "Manual"}}}};
  create(res::kTrainingRuns, run);
  ASSERT_TRUE(eventually(60s, [&] {
    auto r = get(res::kTrainingRuns, "churn-run-1");
    return r && str(*r, "/status/phase") == "Succeeded";
  })) << get(res::kTrainingRuns, "churn-run-1").value_or(json()).dump(2);
  std::string churnPhase;
  ASSERT_TRUE(eventually(30s, [&] {
    auto v = get(res::kModelVersions, "churn-v1");
    churnPhase = v ? str(*v, "/status/phase") : "";
    return !churnPhase.empty();
  }));

  // The state gauges follow the informer caches, a moment behind the API.
  const std::map<std::string, std::string> inNs{{"namespace", ns()}};
  std::vector<Sample> m;
  const bool settled = eventually(30s, [&] {
    auto page = httpGet(metricsPort_, "/metrics");
    if (!page || page->status != 200) return false;
    m = parseExposition(page->body);
    const auto runs =
        select(m, "mlops_trainingruns", {{"namespace", ns()}, {"phase", "Succeeded"}});
    const auto churn = select(m, "mlops_modelversion_info",
                              {{"namespace", ns()}, {"model", "churn"}, {"phase", churnPhase}});
    const auto iris3 = select(m, "mlops_modelversion_info",
                              {{"namespace", ns()}, {"model", "iris"}, {"version", "3"}});
    return runs.size() == 1 && runs[0].value == 1 && churn.size() == 1 && iris3.size() == 1 &&
           iris3[0].labels.at("phase") == "RolledBack";
  });
  ASSERT_TRUE(settled) << httpGet(metricsPort_, "/metrics").value_or(HttpReply{}).body;

  const std::map<std::string, std::string> iris{{"namespace", ns()}, {"model", "iris"}};
  auto with = [&](std::map<std::string, std::string> labels,
                  const std::map<std::string, std::string>& more) {
    labels.insert(more.begin(), more.end());
    return labels;
  };
  EXPECT_EQ(valueOf(m, "mlops_promotions_total", iris), 2) << "v1 directly, v2 after its canary";
  EXPECT_EQ(valueOf(m, "mlops_rollbacks_total", with(iris, {{"reason", "AnalysisFailed"}})), 1);
  EXPECT_EQ(select(m, "mlops_rollbacks_total", iris).size(), 1u) << "no other reason";
  // v2's canary: exactly 3 Successful; its bake: what its status counted;
  // v3's canary: one Failed.
  const std::map<std::string, std::string> check = with(iris, {{"check", "error-rate"}});
  EXPECT_EQ(valueOf(m, "mlops_check_evaluations_total", with(check, {{"verdict", "Successful"}})),
            3 + bakeSuccesses);
  EXPECT_EQ(valueOf(m, "mlops_check_evaluations_total", with(check, {{"verdict", "Failed"}})),
            1 + field(v2, "/status/analysis/failures").get<int>());
  double evaluations = 0;
  for (const auto& s : select(m, "mlops_check_evaluations_total", check)) evaluations += s.value;
  EXPECT_GE(evaluations, 4 + bakeSuccesses + bakeOthers);
  EXPECT_DOUBLE_EQ(valueOf(m, "mlops_check_value", check), 0.2) << "v3's deciding measurement";

  // One info series per version, with the phase the API shows.
  for (const auto& [version, phase] : std::vector<std::pair<std::string, std::string>>{
           {"1", "Superseded"}, {"2", "Production"}, {"3", "RolledBack"}}) {
    const auto found = select(m, "mlops_modelversion_info", with(iris, {{"version", version}}));
    ASSERT_EQ(found.size(), 1u) << "iris v" << version;
    EXPECT_EQ(found[0].labels.at("phase"), phase) << "iris v" << version;
    EXPECT_EQ(found[0].value, 1);
  }
  EXPECT_EQ(select(m, "mlops_modelversion_info", inNs).size(), 4u);
  EXPECT_EQ(valueOf(m, "mlops_trainingruns", with(inNs, {{"phase", "Succeeded"}})), 1);
  for (const char* phase : {"Pending", "Running", "Failed"}) {
    EXPECT_EQ(valueOf(m, "mlops_trainingruns", with(inNs, {{"phase", phase}})), 0) << phase;
  }

  // The process, plausibly.
  const double rss = valueOf(m, "process_resident_memory_bytes");
  EXPECT_GT(rss, 1 << 20);
  EXPECT_GE(valueOf(m, "process_virtual_memory_bytes"), rss);
  EXPECT_GT(valueOf(m, "process_cpu_seconds_total"), 0);
  const double fds = valueOf(m, "process_open_fds");
  EXPECT_GE(fds, 3);
  EXPECT_LE(fds, valueOf(m, "process_max_fds"));
  const double start = valueOf(m, "process_start_time_seconds");
  const auto unix = [](std::chrono::system_clock::time_point t) {
    return std::chrono::duration<double>(t.time_since_epoch()).count();
  };
  // Started by this test (slack for the boot time's whole seconds).
  EXPECT_GE(start, unix(testStart) - 5);
  EXPECT_LE(start, unix(std::chrono::system_clock::now()) + 5);
  std::cout << "[figures] operator /metrics after the run: " << m.size() << " samples, "
            << select(m, "mlops_check_evaluations_total", check).size()
            << " check-evaluation series; process RSS " << rss / (1 << 20) << " MiB, open fds "
            << fds << "\n";
}

}  // namespace
}  // namespace mlops::e2e
