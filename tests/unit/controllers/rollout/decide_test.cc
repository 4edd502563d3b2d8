#include "controllers/rollout/decide.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "controllers/rollout/serving.h"
#include "objects/timestamps.h"

namespace mlops::rollout {
namespace {

using Json = nlohmann::json;
using std::chrono::seconds;

const auto kNow = std::chrono::system_clock::time_point(seconds(1'800'000'000));

std::string at(seconds offset) {
  return objects::formatTimestamp(kNow + offset);
}

Json version(int64_t number, const std::string& stage, const std::string& phase = "Registered",
             Json status = Json::object()) {
  const std::string name = "iris-v" + std::to_string(number);
  status["phase"] = phase;
  if (!status.contains("reason")) {
    status["reason"] = phase;
  }
  return Json{
      {"apiVersion", "mlops.dev/v1alpha1"},
      {"kind", "ModelVersion"},
      {"metadata",
       {{"name", name},
        {"namespace", "ml"},
        {"uid", "uid-" + name},
        {"generation", 1},
        {"resourceVersion", "10"}}},
      {"spec",
       {{"model", "iris"},
        {"version", number},
        {"stage", stage},
        {"artifact",
         {{"uri", "s3://models/iris/" + std::to_string(number)}, {"digest", "sha256:ab"}}},
        {"serving",
         {{"template",
           {{"spec",
             {{"containers", Json::array({Json{{"name", "server"}, {"image", "srv:1"}}})}}}}},
          {"replicas", 2}}}}},
      {"status", status},
  };
}

Json policy(Json analysis = Json::object()) {
  Json checks = Json::array({Json{{"name", "error-rate"},
                                  {"query", "errors{model=\"{{model}}\",track=\"{{track}}\"}"},
                                  {"max", 0.05}}});
  analysis["checks"] = checks;
  analysis.emplace("interval", "10s");
  analysis.emplace("initialDelay", "30s");
  analysis.emplace("count", 3);
  return Json{{"apiVersion", "mlops.dev/v1alpha1"},
              {"kind", "DriftPolicy"},
              {"metadata", {{"name", "iris"}, {"namespace", "ml"}, {"generation", 1}}},
              {"spec", {{"model", "iris"}, {"analysis", analysis}}}};
}

// A Deployment as the API server would show it after the apply, rolled out.
Json availableDeployment(const Json& applied, seconds availableFor = seconds(60)) {
  Json d = applied;
  d["metadata"]["generation"] = 2;
  d["status"] =
      Json{{"observedGeneration", 2},
           {"replicas", d["spec"].value("replicas", 1)},
           {"updatedReplicas", d["spec"].value("replicas", 1)},
           {"availableReplicas", d["spec"].value("replicas", 1)},
           {"conditions", Json::array({Json{{"type", "Available"},
                                            {"status", "True"},
                                            {"lastTransitionTime", at(-availableFor)}}})}};
  return d;
}

const Json* applied(const RolloutDecision& d, const std::string& name) {
  for (const Json& o : d.apply) {
    if (o["metadata"]["name"] == name && o["kind"] == "Deployment") {
      return &o;
    }
  }
  return nullptr;
}

const Json* statusOf(const RolloutDecision& d, const std::string& name) {
  for (const auto& w : d.statuses) {
    if (w.name == name) {
      return &w.object["status"];
    }
  }
  return nullptr;
}

bool removes(const RolloutDecision& d, const std::string& kind, const std::string& name) {
  return std::any_of(d.remove.begin(), d.remove.end(),
                     [&](const ObjectRef& r) { return r.kind == kind && r.name == name; });
}

bool hasEvent(const RolloutDecision& d, const std::string& reason) {
  return std::any_of(d.events.begin(), d.events.end(),
                     [&](const RolloutEvent& e) { return e.reason == reason; });
}

std::string condition(const Json& status, const std::string& type) {
  for (const Json& c : status["conditions"]) {
    if (c["type"] == type) {
      return c["status"];
    }
  }
  return "";
}

RolloutInput input(std::vector<Json> versions) {
  RolloutInput in;
  in.ns = "ml";
  in.model = "iris";
  in.versions = std::move(versions);
  in.now = kNow;
  return in;
}

// Replaces a version in the input by the status the decision wrote for it.
void persist(RolloutInput& in, const RolloutDecision& d) {
  for (const auto& w : d.statuses) {
    for (Json& v : in.versions) {
      if (v["metadata"]["name"] == w.name) {
        v = w.object;
      }
    }
  }
}

analysis::Evaluation evaluation(double value, analysis::Verdict verdict) {
  analysis::Measurement m;
  m.check = "error-rate";
  m.time = at(seconds(0));
  m.query = "errors{model=\"iris\",track=\"canary\"}";
  m.value = value;
  m.max = 0.05;
  m.verdict = verdict;
  return analysis::Evaluation{{m}, verdict, 1};
}

// A model with v1 in production (its stable Deployment applied and
// available) and v2 staged; with `withPolicy` a DriftPolicy.
RolloutInput v1InProductionV2Staged(bool withPolicy) {
  RolloutInput in = input({version(1, "Production", "Production"), version(2, "Production")});
  // Serving objects are owned by every live version, v2 included.
  RolloutInput settle = input({version(1, "Production", "Production"), version(2, "None")});
  const RolloutDecision first = decideRollout(settle);
  in.stable = availableDeployment(*applied(first, "iris"));
  in.service = first.apply.back();
  if (withPolicy) {
    in.policy = policy();
  }
  return in;
}

TEST(DecideRollout, TheFirstVersionIsPromotedDirectlyOnceItsDeploymentIsAvailable) {
  RolloutInput in = input({version(1, "Production")});
  RolloutDecision d = decideRollout(in);
  const Json* stable = applied(d, "iris");
  ASSERT_NE(stable, nullptr);
  EXPECT_EQ(stable->at("spec").at("selector").at("matchLabels"),
            (Json{{"mlops.dev/model", "iris"}, {"mlops.dev/track", "stable"}}));
  EXPECT_EQ(stable->at("spec").at("replicas"), 2);
  EXPECT_EQ(stable->at("spec").at("template").at("metadata").at("labels").at("mlops.dev/version"),
            "1");
  ASSERT_EQ(d.apply.size(), 2u);
  EXPECT_EQ(d.apply.back()["kind"], "Service");
  ASSERT_NE(statusOf(d, "iris-v1"), nullptr);
  EXPECT_EQ(statusOf(d, "iris-v1")->at("reason"), "Promoting");
  EXPECT_EQ(condition(*statusOf(d, "iris-v1"), "Reconciling"), "True");

  persist(in, d);
  in.stable = availableDeployment(*stable);
  in.service = d.apply.back();
  d = decideRollout(in);
  EXPECT_TRUE(d.apply.empty()) << "nothing changed in what is served";
  const Json* status = statusOf(d, "iris-v1");
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(status->at("phase"), "Production");
  EXPECT_EQ(status->at("promotedAt"), at(seconds(0)));
  EXPECT_EQ(condition(*status, "Ready"), "True");
  EXPECT_EQ(d.addFinalizer, std::vector<std::string>{"iris-v1"});
  EXPECT_TRUE(hasEvent(d, "Promoted"));
}

TEST(DecideRollout, AnAutoscaledStableDeploymentIsAppliedWithoutReplicas) {
  RolloutInput in = input({version(1, "Production")});
  in.stableAutoscaled = true;
  RolloutDecision d = decideRollout(in);
  const Json* stable = applied(d, "iris");
  ASSERT_NE(stable, nullptr);
  EXPECT_FALSE(stable->at("spec").contains("replicas")) << stable->dump();

  // An autoscaler added later: the stable Deployment is applied once more,
  // giving spec.replicas up.
  in.stableAutoscaled = false;
  d = decideRollout(in);
  persist(in, d);
  ASSERT_NE(applied(d, "iris"), nullptr);
  in.stable = availableDeployment(*applied(d, "iris"));
  in.service = d.apply.back();
  EXPECT_TRUE(decideRollout(in).apply.empty());
  in.stableAutoscaled = true;
  d = decideRollout(in);
  stable = applied(d, "iris");
  ASSERT_NE(stable, nullptr) << "the autoscaler's arrival changes what is applied";
  EXPECT_FALSE(stable->at("spec").contains("replicas"));
}

TEST(DecideRollout, ASettledModelWritesNothing) {
  RolloutInput in = v1InProductionV2Staged(false);
  in.versions[1]["spec"]["stage"] = "None";
  in.versions[0]["metadata"]["finalizers"] = Json::array({std::string(kProtectionFinalizer)});
  const RolloutDecision d = decideRollout(in);
  EXPECT_TRUE(d.apply.empty());
  EXPECT_TRUE(d.remove.empty());
  EXPECT_TRUE(d.statuses.empty());
  EXPECT_TRUE(d.events.empty());
  EXPECT_TRUE(d.addFinalizer.empty());
  EXPECT_TRUE(d.removeFinalizer.empty());
}

TEST(DecideRollout, WithoutAPolicyARollingUpdateWaitsForALiveConfirmation) {
  RolloutInput in = v1InProductionV2Staged(false);
  RolloutDecision d = decideRollout(in);
  EXPECT_TRUE(d.confirmPolicyAbsent);
  EXPECT_TRUE(d.apply.empty() && d.statuses.empty());

  in.policyAbsentConfirmed = true;
  d = decideRollout(in);
  const Json* stable = applied(d, "iris");
  ASSERT_NE(stable, nullptr);
  EXPECT_EQ(stable->at("spec").at("template").at("metadata").at("labels").at("mlops.dev/version"),
            "2");
  EXPECT_EQ(applied(d, "iris-canary"), nullptr);
  EXPECT_EQ(statusOf(d, "iris-v2")->at("reason"), "Promoting");
  EXPECT_EQ(statusOf(d, "iris-v2")->at("replacedVersion"), 1);
}

TEST(DecideRollout, WithAPolicyTheCandidateRunsAsACanaryAndIsMeasuredAfterTheInitialDelay) {
  RolloutInput in = v1InProductionV2Staged(true);
  RolloutDecision d = decideRollout(in);
  ASSERT_NE(applied(d, "iris-canary"), nullptr);
  const Json canary = *applied(d, "iris-canary");  // d is decided again below
  EXPECT_EQ(canary.at("spec").at("replicas"), 1);
  EXPECT_EQ(canary.at("spec").at("selector").at("matchLabels").at("mlops.dev/track"), "canary");
  EXPECT_EQ(applied(d, "iris"), nullptr) << "stable keeps serving v1 unchanged";
  EXPECT_EQ(statusOf(d, "iris-v2")->at("phase"), "Canary");
  EXPECT_EQ(statusOf(d, "iris-v2")->at("analysis").at("kind"), "Canary");
  EXPECT_TRUE(hasEvent(d, "CanaryStarted"));

  persist(in, d);
  in.canary = availableDeployment(canary, seconds(10));  // available for 10 s of the 30 s delay
  d = decideRollout(in);
  EXPECT_FALSE(d.evaluate);
  ASSERT_TRUE(d.requeueAfter);
  EXPECT_EQ(*d.requeueAfter, std::chrono::milliseconds(20'000));

  in.canary = availableDeployment(canary, seconds(31));
  d = decideRollout(in);
  ASSERT_TRUE(d.evaluate);
  EXPECT_EQ(d.evaluate->versionName, "iris-v2");
  EXPECT_EQ(d.evaluate->placeholders.track, "canary");
  EXPECT_EQ(d.evaluate->placeholders.version, "2");
  EXPECT_TRUE(d.apply.empty() && d.statuses.empty())
      << "an evaluation request carries nothing else";
}

// Drives v2's canary to the point where an evaluation is due.
RolloutInput canaryDue() {
  RolloutInput in = v1InProductionV2Staged(true);
  const RolloutDecision d = decideRollout(in);
  persist(in, d);
  in.canary = availableDeployment(*applied(d, "iris-canary"), seconds(31));
  return in;
}

TEST(DecideRollout, ABreachRollsTheCanaryBackWithTheDecidingMeasurementAndLeavesStableAlone) {
  RolloutInput in = canaryDue();
  in.evaluation = evaluation(0.2, analysis::Verdict::kFailed);
  RolloutDecision d = decideRollout(in);
  const Json* status = statusOf(d, "iris-v2");
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(status->at("reason"), "RollingBack");
  EXPECT_EQ(status->at("analysis").at("failures"), 1);
  EXPECT_EQ(status->at("analysis").at("phase"), "Failed");
  EXPECT_EQ(status->at("analysis").at("checks")[0].at("measurements")[0].at("value"), 0.2);
  EXPECT_TRUE(hasEvent(d, "AnalysisFailed"));
  EXPECT_NE(d.events.front().message.find("0.2 > max 0.05"), std::string::npos)
      << d.events.front().message;

  persist(in, d);
  in.evaluation.reset();
  d = decideRollout(in);
  EXPECT_TRUE(removes(d, "Deployment", "iris-canary"));
  EXPECT_FALSE(removes(d, "Deployment", "iris"));
  EXPECT_EQ(applied(d, "iris"), nullptr);
  status = statusOf(d, "iris-v2");
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(status->at("phase"), "RolledBack");
  EXPECT_EQ(status->at("reason"), "AnalysisFailed");
  EXPECT_EQ(status->at("rolledBackGeneration"), 1);
  EXPECT_EQ(condition(*status, "Stalled"), "True");
  EXPECT_TRUE(hasEvent(d, "RolledBack"));

  persist(in, d);
  in.canary.reset();
  d = decideRollout(in);
  EXPECT_TRUE(d.statuses.empty()) << "a rolled-back version is no candidate until its spec changes";
  EXPECT_TRUE(d.apply.empty());
}

TEST(DecideRollout, EnoughSuccessfulEvaluationsPromoteThroughTheStableDeployment) {
  RolloutInput in = canaryDue();
  for (int i = 0; i < 3; ++i) {
    in.evaluation = evaluation(0.01, analysis::Verdict::kSuccessful);
    const RolloutDecision d = decideRollout(in);
    persist(in, d);
    in.now += seconds(10);
  }
  const std::string reason = in.versions[1]["status"]["reason"];
  ASSERT_EQ(reason, "Promoting");
  in.evaluation.reset();
  RolloutDecision d = decideRollout(in);
  const Json* stable = applied(d, "iris");
  ASSERT_NE(stable, nullptr);
  EXPECT_EQ(stable->at("spec").at("template").at("metadata").at("labels").at("mlops.dev/version"),
            "2");
  EXPECT_FALSE(removes(d, "Deployment", "iris-canary"))
      << "the canary stays until stable serves v2";

  persist(in, d);
  in.stable = availableDeployment(*stable);
  d = decideRollout(in);
  EXPECT_TRUE(removes(d, "Deployment", "iris-canary"));
  EXPECT_EQ(statusOf(d, "iris-v2")->at("phase"), "Production");
  EXPECT_EQ(statusOf(d, "iris-v2")->at("analysis").at("kind"), "Bake");
  EXPECT_EQ(statusOf(d, "iris-v1")->at("phase"), "Superseded");
  EXPECT_EQ(d.addFinalizer, std::vector<std::string>{"iris-v2"});
}

TEST(DecideRollout, InconclusivePausesUntilTheDecisionAnnotation) {
  RolloutInput in = canaryDue();
  in.evaluation = evaluation(0, analysis::Verdict::kInconclusive);
  in.evaluation->measurements[0].value.reset();
  in.evaluation->measurements[0].message = "no data";
  RolloutDecision d = decideRollout(in);
  EXPECT_EQ(statusOf(d, "iris-v2")->at("reason"), "Inconclusive");
  EXPECT_EQ(condition(*statusOf(d, "iris-v2"), "Stalled"), "True");

  persist(in, d);
  in.evaluation.reset();
  in.now += seconds(600);
  d = decideRollout(in);
  EXPECT_FALSE(d.evaluate) << "paused: nothing is measured";
  EXPECT_TRUE(d.statuses.empty());

  in.versions[1]["metadata"]["annotations"] = Json{{"mlops.dev/decision", "promote"}};
  d = decideRollout(in);
  EXPECT_EQ(statusOf(d, "iris-v2")->at("reason"), "Promoting");
  EXPECT_EQ(statusOf(d, "iris-v2")->at("manualDecision").at("decision"), "promote");
}

TEST(DecideRollout, ANewerCandidatePreemptsARunningCanary) {
  RolloutInput in = canaryDue();
  in.versions.push_back(version(3, "Production"));
  const RolloutDecision d = decideRollout(in);
  EXPECT_EQ(statusOf(d, "iris-v2")->at("phase"), "Superseded");
  EXPECT_EQ(statusOf(d, "iris-v2")->at("reason"), "Preempted");
  const Json* canary = applied(d, "iris-canary");
  ASSERT_NE(canary, nullptr) << "the canary now runs v3";
  EXPECT_EQ(canary->at("spec").at("template").at("metadata").at("labels").at("mlops.dev/version"),
            "3");
}

TEST(DecideRollout, DeletingThePolicyMidCanaryPausesWithoutRemovingAnything) {
  RolloutInput in = canaryDue();
  in.policy.reset();
  const RolloutDecision d = decideRollout(in);
  EXPECT_FALSE(d.confirmPolicyAbsent);
  EXPECT_EQ(statusOf(d, "iris-v2")->at("reason"), "PolicyMissing");
  EXPECT_EQ(condition(*statusOf(d, "iris-v2"), "Stalled"), "True");
  EXPECT_TRUE(d.remove.empty());
  EXPECT_TRUE(d.apply.empty());
}

TEST(DecideRollout, AnUnmanagedObjectUnderAServingNameIsNeverTakenOver) {
  RolloutInput in = input({version(1, "Production")});
  in.namesTaken = {"Deployment iris"};
  const RolloutDecision d = decideRollout(in);
  EXPECT_TRUE(d.apply.empty());
  EXPECT_EQ(statusOf(d, "iris-v1")->at("reason"), "NameTaken");
  EXPECT_EQ(condition(*statusOf(d, "iris-v1"), "Stalled"), "True");
  EXPECT_TRUE(hasEvent(d, "NameTaken"));
}

// v2 in production after a canary, baking; v1 Superseded; stable serves v2.
RolloutInput v2Baking() {
  RolloutInput in = v1InProductionV2Staged(true);
  in.versions[0]["status"]["phase"] = "Superseded";
  RolloutInput settle = input({in.versions[0], version(2, "Production", "Production")});
  in.stable = availableDeployment(*applied(decideRollout(settle), "iris"));
  return in;
}

TEST(DecideRollout, ABakeFailureRestoresTheReplacedVersion) {
  RolloutInput in = v2Baking();
  in.versions[1]["status"] = Json{{"phase", "Production"},
                                  {"reason", "Promoted"},
                                  {"promotedAt", at(seconds(-60))},
                                  {"replacedVersion", 1},
                                  {"analysis", {{"kind", "Bake"}, {"phase", "Running"}}}};
  in.evaluation = evaluation(0.3, analysis::Verdict::kFailed);
  RolloutDecision d = decideRollout(in);
  ASSERT_NE(statusOf(d, "iris-v2"), nullptr);
  EXPECT_EQ(statusOf(d, "iris-v2")->at("reason"), "RollingBack");
  EXPECT_TRUE(hasEvent(d, "BakeFailed"));

  persist(in, d);
  in.evaluation.reset();
  d = decideRollout(in);
  const Json* stable = applied(d, "iris");
  ASSERT_NE(stable, nullptr);
  EXPECT_EQ(stable->at("spec").at("template").at("metadata").at("labels").at("mlops.dev/version"),
            "1");
  EXPECT_EQ(statusOf(d, "iris-v1")->at("phase"), "Production");
  EXPECT_EQ(statusOf(d, "iris-v2")->at("phase"), "RolledBack");
  EXPECT_EQ(statusOf(d, "iris-v2")->at("reason"), "BakeFailed");
}

TEST(DecideRollout, ErrorsDuringBakeNeverRollBack) {
  RolloutInput in = v2Baking();
  in.versions[1]["status"] = Json{{"phase", "Production"},
                                  {"reason", "Promoted"},
                                  {"promotedAt", at(seconds(-60))},
                                  {"replacedVersion", 1},
                                  {"analysis", {{"kind", "Bake"}, {"phase", "Running"}}}};
  for (int i = 0; i < 8; ++i) {
    in.evaluation = evaluation(0, analysis::Verdict::kError);
    const RolloutDecision d = decideRollout(in);
    persist(in, d);
    in.now += seconds(10);
  }
  EXPECT_EQ(in.versions[1]["status"]["phase"], "Production");
  EXPECT_EQ(in.versions[1]["status"]["reason"], "Promoted");
}

TEST(DecideRollout, ArchivingTheProductionVersionDecommissionsTheModel) {
  RolloutInput in = v1InProductionV2Staged(false);
  in.versions.pop_back();
  in.versions[0]["spec"]["stage"] = "Archived";
  in.versions[0]["metadata"]["finalizers"] = Json::array({std::string(kProtectionFinalizer)});
  const RolloutDecision d = decideRollout(in);
  EXPECT_TRUE(removes(d, "Deployment", "iris"));
  EXPECT_TRUE(removes(d, "Service", "iris"));
  EXPECT_EQ(statusOf(d, "iris-v1")->at("phase"), "Archived");
  EXPECT_EQ(d.removeFinalizer, std::vector<std::string>{"iris-v1"});
}

TEST(DecideRollout, RetentionArchivesOldVersionsInStatusOnly) {
  RolloutInput in = v1InProductionV2Staged(false);
  in.versions.clear();
  for (int v = 1; v <= 4; ++v) {
    in.versions.push_back(version(v, "Production", "Superseded"));
  }
  in.versions.push_back(version(5, "Production", "Production"));
  in.options.retentionKeep = 2;
  const RolloutDecision d = decideRollout(in);
  EXPECT_EQ(statusOf(d, "iris-v1")->at("phase"), "Archived");
  EXPECT_EQ(statusOf(d, "iris-v2")->at("phase"), "Archived");
  EXPECT_EQ(statusOf(d, "iris-v3"), nullptr);
  EXPECT_EQ(statusOf(d, "iris-v4"), nullptr);
}

TEST(DecideRollout, AVersionThatCannotBeServedIsInvalid) {
  Json v = version(1, "Production");
  v["spec"]["serving"]["container"] = "missing";
  const RolloutDecision d = decideRollout(input({v}));
  EXPECT_TRUE(d.apply.empty());
  EXPECT_EQ(statusOf(d, "iris-v1")->at("phase"), "Invalid");
  EXPECT_NE(statusOf(d, "iris-v1")->at("message").get<std::string>().find("spec.serving.container"),
            std::string::npos);
}

TEST(DecideRollout, ATerminatingNamespaceOnlyReleasesFinalizers) {
  RolloutInput in = v1InProductionV2Staged(false);
  in.versions[0]["metadata"]["finalizers"] = Json::array({std::string(kProtectionFinalizer)});
  in.versions[0]["metadata"]["deletionTimestamp"] = at(seconds(-1));
  in.namespaceTerminating = true;
  const RolloutDecision d = decideRollout(in);
  EXPECT_EQ(d.removeFinalizer, std::vector<std::string>{"iris-v1"});
  EXPECT_TRUE(d.apply.empty() && d.statuses.empty() && d.remove.empty());
}

TEST(DecideRollout, APolicyThatCannotBeParsedPausesTheCandidate) {
  RolloutInput in = v1InProductionV2Staged(true);
  in.policy->at("spec").at("analysis")["checks"][0].erase("max");
  const RolloutDecision d = decideRollout(in);
  EXPECT_EQ(statusOf(d, "iris-v2")->at("reason"), "InvalidPolicy");
  EXPECT_TRUE(d.apply.empty());
}

TEST(DecideRollout, APrometheusConfigurationErrorPausesAndMeasuresNothing) {
  RolloutInput in = canaryDue();
  in.prometheusConfigError = "spec.prometheus.url http://x is not allowed";
  const RolloutDecision d = decideRollout(in);
  EXPECT_FALSE(d.evaluate);
  EXPECT_EQ(statusOf(d, "iris-v2")->at("reason"), "PrometheusConfigInvalid");
  EXPECT_EQ(statusOf(d, "iris-v2")->at("analysis").at("errors"), 0);
}

TEST(DecideRollout, ADeploymentTheApiServerRefusedMakesItsVersionInvalid) {
  RolloutInput in = input({version(1, "Production")});
  in.rejectedServing[1] = "spec.template.spec.containers[0].resources.requests[cpu]: Invalid value";
  const RolloutDecision d = decideRollout(in);
  EXPECT_TRUE(d.apply.empty());
  EXPECT_EQ(statusOf(d, "iris-v1")->at("phase"), "Invalid");
  EXPECT_NE(statusOf(d, "iris-v1")->at("message").get<std::string>().find("Invalid value"),
            std::string::npos);
  EXPECT_TRUE(hasEvent(d, "InvalidServing"));
}

TEST(DecideRollout, AHugeRefusalIsCutToWhatTheStatusHolds) {
  RolloutInput in = input({version(1, "Production")});
  in.rejectedServing[1] = std::string(100'000, 'x');
  const RolloutDecision d = decideRollout(in);
  EXPECT_EQ(statusOf(d, "iris-v1")->at("phase"), "Invalid");
  EXPECT_LE(statusOf(d, "iris-v1")->at("message").get<std::string>().size(), 32768u);
}

}  // namespace
}  // namespace mlops::rollout
