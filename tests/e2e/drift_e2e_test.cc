// End-to-end: the drift controller in the mlops-operator binary, run with
// its own ServiceAccount's token against the local control plane, judging
// the production version on the plane's real Prometheus. The plane's test
// exporter plays the model's drift metric: each test sets a gauge series
// mlops_e2e_drift{namespace,model,version} (TESTENV.md "The metrics
// exporter"), which Prometheus scrapes every second; the canary analysis of
// a retrained version reads mlops_e2e_error_rate{namespace,model,track}.
// kwok plays the serving pods (Deployments become Available) and the
// trainer (a pod annotated test.mlops.dev/results finishes with them).
//
// Each test starts its own operator watching only the test's namespace.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
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

constexpr const char* kDriftMetric = "mlops_e2e_drift";
constexpr const char* kErrorMetric = "mlops_e2e_error_rate";
constexpr double kDriftMax = 0.2;
constexpr const char* kResults =
    R"({"metrics":{"accuracy":0.95},"artifact":{"uri":"s3://e2e/retrained","digest":"sha256:a2d8aedfec7cbc6e3f0adafe81e0d14624947ab7e90a321a3b7032cbe961dc52"}})";

int64_t num(const json& obj, const std::string& pointer, int64_t fallback = -1) {
  const json v = field(obj, pointer);
  return v.is_number_integer() ? v.get<int64_t>() : fallback;
}

// A TrainingRun spec (without model) whose pod finishes with kResults after
// `durationMs`, or never when `finishes` is false.
json retrainTemplate(bool finishes = true, int durationMs = 0, bool registers = true) {
  json annotations = json::object();
  if (finishes) {
    annotations["test.mlops.dev/results"] = kResults;
    if (durationMs > 0) annotations["test.mlops.dev/duration-ms"] = std::to_string(durationMs);
  }
  json t{
      {"template",
       {{"metadata", {{"annotations", annotations}}},
        {"spec",
         {{"containers", json::array({json{{"name", "trainer"},
                                           {"image", "registry.example.com/ml/trainer:1"},
                                           {"resources", {{"requests", {{"cpu", "10m"}}}}}}})}}}}},
      {"dataset", {{"uri", "s3://datasets/e2e"}}},
      {"serving", servingTemplate()}};
  if (!registers) t["register"] = false;
  return t;
}

std::string driftQuery(const std::string& metric = kDriftMetric) {
  return metric +
         std::string(R"({namespace="{{namespace}}",model="{{model}}",version="{{version}}"})");
}

// Milliseconds since midnight of a text log line's timestamp
// ("2026-11-30T13:10:00.123Z ..."), or nullopt.
std::optional<long> logMillis(const std::string& line) {
  if (line.size() < 24 || line[10] != 'T' || line[19] != '.') return std::nullopt;
  try {
    return ((std::stol(line.substr(11, 2)) * 60 + std::stol(line.substr(14, 2))) * 60 +
            std::stol(line.substr(17, 2))) *
               1000 +
           std::stol(line.substr(20, 3));
  } catch (...) {
    return std::nullopt;
  }
}

class DriftE2E : public ServingOperatorFixture {
 protected:
  std::string namespacePrefix() const override { return "e2e-dr"; }

  void setDrift(const std::string& model, int version, double value) {
    series_->set(kDriftMetric,
                 json{{"namespace", ns()}, {"model", model}, {"version", std::to_string(version)}},
                 value);
  }

  void setErrorRate(const std::string& model, const std::string& track, double value) {
    series_->set(kErrorMetric, json{{"namespace", ns()}, {"model", model}, {"track", track}},
                 value);
  }

  // A policy watching `model` for drift (interval 1s), with a canary
  // analysis on the error rate (count 2) so retrained versions can pass.
  json policy(const std::string& model, json drift) {
    drift.emplace(
        "checks",
        json::array({json{{"name", "psi"}, {"query", driftQuery()}, {"max", kDriftMax}}}));
    drift.emplace("interval", "1s");
    drift.emplace("breachAfter", 3);
    json analysis{
        {"checks",
         json::array({json{
             {"name", "error-rate"},
             {"query", std::string(kErrorMetric) +
                           R"({namespace="{{namespace}}",model="{{model}}",track="{{track}}"})"},
             {"max", 0.05}}})},
        {"interval", "1s"},
        {"initialDelay", "0s"},
        {"count", 2},
        {"bakeTime", "2s"}};
    return json{{"apiVersion", "mlops.dev/v1alpha1"},
                {"kind", "DriftPolicy"},
                {"metadata", {{"name", model}, {"namespace", ns()}}},
                {"spec", {{"model", model}, {"analysis", analysis}, {"drift", drift}}}};
  }

  json retrain(json overrides) {
    json r{{"template", retrainTemplate()},
           {"cooldown", "1h"},
           {"maxConcurrent", 1},
           {"promotion", "Manual"}};
    // Replaced, not merged: a template without the results annotation must
    // not keep the default's.
    for (const auto& [key, value] : overrides.items()) r[key] = value;
    return r;
  }

  // v1 of `model` in production, drift on it at `drift` and in Prometheus
  // already; then the policy. The error rates only matter to a test that
  // canaries a second version (each set waits for a scrape).
  void v1InProduction(const std::string& model, double drift, const json& pol,
                      bool canaryRates = false) {
    setDrift(model, 1, drift);
    if (canaryRates) {
      setErrorRate(model, "stable", 0.01);
      setErrorRate(model, "canary", 0.01);
    }
    create(res::kModelVersions, modelVersion(model, 1, "Production"));
    ASSERT_TRUE(eventually(60s, [&] {
      return str(get(res::kModelVersions, model + "-v1").value_or(json()), "/status/phase") ==
             "Production";
    })) << "v1 never reached production";
    create(res::kDriftPolicies, pol);
  }

  json policyNow(const std::string& name) {
    return get(res::kDriftPolicies, name).value_or(json());
  }

  // The status entry of check `check`.
  json checkOf(const json& policy, const std::string& check = "psi") {
    const json checks = field(policy, "/status/checks");
    if (checks.is_array()) {
      for (const auto& c : checks) {
        if (c.value("name", "") == check) return c;
      }
    }
    return json();
  }

  int64_t breaches(const json& policy) { return num(checkOf(policy), "/consecutiveBreaches"); }

  // Waits until the policy's status satisfies `done`; returns its last state.
  json waitForPolicy(const std::string& name, const std::function<bool(const json&)>& done,
                     std::chrono::milliseconds timeout = 60s) {
    json last;
    const bool reached = eventually(timeout, [&] {
      last = policyNow(name);
      return done(last);
    });
    EXPECT_TRUE(reached) << name << " never reached the expected state; last status: "
                         << field(last, "/status").dump(2);
    return last;
  }

  json runsOf(const std::string& policy) {
    kube::ListOptions opts;
    opts.labelSelector = "mlops.dev/drift-policy=" + policy;
    auto page = client().list(res::kTrainingRuns, ns(), opts);
    EXPECT_TRUE(page.ok()) << page.error().toString();
    return page.ok() ? page->items : json::array();
  }

  // Waits for `evaluations` more drift evaluations of the policy (its
  // lastEvaluationTime changes that often), checking `invariant` at each.
  void duringEvaluations(const std::string& name, int evaluations,
                         const std::function<void(const json&)>& invariant) {
    std::string last = str(policyNow(name), "/status/lastEvaluationTime");
    for (int i = 0; i < evaluations && !HasFailure(); ++i) {
      json seen;
      ASSERT_TRUE(eventually(30s,
                             [&] {
                               seen = policyNow(name);
                               return str(seen, "/status/lastEvaluationTime") != last;
                             }))
          << "no evaluation after " << last << ": " << field(seen, "/status").dump(2);
      last = str(seen, "/status/lastEvaluationTime");
      invariant(seen);
    }
  }
};

// 3a: drift on production → exactly one TrainingRun; with promotion
// Automatic its version is canaried on the policy's analysis and promoted.
TEST_F(DriftE2E, DriftOnProductionRetrainsOnceAndTheNewVersionIsCanariedAndPromoted) {
  startOperator();
  v1InProduction("iris", 0.05, policy("iris", {{"retrain", retrain({{"promotion", "Automatic"}})}}),
                 /*canaryRates=*/true);
  json p = waitForPolicy("iris", [&](const json& o) {
    return str(o, "/status/phase") == "Healthy" && num(o, "/status/productionVersion") == 1 &&
           str(checkOf(o), "/verdict") == "Successful";
  });
  EXPECT_EQ(str(checkOf(p), "/query"),
            "mlops_e2e_drift{namespace=\"" + ns() + "\",model=\"iris\",version=\"1\"}");
  EXPECT_DOUBLE_EQ(field(checkOf(p), "/max").get<double>(), kDriftMax);

  const auto breachVisible = std::chrono::steady_clock::now();
  setDrift("iris", 1, 0.5);
  ASSERT_TRUE(eventually(30s, [&] { return !runsOf("iris").empty(); })) << "no retraining run";
  const auto runSeen = std::chrono::steady_clock::now();
  p = waitForPolicy("iris", [](const json& o) { return num(o, "/status/retrainCount") == 1; });
  const json runs = runsOf("iris");
  ASSERT_EQ(runs.size(), 1U) << runs.dump(2);
  const json& run = runs[0];
  EXPECT_EQ(str(run, "/metadata/name"), "iris-retrain-1");
  EXPECT_EQ(str(run, "/metadata/labels/mlops.dev~1drift-check"), "psi");
  EXPECT_EQ(str(run, "/metadata/labels/mlops.dev~1drift-version"), "1");
  EXPECT_EQ(str(run, "/spec/model"), "iris");
  EXPECT_EQ(str(run, "/spec/promotion"), "Automatic");
  EXPECT_EQ(str(p, "/status/lastRetrain/trainingRun"), "iris-retrain-1");
  EXPECT_EQ(str(p, "/status/lastRetrain/check"), "psi");
  std::string message;
  EXPECT_TRUE(eventuallyHasEvent("iris", "RetrainTriggered", &message));
  EXPECT_NE(message.find("iris-retrain-1"), std::string::npos) << message;

  // The retrained version goes through the canary analysis and is promoted.
  const json v2 = [&] {
    json last;
    EXPECT_TRUE(eventually(90s,
                           [&] {
                             last = get(res::kModelVersions, "iris-v2").value_or(json());
                             return str(last, "/status/phase") == "Production";
                           }))
        << "iris-v2 never reached production: " << field(last, "/status").dump(2) << "\nrun: "
        << field(get(res::kTrainingRuns, "iris-retrain-1").value_or(json()), "/status").dump(2);
    return last;
  }();
  EXPECT_EQ(str(v2, "/spec/source/trainingRun"), "iris-retrain-1");
  // It was canaried and judged by the policy's analysis, not rolled out blind.
  EXPECT_TRUE(eventuallyHasEvent("iris-v2", "CanaryStarted"));
  EXPECT_TRUE(eventuallyHasEvent("iris-v2", "AnalysisSuccessful"));
  EXPECT_TRUE(eventuallyHasEvent("iris-v2", "Promoted")) << field(v2, "/status").dump(2);
  // The policy now judges v2, counting afresh.
  p = waitForPolicy("iris", [](const json& o) { return num(o, "/status/productionVersion") == 2; });
  EXPECT_LE(breaches(p), 1);
  EXPECT_EQ(runsOf("iris").size(), 1U);

  // The figures: from the operator's log, the evaluation that reached
  // breachAfter to the create's answer; from the test, the breach visible
  // in Prometheus to the run seen (breachAfter evaluations, 1 s apart).
  std::optional<long> evaluated, created;
  std::istringstream log(op_->output());
  for (std::string line; std::getline(log, line);) {
    if (line.find("drift evaluated") != std::string::npos &&
        line.find("verdict=Failed") != std::string::npos && !created) {
      evaluated = logMillis(line);
    }
    if (line.find("retraining run") != std::string::npos &&
        line.find("outcome=created") != std::string::npos && !created) {
      created = logMillis(line);
    }
  }
  if (evaluated && created) {
    std::cout << "[figure] time from a breach reaching breachAfter to the TrainingRun's creation: "
              << (*created - *evaluated) << " ms (operator log)\n";
  }
  std::cout
      << "[figure] breach visible in Prometheus to the TrainingRun seen by a client: "
      << std::chrono::duration_cast<std::chrono::milliseconds>(runSeen - breachVisible).count()
      << " ms (breachAfter 3, interval 1s)\n";
  std::cout << "[figure] Prometheus queries per drift evaluation: 1 per drift check (log: "
            << (op_->output().find("drift evaluated") != std::string::npos ? "queries=1" : "?")
            << " with one check)\n";
  EXPECT_NE(op_->output().find("queries=1"), std::string::npos);
}

// 3a: the cooldown holds while the breach persists (the run finished, so
// maxConcurrent is not what holds it).
TEST_F(DriftE2E, TheCooldownHoldsWhileTheBreachPersists) {
  startOperator();
  v1InProduction(
      "iris", 0.5,
      policy("iris", {{"retrain", retrain({{"cooldown", "1h"},
                                           {"maxConcurrent", 5},
                                           {"template", retrainTemplate(true, 0, false)}})}}));
  ASSERT_TRUE(eventually(30s, [&] { return runsOf("iris").size() == 1; }));
  ASSERT_TRUE(eventually(60s, [&] {
    const json runs = runsOf("iris");
    return runs.size() == 1 && str(runs[0], "/status/phase") == "Succeeded";
  })) << runsOf("iris").dump(2);
  duringEvaluations("iris", 3, [&](const json& p) {
    EXPECT_EQ(runsOf("iris").size(), 1U);
    EXPECT_EQ(num(p, "/status/retrainCount"), 1);
    EXPECT_GE(breaches(p), 3);
    EXPECT_NE(str(p, "/status/message").find("cooldown"), std::string::npos)
        << str(p, "/status/message");
  });
}

// 3a: maxConcurrent holds while the triggered run is unfinished, even with
// no cooldown.
TEST_F(DriftE2E, MaxConcurrentHoldsWhileTheTriggeredRunIsUnfinished) {
  startOperator();
  v1InProduction("iris", 0.5,
                 policy("iris", {{"retrain", retrain({{"cooldown", "0s"},
                                                      {"maxConcurrent", 1},
                                                      {"template", retrainTemplate(false)}})}}));
  ASSERT_TRUE(eventually(30s, [&] { return runsOf("iris").size() == 1; }));
  duringEvaluations("iris", 3, [&](const json& p) {
    const json runs = runsOf("iris");
    ASSERT_EQ(runs.size(), 1U) << runs.dump(2);
    EXPECT_EQ(str(p, "/status/phase"), "Retraining");
    EXPECT_NE(str(p, "/status/message").find("maxConcurrent 1"), std::string::npos)
        << str(p, "/status/message");
  });
}

// 3c: a query with a syntax error: Prometheus's error in status and an
// Event; nothing triggered.
TEST_F(DriftE2E, AQuerySyntaxErrorIsReportedWithPrometheussErrorAndTriggersNothing) {
  startOperator();
  json pol = policy("iris", {{"breachAfter", 1}, {"retrain", retrain({{"cooldown", "0s"}})}});
  pol["spec"]["drift"]["checks"][0]["query"] = "mlops_e2e_drift{";
  v1InProduction("iris", 0.5, pol);
  const json p = waitForPolicy(
      "iris", [](const json& o) { return str(o, "/status/reason") == "QueryInvalid"; });
  EXPECT_EQ(str(p, "/status/phase"), "Degraded");
  EXPECT_EQ(str(checkOf(p), "/verdict"), "Error");
  EXPECT_NE(str(checkOf(p), "/message").find("bad_data"), std::string::npos) << checkOf(p).dump(2);
  std::string message;
  EXPECT_TRUE(eventuallyHasEvent("iris", "QueryInvalid", &message));
  EXPECT_NE(message.find("parse error"), std::string::npos) << message;
  duringEvaluations("iris", 2, [&](const json&) { EXPECT_TRUE(runsOf("iris").empty()); });
}

// 3d: a production version change resets the counts.
TEST_F(DriftE2E, AProductionVersionChangeResetsTheCounts) {
  startOperator();
  v1InProduction("iris", 0.5, policy("iris", {{"breachAfter", 1000}}), /*canaryRates=*/true);
  setDrift("iris", 2, 0.5);
  const json before = waitForPolicy("iris", [&](const json& o) { return breaches(o) >= 6; });
  create(res::kModelVersions, modelVersion("iris", 2, "Production"));
  const json after = waitForPolicy(
      "iris", [](const json& o) { return num(o, "/status/productionVersion") == 2; }, 90s);
  EXPECT_LT(breaches(after), 6) << "counts carried over from v1: "
                                << field(after, "/status").dump(2);
  EXPECT_NE(str(checkOf(after), "/query").find("version=\"2\""), std::string::npos);
  EXPECT_GE(breaches(before), 6);
}

// 3b: Prometheus unreachable (the policy's URL points at a closed port):
// the outage is reported and triggers nothing; fixed, counting resumes
// where it was.
TEST_F(DriftE2E, AnUnreachablePrometheusIsReportedAndCountingResumesWhereItWas) {
  startOperator();
  v1InProduction("iris", 0.5,
                 policy("iris", {{"breachAfter", 6}, {"retrain", retrain(json::object())}}));
  waitForPolicy("iris", [&](const json& o) { return breaches(o) >= 2; });
  const std::string closed = "http://127.0.0.1:" + std::to_string(freePort());
  auto patched = client().mergePatch(res::kDriftPolicies, ns(), "iris",
                                     json{{"spec", {{"prometheus", {{"url", closed}}}}}});
  ASSERT_TRUE(patched.ok()) << patched.error().toString();
  const json down = waitForPolicy(
      "iris", [](const json& o) { return str(o, "/status/reason") == "PrometheusError"; });
  EXPECT_EQ(str(down, "/status/phase"), "Degraded");
  EXPECT_EQ(str(checkOf(down), "/verdict"), "Error");
  EXPECT_TRUE(eventuallyHasEvent("iris", "PrometheusError"));
  const int64_t kept = breaches(down);
  ASSERT_GE(kept, 2);
  ASSERT_LT(kept, 6);
  duringEvaluations("iris", 3, [&](const json& p) {
    EXPECT_EQ(breaches(p), kept);
    EXPECT_EQ(str(p, "/status/phase"), "Degraded");
    EXPECT_TRUE(runsOf("iris").empty());
  });
  patched = client().mergePatch(res::kDriftPolicies, ns(), "iris",
                                json{{"spec", {{"prometheus", {{"url", nullptr}}}}}});
  ASSERT_TRUE(patched.ok()) << patched.error().toString();
  const json back = waitForPolicy("iris", [&](const json& o) {
    return str(checkOf(o), "/verdict") == "Failed" && breaches(o) != kept;
  });
  EXPECT_EQ(breaches(back), kept + 1) << "counting did not resume where it was";
  ASSERT_TRUE(eventually(30s, [&] { return runsOf("iris").size() == 1; }))
      << "the breach never triggered once Prometheus answered: "
      << field(policyNow("iris"), "/status").dump(2);
}

// 3e: the operator SIGKILLed at random moments while breaches reach
// breachAfter, 20 times: never two TrainingRuns for one trigger. Runs finish
// ~1 s after they start and the cooldown is 0, so the persisting breach
// triggers again and again; maxConcurrent 1 must hold at every moment and
// every run must be one the policy counted.
TEST_F(DriftE2E, SigkillAtRandomMomentsNeverCreatesTwoRunsForOneTrigger) {
  constexpr int kKills = 20;
  std::string seedError;
  const auto seed = chaosSeed(seedError);
  ASSERT_TRUE(seed) << seedError;
  std::mt19937 rng(*seed);
  std::uniform_int_distribution<int> killAfterMs(200, 2200);

  startOperator();
  v1InProduction(
      "chaos", 0.5,
      policy("chaos", {{"retrain", retrain({{"cooldown", "0s"},
                                            {"maxConcurrent", 1},
                                            {"template", retrainTemplate(true, 500, false)}})}}));
  std::atomic<bool> watching{true};
  std::atomic<int> violations{0};
  std::mutex violationMu;
  std::string firstViolation;
  std::thread watcher([&] {
    while (watching) {
      int unfinished = 0;
      std::vector<std::string> names;
      for (const auto& r : runsOf("chaos")) {
        const std::string phase = str(r, "/status/phase");
        if (phase != "Succeeded" && phase != "Failed") {
          ++unfinished;
          names.push_back(str(r, "/metadata/name"));
        }
      }
      if (unfinished > 1) {
        std::lock_guard lock(violationMu);
        if (violations++ == 0) {
          firstViolation = std::to_string(unfinished) + " unfinished runs:";
          for (const auto& n : names) firstViolation += " " + n;
        }
      }
      std::this_thread::sleep_for(50ms);
    }
  });
  const auto started = std::chrono::steady_clock::now();
  for (int kills = 0; kills < kKills && !HasFatalFailure(); ++kills) {
    std::this_thread::sleep_for(std::chrono::milliseconds(killAfterMs(rng)));
    op_->signal(SIGKILL);
    ASSERT_TRUE(op_->waitExit(10s));
    startOperator();
  }
  // Left alone, the policy accounts for every run there is.
  const json settled = waitForPolicy("chaos", [&](const json& o) {
    const json runs = runsOf("chaos");
    return num(o, "/status/retrainCount") == static_cast<int64_t>(runs.size()) && !runs.empty();
  });
  watching = false;
  watcher.join();
  const json runs = runsOf("chaos");
  std::set<std::string> triggers;
  for (const auto& r : runs) {
    const std::string trigger = str(r, "/metadata/labels/mlops.dev~1drift-trigger");
    EXPECT_TRUE(triggers.insert(trigger).second) << "two runs for trigger " << trigger;
    EXPECT_EQ(str(r, "/metadata/name"), "chaos-retrain-" + trigger);
  }
  for (size_t n = 1; n <= runs.size(); ++n) {
    EXPECT_TRUE(triggers.count(std::to_string(n))) << "no run for trigger " << n;
  }
  EXPECT_EQ(violations.load(), 0) << "first violation: " << firstViolation;
  std::cout << "[figures] " << kKills << " SIGKILLs in "
            << std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                                started)
                   .count()
            << " s; " << runs.size() << " triggers, " << runs.size()
            << " runs; maxConcurrent violations: " << violations.load() << "\n";
  EXPECT_GE(runs.size(), 2U) << "the chaos never hit a second trigger: "
                             << field(settled, "/status").dump(2);
}

}  // namespace
}  // namespace mlops::e2e
