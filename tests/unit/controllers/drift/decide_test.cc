#include "controllers/drift/decide.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <string>

#include "core/utf8.h"
#include "objects/timestamps.h"

namespace mlops::drift {
namespace {

using Json = nlohmann::json;
using analysis::Verdict;
using std::chrono::milliseconds;
using std::chrono::seconds;

const auto kT0 = std::chrono::system_clock::time_point(seconds(1'800'000'000));

std::string at(std::chrono::system_clock::time_point t) {
  return objects::formatTimestamp(t);
}

Json productionVersion(int64_t number, const std::string& phase = "Production") {
  return Json{{"metadata", {{"name", "iris-v" + std::to_string(number)}, {"namespace", "ml"}}},
              {"spec", {{"model", "iris"}, {"version", number}}},
              {"status", {{"phase", phase}}}};
}

Json check(const std::string& name) {
  return Json{{"name", name},
              {"query", "drift{model=\"{{model}}\",version=\"{{version}}\",track=\"{{track}}\"}"},
              {"max", 0.1}};
}

Json driftSection(const Json& overrides = Json::object()) {
  Json drift{{"checks", Json::array({check("psi"), check("kl")})},
             {"interval", "1m"},
             {"breachAfter", 3},
             {"retrain",
              {{"template",
                {{"template",
                  {{"spec",
                    {{"containers", Json::array({Json{{"name", "t"}, {"image", "trainer:1"}}})}}}}},
                 {"promotion", "Manual"}}},
               {"cooldown", "1h"},
               {"maxConcurrent", 1},
               {"promotion", "Automatic"}}}};
  drift.merge_patch(overrides);
  return drift;
}

Json policy(Json drift = driftSection()) {
  Json spec{{"model", "iris"}};
  if (!drift.is_null()) {
    spec["drift"] = std::move(drift);
  }
  return Json{
      {"apiVersion", "mlops.dev/v1alpha1"},
      {"kind", "DriftPolicy"},
      {"metadata",
       {{"name", "iris"}, {"namespace", "ml"}, {"generation", 1}, {"resourceVersion", "7"}}},
      {"spec", spec}};
}

Json run(const std::string& name, int64_t trigger, const std::string& phase,
         std::chrono::system_clock::time_point created = kT0) {
  Json r{{"metadata",
          {{"name", name},
           {"namespace", "ml"},
           {"creationTimestamp", at(created)},
           {"labels",
            {{std::string(kLabelPolicy), "iris"},
             {std::string(kLabelCheck), "psi"},
             {std::string(kLabelTrigger), std::to_string(trigger)}}}}}};
  if (!phase.empty()) {
    r["status"] = {{"phase", phase}};
  }
  return r;
}

analysis::Measurement measurement(const std::string& name, Verdict verdict,
                                  std::optional<double> value, std::string message = "",
                                  std::chrono::system_clock::time_point t = kT0) {
  analysis::Measurement m;
  m.check = name;
  m.time = at(t);
  m.query = "drift{model=\"iris\"}";
  m.value = value;
  m.max = 0.1;
  m.verdict = verdict;
  m.message = std::move(message);
  return m;
}

analysis::Evaluation evaluation(std::vector<analysis::Measurement> ms) {
  analysis::Evaluation e;
  e.measurements = std::move(ms);
  e.verdict = analysis::evaluationVerdict(e.measurements);
  e.queries = static_cast<int>(e.measurements.size());
  return e;
}

// The evaluation where check psi has `psi` and kl passes.
analysis::Evaluation psiIs(Verdict psi, std::chrono::system_clock::time_point t = kT0) {
  std::optional<double> value;
  std::string message;
  if (psi == Verdict::kFailed) {
    value = 0.4;
  } else if (psi == Verdict::kSuccessful) {
    value = 0.01;
  } else if (psi == Verdict::kInconclusive) {
    message = "no data";
  } else {
    message = "unavailable: connection refused";
  }
  return evaluation({measurement("psi", psi, value, message, t),
                     measurement("kl", Verdict::kSuccessful, 0.02, "", t)});
}

const Json& checkStatus(const Json& status, const std::string& name) {
  for (const Json& c : status["checks"]) {
    if (c["name"] == name) {
      return c;
    }
  }
  static const Json kNone;
  return kNone;
}

int64_t breaches(const Json& status, const std::string& name = "psi") {
  return checkStatus(status, name).value("consecutiveBreaches", -1);
}

std::string condition(const Json& status, const std::string& type) {
  for (const Json& c : status.value("conditions", Json::array())) {
    if (c.value("type", "") == type) {
      return c.value("status", "");
    }
  }
  return "";
}

// Drives the controller's loop: decide; answer `evaluate` with the given
// evaluation and `createRun` with `created`; decide again.
struct Step {
  DriftDecision decision;
  bool evaluated = false;
  std::optional<Json> createdRun;
};

Step step(DriftInput in, const std::optional<analysis::Evaluation>& e,
          CreateOutcome::Kind created = CreateOutcome::Kind::kCreated) {
  Step s;
  DriftDecision d = decideDrift(in);
  for (int i = 0; i < 3 && (d.evaluate || d.createRun); ++i) {
    if (d.evaluate) {
      s.evaluated = true;
      if (e) {
        in.evaluation = *e;
      } else {
        in.prometheusConfigError = "spec.prometheus.url is not allowed";
      }
    } else {
      s.createdRun = *d.createRun;
      in.created = CreateOutcome{created, created == CreateOutcome::Kind::kFailed ? "denied" : ""};
    }
    d = decideDrift(in);
  }
  EXPECT_FALSE(d.evaluate || d.createRun) << "the decision did not settle";
  s.decision = std::move(d);
  return s;
}

DriftInput input(Json p, std::chrono::system_clock::time_point now = kT0,
                 std::vector<Json> runs = {}, std::vector<Json> versions = {productionVersion(1)}) {
  DriftInput in;
  in.ns = "ml";
  in.policy = std::move(p);
  in.versions = std::move(versions);
  in.runs = std::move(runs);
  in.now = now;
  return in;
}

// The policy after its status was written.
Json withStatus(Json p, const Json& status) {
  p["status"] = status;
  return p;
}

// Runs `verdicts` of check psi one interval apart, each seeing the status
// the previous one wrote; returns the last step and the policy it leaves.
struct Sequence {
  Step last;
  Json policy;
  std::chrono::system_clock::time_point now;
};

Sequence evaluateSequence(Json p, const std::vector<Verdict>& verdicts,
                          const std::vector<Json>& runs = {},
                          std::chrono::system_clock::time_point start = kT0) {
  Sequence s{{}, std::move(p), start};
  for (size_t i = 0; i < verdicts.size(); ++i) {
    s.now = start + std::chrono::minutes(i);
    s.last = step(input(s.policy, s.now, runs), psiIs(verdicts[i], s.now));
    EXPECT_TRUE(s.last.evaluated) << "evaluation " << i << " was not due";
    s.policy = withStatus(s.policy, s.last.decision.status);
  }
  return s;
}

TEST(DriftDecide, AnInvalidPolicyIsStalledWithTheFieldNamedAndNotRetried) {
  Json p = policy(driftSection({{"interval", "5x"}}));
  const Step s = step(input(p), std::nullopt);
  const Json& st = s.decision.status;
  EXPECT_FALSE(s.evaluated);
  EXPECT_EQ(st["phase"], "Degraded");
  EXPECT_EQ(st["reason"], kReasonInvalidPolicy);
  EXPECT_NE(st["message"].get<std::string>().find("spec.drift.interval"), std::string::npos)
      << st["message"];
  EXPECT_EQ(condition(st, "Stalled"), "True");
  EXPECT_EQ(condition(st, "Ready"), "False");
  EXPECT_EQ(st["observedGeneration"], 1);
  EXPECT_FALSE(s.decision.requeueAfter);
  ASSERT_EQ(s.decision.events.size(), 1U);
  EXPECT_TRUE(s.decision.events[0].warning);
  // Unchanged on the next reconcile: the same status, no second Event.
  const Step again = step(input(withStatus(p, st)), std::nullopt);
  EXPECT_EQ(again.decision.status, st);
  EXPECT_TRUE(again.decision.events.empty());
}

TEST(DriftDecide, ASuspendedPolicyEvaluatesNothingAndSaysSo) {
  Json p = policy();
  p["spec"]["suspend"] = true;
  const Step s = step(input(p), psiIs(Verdict::kFailed));
  EXPECT_FALSE(s.evaluated);
  EXPECT_EQ(s.decision.status["phase"], "Suspended");
  EXPECT_EQ(condition(s.decision.status, "Stalled"), "True");
  EXPECT_FALSE(s.decision.requeueAfter);
}

TEST(DriftDecide, WithoutADriftSectionThePolicyIsHealthyWithNothingToDo) {
  const Step s = step(input(policy(Json())), psiIs(Verdict::kFailed));
  EXPECT_FALSE(s.evaluated);
  EXPECT_EQ(s.decision.status["phase"], "Healthy");
  EXPECT_EQ(s.decision.status["reason"], "NoDriftChecks");
  EXPECT_EQ(condition(s.decision.status, "Ready"), "True");
  EXPECT_FALSE(s.decision.requeueAfter);
}

TEST(DriftDecide, WithoutAProductionVersionThereIsNothingToJudge) {
  const Step s =
      step(input(policy(), kT0, {}, {productionVersion(1, "Registered")}), psiIs(Verdict::kFailed));
  EXPECT_FALSE(s.evaluated);
  EXPECT_EQ(s.decision.status["phase"], "Healthy");
  EXPECT_EQ(s.decision.status["reason"], "NoProductionVersion");
  EXPECT_NE(s.decision.status["message"].get<std::string>().find("nothing to judge"),
            std::string::npos);
}

TEST(DriftDecide, TheChecksAreAskedForWithTheProductionVersionOnTrackStable) {
  const DriftDecision d = decideDrift(
      input(policy(), kT0, {}, {productionVersion(1, "Superseded"), productionVersion(2)}));
  ASSERT_TRUE(d.evaluate);
  EXPECT_EQ(d.evaluate->checks.size(), 2U);
  EXPECT_EQ(d.evaluate->placeholders.model, "iris");
  EXPECT_EQ(d.evaluate->placeholders.version, "2");
  EXPECT_EQ(d.evaluate->placeholders.track, "stable");
  EXPECT_EQ(d.evaluate->placeholders.ns, "ml");
}

TEST(DriftDecide, FailedAddsSuccessfulResetsErrorAndInconclusiveKeep) {
  const Verdict F = Verdict::kFailed, S = Verdict::kSuccessful, E = Verdict::kError,
                I = Verdict::kInconclusive;
  Json p = policy(driftSection({{"breachAfter", 10}}));
  EXPECT_EQ(breaches(evaluateSequence(p, {F}).last.decision.status), 1);
  EXPECT_EQ(breaches(evaluateSequence(p, {F, F}).last.decision.status), 2);
  EXPECT_EQ(breaches(evaluateSequence(p, {F, F, S}).last.decision.status), 0);
  EXPECT_EQ(breaches(evaluateSequence(p, {F, F, E}).last.decision.status), 2);
  EXPECT_EQ(breaches(evaluateSequence(p, {F, F, I}).last.decision.status), 2);
  EXPECT_EQ(breaches(evaluateSequence(p, {F, E, I, F}).last.decision.status), 2);
  // Each check counts for itself: kl always passed.
  EXPECT_EQ(breaches(evaluateSequence(p, {F, F}).last.decision.status, "kl"), 0);
}

TEST(DriftDecide, EachCheckReportsItsRenderedQueryValueBoundsVerdictAndTime) {
  const Sequence s = evaluateSequence(policy(), {Verdict::kFailed});
  const Json& psi = checkStatus(s.last.decision.status, "psi");
  EXPECT_EQ(psi["query"], "drift{model=\"iris\"}");
  EXPECT_DOUBLE_EQ(psi["value"].get<double>(), 0.4);
  EXPECT_DOUBLE_EQ(psi["max"].get<double>(), 0.1);
  EXPECT_EQ(psi["verdict"], "Failed");
  EXPECT_EQ(psi["time"], at(kT0));
  EXPECT_EQ(s.last.decision.status["lastEvaluationTime"], at(kT0));
  EXPECT_EQ(s.last.decision.status["productionVersion"], 1);
  EXPECT_EQ(s.last.decision.status["phase"], "Drifting");
  EXPECT_EQ(s.last.decision.measured.size(), 2U);
  EXPECT_EQ(s.last.decision.requeueAfter, milliseconds(60'000));
}

TEST(DriftDecide, NothingIsEvaluatedBeforeTheIntervalPassesAndTheRequeueSaysWhen) {
  const Sequence s = evaluateSequence(policy(), {Verdict::kFailed});
  const Step early = step(input(s.policy, kT0 + seconds(20)), psiIs(Verdict::kFailed));
  EXPECT_FALSE(early.evaluated);
  EXPECT_EQ(early.decision.status, s.policy["status"]);
  EXPECT_EQ(early.decision.requeueAfter, milliseconds(40'000));
  EXPECT_TRUE(early.decision.measured.empty());
}

TEST(DriftDecide, AProductionVersionChangeResetsTheCountsAndEvaluatesAtOnce) {
  const Sequence s = evaluateSequence(policy(), {Verdict::kFailed, Verdict::kFailed});
  ASSERT_EQ(breaches(s.policy["status"]), 2);
  // v2 in production 10 s later: due at once, counting from zero.
  const Step next = step(input(s.policy, s.now + seconds(10), {}, {productionVersion(2)}),
                         psiIs(Verdict::kFailed, s.now + seconds(10)));
  EXPECT_TRUE(next.evaluated);
  EXPECT_EQ(breaches(next.decision.status), 1);
  EXPECT_EQ(next.decision.status["productionVersion"], 2);
  EXPECT_FALSE(next.createdRun);
}

TEST(DriftDecide, ReachingBreachAfterCreatesOneLabelledRunFromTheTemplate) {
  const Sequence s =
      evaluateSequence(policy(), {Verdict::kFailed, Verdict::kFailed, Verdict::kFailed});
  ASSERT_TRUE(s.last.createdRun);
  const Json& r = *s.last.createdRun;
  EXPECT_EQ(r["kind"], "TrainingRun");
  EXPECT_EQ(r["metadata"]["name"], "iris-retrain-1");
  EXPECT_EQ(r["metadata"]["namespace"], "ml");
  const Json& labels = r["metadata"]["labels"];
  EXPECT_EQ(labels[std::string(kLabelPolicy)], "iris");
  EXPECT_EQ(labels[std::string(kLabelCheck)], "psi");
  EXPECT_EQ(labels[std::string(kLabelJudgedVersion)], "1");
  EXPECT_EQ(labels[std::string(kLabelTrigger)], "1");
  EXPECT_EQ(labels["mlops.dev/model"], "iris");
  EXPECT_EQ(r["spec"]["model"], "iris");
  // retrain.promotion wins over the template's.
  EXPECT_EQ(r["spec"]["promotion"], "Automatic");
  EXPECT_EQ(r["spec"]["template"]["spec"]["containers"][0]["image"], "trainer:1");

  const Json& st = s.last.decision.status;
  EXPECT_EQ(st["retrainCount"], 1);
  EXPECT_EQ(st["lastRetrain"]["trainingRun"], "iris-retrain-1");
  EXPECT_EQ(st["lastRetrain"]["check"], "psi");
  EXPECT_EQ(st["lastRetrain"]["time"], at(s.now));
  EXPECT_EQ(st["phase"], "Retraining");
  EXPECT_EQ(condition(st, "Reconciling"), "True");
  EXPECT_TRUE(s.last.decision.retrainCreated);
  ASSERT_EQ(s.last.decision.events.size(), 1U);
  EXPECT_EQ(s.last.decision.events[0].reason, kReasonRetrainTriggered);
  EXPECT_NE(s.last.decision.events[0].message.find("iris-retrain-1"), std::string::npos);
}

TEST(DriftDecide, AnAdoptedRunIsRecordedWithoutAnEventOrAMetric) {
  Json p = policy();
  const Sequence s = evaluateSequence(p, {Verdict::kFailed, Verdict::kFailed});
  const Step adopted = step(input(s.policy, s.now + std::chrono::minutes(1)),
                            psiIs(Verdict::kFailed), CreateOutcome::Kind::kAdopted);
  ASSERT_TRUE(adopted.createdRun);
  EXPECT_EQ(adopted.decision.status["retrainCount"], 1);
  EXPECT_FALSE(adopted.decision.retrainCreated);
  EXPECT_TRUE(adopted.decision.events.empty());
}

TEST(DriftDecide, ARunCreatedBeforeACrashIsAdoptedFromTheCacheNotCreatedAgain) {
  // The status was never written: retrainCount 0, two breaches; the run of
  // trigger 1 exists (the crash came between create and status write).
  const Sequence s = evaluateSequence(policy(), {Verdict::kFailed, Verdict::kFailed});
  const auto later = s.now + std::chrono::minutes(1);
  const Step next = step(input(s.policy, later, {run("iris-retrain-1", 1, "", s.now)}),
                         psiIs(Verdict::kFailed, later));
  EXPECT_FALSE(next.createdRun) << next.createdRun->dump();
  EXPECT_EQ(next.decision.status["retrainCount"], 1);
  EXPECT_EQ(next.decision.status["lastRetrain"]["trainingRun"], "iris-retrain-1");
  EXPECT_EQ(next.decision.status["lastRetrain"]["time"], at(s.now));
  EXPECT_EQ(next.decision.status["phase"], "Retraining");
}

TEST(DriftDecide, TheNextTriggerTakesTheNextNameAfterTheCooldown) {
  Json p = policy(driftSection({{"retrain", {{"cooldown", "10m"}}}}));
  const Sequence first =
      evaluateSequence(p, {Verdict::kFailed, Verdict::kFailed, Verdict::kFailed});
  ASSERT_TRUE(first.last.createdRun);
  const std::vector<Json> finished = {run("iris-retrain-1", 1, "Succeeded", first.now)};
  // The breach persists: the cooldown holds.
  const auto during = first.now + std::chrono::minutes(5);
  const Step held = step(input(first.policy, during, finished), psiIs(Verdict::kFailed, during));
  EXPECT_TRUE(held.evaluated);
  EXPECT_FALSE(held.createdRun);
  EXPECT_EQ(breaches(held.decision.status), 4);
  EXPECT_EQ(held.decision.status["phase"], "Drifting");
  EXPECT_NE(held.decision.status["message"].get<std::string>().find("cooldown"), std::string::npos);
  // A reconcile between evaluations (a run's event) says the same.
  const Step between =
      step(input(withStatus(first.policy, held.decision.status), during + seconds(1), finished),
           psiIs(Verdict::kFailed));
  EXPECT_FALSE(between.evaluated);
  EXPECT_EQ(between.decision.status, held.decision.status);
  // Past the cooldown: trigger 2.
  const auto after = first.now + std::chrono::minutes(10);
  const Step next = step(input(withStatus(first.policy, held.decision.status), after, finished),
                         psiIs(Verdict::kFailed, after));
  ASSERT_TRUE(next.createdRun);
  EXPECT_EQ((*next.createdRun)["metadata"]["name"], "iris-retrain-2");
  EXPECT_EQ(next.decision.status["retrainCount"], 2);
}

TEST(DriftDecide, MaxConcurrentHoldsWhileTriggeredRunsAreUnfinished) {
  Json p = policy(driftSection({{"retrain", {{"cooldown", "0s"}, {"maxConcurrent", 1}}}}));
  const Sequence first =
      evaluateSequence(p, {Verdict::kFailed, Verdict::kFailed, Verdict::kFailed});
  ASSERT_TRUE(first.last.createdRun);
  const auto later = first.now + std::chrono::minutes(1);
  const Step held = step(input(first.policy, later, {run("iris-retrain-1", 1, "Running")}),
                         psiIs(Verdict::kFailed, later));
  EXPECT_FALSE(held.createdRun);
  EXPECT_EQ(held.decision.status["phase"], "Retraining");
  EXPECT_NE(held.decision.status["message"].get<std::string>().find("maxConcurrent 1"),
            std::string::npos);
  // Finished: the next breach may trigger.
  const Step freed = step(input(first.policy, later, {run("iris-retrain-1", 1, "Failed")}),
                          psiIs(Verdict::kFailed, later));
  ASSERT_TRUE(freed.createdRun);
  EXPECT_EQ((*freed.createdRun)["metadata"]["name"], "iris-retrain-2");
}

TEST(DriftDecide, AnOutageIsReportedOnceAndNeverTriggers) {
  const Sequence s = evaluateSequence(
      policy(), {Verdict::kFailed, Verdict::kFailed, Verdict::kFailed, Verdict::kError});
  ASSERT_EQ(s.policy["status"]["retrainCount"], 1);
  // A policy at breachAfter whose cooldown is over, then Prometheus is down.
  Json p = policy(driftSection({{"retrain", {{"cooldown", "0s"}}}}));
  const Sequence out = evaluateSequence(p, {Verdict::kFailed, Verdict::kFailed, Verdict::kError});
  const Json& st = out.last.decision.status;
  EXPECT_FALSE(out.last.createdRun);
  EXPECT_EQ(breaches(st), 2);
  EXPECT_EQ(st["phase"], "Degraded");
  EXPECT_EQ(st["reason"], kReasonPrometheusError);
  EXPECT_EQ(condition(st, "Ready"), "False");
  EXPECT_EQ(condition(st, "Stalled"), "False");
  EXPECT_NE(st["message"].get<std::string>().find("connection refused"), std::string::npos);
  ASSERT_EQ(out.last.decision.events.size(), 1U);
  EXPECT_TRUE(out.last.decision.events[0].warning);
  EXPECT_EQ(out.last.decision.requeueAfter, kErrorRetry);
  // The same outage again: no second Event; retried after 10 s, not 1 m.
  const auto retry = out.now + kErrorRetry;
  const Step again = step(input(out.policy, retry), psiIs(Verdict::kError, retry));
  EXPECT_TRUE(again.evaluated);
  EXPECT_TRUE(again.decision.events.empty());
  EXPECT_FALSE(again.createdRun);
  // Counting resumes where it was once Prometheus answers.
  const auto back = retry + kErrorRetry;
  const Step resumed = step(input(withStatus(out.policy, again.decision.status), back),
                            psiIs(Verdict::kFailed, back));
  EXPECT_EQ(breaches(resumed.decision.status), 3);
  EXPECT_TRUE(resumed.createdRun);
}

TEST(DriftDecide, AQueryPrometheusRefusesIsStalledAsQueryInvalid) {
  const Step s = step(input(policy()),
                      evaluation({measurement("psi", Verdict::kError, std::nullopt,
                                              "bad_data: invalid parameter \"query\": parse error"),
                                  measurement("kl", Verdict::kSuccessful, 0.0)}));
  EXPECT_EQ(s.decision.status["reason"], kReasonQueryInvalid);
  EXPECT_EQ(condition(s.decision.status, "Stalled"), "True");
  EXPECT_NE(s.decision.status["message"].get<std::string>().find("parse error"), std::string::npos);
  EXPECT_EQ(checkStatus(s.decision.status, "psi")["message"],
            "bad_data: invalid parameter \"query\": parse error");
  ASSERT_EQ(s.decision.events.size(), 1U);
}

TEST(DriftDecide, APrometheusThatMayNotBeQueriedIsStalled) {
  const Step s = step(input(policy()), std::nullopt);
  EXPECT_EQ(s.decision.status["phase"], "Degraded");
  EXPECT_EQ(s.decision.status["reason"], kReasonPrometheusConfig);
  EXPECT_EQ(condition(s.decision.status, "Stalled"), "True");
  EXPECT_EQ(s.decision.requeueAfter, milliseconds(60'000));
  EXPECT_EQ(s.decision.events.size(), 1U);
}

TEST(DriftDecide, ARefusedCreateIsReportedAndNotRecordedAsATrigger) {
  const Sequence s = evaluateSequence(policy(), {Verdict::kFailed, Verdict::kFailed});
  const auto later = s.now + std::chrono::minutes(1);
  const Step refused =
      step(input(s.policy, later), psiIs(Verdict::kFailed, later), CreateOutcome::Kind::kFailed);
  EXPECT_EQ(refused.decision.status["retrainCount"], 0);
  EXPECT_FALSE(refused.decision.status.contains("lastRetrain"));
  EXPECT_FALSE(refused.decision.retrainCreated);
  ASSERT_EQ(refused.decision.events.size(), 1U);
  EXPECT_EQ(refused.decision.events[0].reason, kReasonRetrainFailed);
  EXPECT_NE(refused.decision.status["message"].get<std::string>().find("denied"),
            std::string::npos);
  EXPECT_EQ(refused.decision.requeueAfter, kErrorRetry);
}

TEST(DriftDecide, ALongMessageIsCutAtACharacterBoundary) {
  DriftInput in = input(policy());
  std::string huge;
  while (huge.size() < 40'000) {
    huge += "é";  // two bytes: a cut in the middle would be invalid UTF-8
  }
  in.prometheusConfigError = "x" + huge;
  const DriftDecision d = decideDrift(in);
  const std::string message = d.status["message"];
  EXPECT_LE(message.size(), 32768U);
  EXPECT_TRUE(isValidUtf8(message));
}

TEST(DriftDecide, RunNamesFitATrainingRunName) {
  EXPECT_EQ(runName("iris", 7), "iris-retrain-7");
  const std::string longModel(40, 'a');
  EXPECT_LE(runName(longModel, 123456).size(), 52U);
  EXPECT_NE(runName(longModel, 1), runName(longModel, 2));
  EXPECT_NE(runName("a-" + std::string(38, 'b'), 123456).back(), '-');
}

}  // namespace
}  // namespace mlops::drift
