#include "controllers/training/decide.h"

#include <functional>

#include <gtest/gtest.h>

#include "controllers/training/effective_inputs.h"
#include "core/utf8.h"
#include "objects/conditions.h"
#include "objects/timestamps.h"
#include "training_fixtures.h"

namespace mlops::training {

using objects::findCondition;
using objects::parseTimestamp;

namespace {

using namespace testing;
using namespace std::chrono;

// The run after `d` was written.
Json withStatus(Json run, const TrainingRunDecision& d) {
  run["status"] = d.status;
  return run;
}

std::string conditionField(const Json& status, const char* type, const char* field) {
  const Json* c = findCondition(status["conditions"], type);
  return c == nullptr ? "<absent>" : (*c)[field].get<std::string>();
}

// A run whose Job was created and recorded.
Json startedRun() {
  TrainingRunInput in = inputFor(sampleRun());
  in.job = jobOf(in.run);
  return withStatus(in.run, decideTrainingRun(in));
}

TrainingRunInput completedInput(const std::string& results) {
  TrainingRunInput in = inputFor(startedRun());
  in.job = withJobCondition(jobOf(in.run), "Complete");
  in.pods = {podOf(*in.job, "iris-run-1-abcde", "Succeeded", "2024-05-01T12:00:06Z", results)};
  return in;
}

// ---- Creating the Job ----

TEST(DecideTrainingRun, NewRunCreatesItsJob) {
  const auto d = decideTrainingRun(inputFor(sampleRun()));
  ASSERT_TRUE(d.jobToCreate.has_value());
  EXPECT_EQ((*d.jobToCreate)["metadata"]["name"], "iris-run-1");
  EXPECT_TRUE(d.statusChanged);
  EXPECT_TRUE(d.events.empty());
  EXPECT_FALSE(d.registerModelVersion.has_value());
  EXPECT_FALSE(d.requeueAfter.has_value());
  const Json& s = d.status;
  EXPECT_EQ(s["phase"], "Pending");
  EXPECT_EQ(s["reason"], "CreatingJob");
  EXPECT_EQ(s["seed"], 42);
  EXPECT_EQ(s["artifactURI"], "s3://mlops-artifacts/team-a/iris/iris-run-1-d7a9c1e0");
  EXPECT_EQ(s["jobName"], "iris-run-1");
  EXPECT_EQ(s["observedGeneration"], 1);
  EXPECT_FALSE(s.contains("jobUID"));
  EXPECT_EQ(conditionField(s, "Ready", "status"), "False");
  EXPECT_EQ(conditionField(s, "Ready", "reason"), "CreatingJob");
  EXPECT_EQ(conditionField(s, "JobComplete", "status"), "Unknown");
  EXPECT_EQ(conditionField(s, "Ready", "lastTransitionTime"), "2024-05-01T12:10:30Z");
}

TEST(DecideTrainingRun, DecidingAgainChangesNothing) {
  // Every intermediate state, re-decided with the same observations (and a
  // later clock), yields the same status and no events.
  struct Case {
    const char* name;
    std::function<TrainingRunInput()> input;
  };
  const Case cases[] = {
      {"creating", [] { return inputFor(sampleRun()); }},
      {"running",
       [] {
         auto in = inputFor(startedRun());
         in.job = jobOf(in.run);
         in.pods = {podOf(*in.job, "p1", "Running", "2024-05-01T12:00:06Z")};
         return in;
       }},
      {"registering", [] { return completedInput(resultsJSON(0.95)); }},
      {"waiting for original", [] { return inputFor(reproductionRun("iris-run-1")); }},
      {"job name taken",
       [] {
         auto in = inputFor(sampleRun());
         Json foreign = jobOf(in.run);
         foreign["metadata"]["ownerReferences"] = Json::array();
         in.job = foreign;
         return in;
       }},
  };
  for (const auto& c : cases) {
    TrainingRunInput first = c.input();
    const auto d1 = decideTrainingRun(first);
    TrainingRunInput second = first;
    second.run = withStatus(first.run, d1);
    second.now = kNow + minutes{5};
    const auto d2 = decideTrainingRun(second);
    EXPECT_FALSE(d2.statusChanged) << c.name << "\n"
                                   << d1.status.dump() << "\n"
                                   << d2.status.dump();
    EXPECT_EQ(d2.status, d1.status) << c.name;
    EXPECT_TRUE(d2.events.empty()) << c.name;
  }
}

TEST(DecideTrainingRun, JobCreationErrors) {
  struct Case {
    const char* name;
    ErrorCode code;
    const char* phase;
    const char* reason;
    std::optional<seconds> requeue;
  };
  const Case cases[] = {
      {"rejected", ErrorCode::kInvalid, "Failed", "JobRejected", std::nullopt},
      {"bad request", ErrorCode::kBadRequest, "Failed", "JobRejected", std::nullopt},
      {"unavailable", ErrorCode::kUnavailable, "Pending", "JobCreateFailed", kRetryJobCreate},
      {"forbidden (quota)", ErrorCode::kForbidden, "Pending", "JobCreateFailed", kRetryJobCreate},
  };
  const Json pending = withStatus(sampleRun(), decideTrainingRun(inputFor(sampleRun())));
  for (const auto& c : cases) {
    auto in = inputFor(pending);
    in.jobCreateError = makeError(c.code, "spec.template.spec.containers[0].image: Required value");
    const auto d = decideTrainingRun(in);
    EXPECT_FALSE(d.jobToCreate.has_value()) << c.name;
    EXPECT_EQ(d.status["phase"], c.phase) << c.name;
    EXPECT_EQ(d.status["reason"], c.reason) << c.name;
    EXPECT_NE(d.status["message"].get<std::string>().find("Required value"), std::string::npos)
        << c.name;
    EXPECT_EQ(d.requeueAfter, c.requeue) << c.name;
    ASSERT_EQ(d.events.size(), 1u) << c.name;
    EXPECT_EQ(d.events[0].type, "Warning");
    EXPECT_EQ(d.events[0].reason, c.reason);
  }
  auto exists = inputFor(pending);
  exists.jobCreateError =
      makeError(ErrorCode::kAlreadyExists, "jobs.batch \"iris-run-1\" already exists");
  const auto d = decideTrainingRun(exists);
  EXPECT_FALSE(d.statusChanged);
  EXPECT_FALSE(d.jobToCreate.has_value());
  EXPECT_EQ(d.requeueAfter, kWaitForCache);
}

// ---- Following the Job ----

TEST(DecideTrainingRun, RecordsTheJobOnce) {
  auto in = inputFor(sampleRun());
  in.job = jobOf(in.run);
  in.pods = {podOf(*in.job, "p1", "Running", "2024-05-01T12:00:06Z")};
  const auto d = decideTrainingRun(in);
  EXPECT_FALSE(d.jobToCreate.has_value());
  EXPECT_EQ(d.status["jobUID"], kJobUID);
  EXPECT_EQ(d.status["phase"], "Running");
  EXPECT_EQ(d.status["reason"], "JobRunning");
  EXPECT_EQ(d.status["message"], "Job iris-run-1 is running (attempt 1)");
  EXPECT_EQ(d.status["startTime"], "2024-05-01T12:00:05Z");
  EXPECT_EQ(d.status["attempts"], 1);
  // Creating the Job and its running are routine: status says them, no Event does.
  EXPECT_TRUE(d.events.empty());
  // Both containers report digests: the fingerprint is known while running.
  EXPECT_EQ(d.status["imageDigests"], Json({{"trainer", kImageDigest}, {"sidecar", kImageDigest}}));
  auto inputs = resolveInputs(in.run, std::nullopt, "s3://mlops-artifacts");
  EXPECT_EQ(d.status["fingerprint"], *fingerprint(inputs->fingerprintInputs(
                                         {{"trainer", kImageDigest}, {"sidecar", kImageDigest}})));
}

TEST(DecideTrainingRun, WhileRunning) {
  struct Case {
    const char* name;
    std::function<void(TrainingRunInput&)> setup;
    std::function<void(const TrainingRunDecision&)> check;
  };
  const Case cases[] = {
      {"pending pod: no digests yet",
       [](TrainingRunInput& in) {
         in.pods = {podOf(*in.job, "p1", "Pending", "2024-05-01T12:00:06Z")};
       },
       [](const TrainingRunDecision& d) {
         EXPECT_FALSE(d.status.contains("imageDigests"));
         EXPECT_FALSE(d.status.contains("fingerprint"));
       }},
      {"retry: attempts count pods and Job counters",
       [](TrainingRunInput& in) {
         in.pods = {podOf(*in.job, "p1", "Failed", "2024-05-01T12:00:06Z", "", 1),
                    podOf(*in.job, "p2", "Running", "2024-05-01T12:05:00Z")};
         (*in.job)["status"]["failed"] = 1;
       },
       [](const TrainingRunDecision& d) {
         EXPECT_EQ(d.status["attempts"], 2);
         EXPECT_EQ(d.status["message"], "Job iris-run-1 is running (attempt 2)");
       }},
      {"foreign pods are ignored",
       [](TrainingRunInput& in) {
         Json other = jobOf(in.run, "someone-elses-job");
         in.pods = {podOf(other, "x1", "Running", "2024-05-01T12:00:06Z"),
                    podOf(other, "x2", "Running", "2024-05-01T12:00:07Z")};
       },
       [](const TrainingRunDecision& d) {
         EXPECT_EQ(d.status["attempts"], 1);  // the Job's one active pod, not the two foreign ones
         EXPECT_FALSE(d.status.contains("imageDigests"));
       }},
      {"suspended Job (queued) is Pending",
       [](TrainingRunInput& in) {
         (*in.job)["spec"]["suspend"] = true;
         (*in.job)["status"] = Json::object();
       },
       [](const TrainingRunDecision& d) {
         EXPECT_EQ(d.status["phase"], "Pending");
         EXPECT_EQ(d.status["reason"], "JobSuspended");
         EXPECT_EQ(d.events.size(), 1u);
         EXPECT_EQ(d.events[0].reason, "JobSuspended");
       }},
  };
  for (const auto& c : cases) {
    auto in = inputFor(startedRun());
    in.job = jobOf(in.run);
    c.setup(in);
    SCOPED_TRACE(c.name);
    c.check(decideTrainingRun(in));
  }
}

TEST(DecideTrainingRun, ForeignJobOfTheSameNameIsWaitedFor) {
  auto in = inputFor(sampleRun());
  Json foreign = jobOf(in.run);
  foreign["metadata"]["ownerReferences"][0]["uid"] = "uid-of-a-deleted-run";
  in.job = foreign;
  const auto d = decideTrainingRun(in);
  EXPECT_FALSE(d.jobToCreate.has_value());
  EXPECT_FALSE(d.status.contains("jobUID"));
  EXPECT_EQ(d.status["phase"], "Pending");
  EXPECT_EQ(d.status["reason"], "JobNameTaken");
  EXPECT_EQ(d.requeueAfter, kWaitForJobName);
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].type, "Warning");
}

TEST(DecideTrainingRun, JobLostBeforeResults) {
  struct Case {
    const char* name;
    std::optional<Json> job;
    const char* message;
  };
  const Json run = startedRun();
  const Case cases[] = {
      {"deleted", std::nullopt,
       "Job iris-run-1 (uid 0b5f0c2e-0000-4000-8000-00000000j0b1) was deleted before its results "
       "were read"},
      {"recreated by someone", jobOf(run, "another-uid"),
       "Job iris-run-1 (uid 0b5f0c2e-0000-4000-8000-00000000j0b1) was replaced by another Job of "
       "the same name "
       "before its results were read"},
  };
  for (const auto& c : cases) {
    auto in = inputFor(run);
    in.job = c.job;
    const auto d = decideTrainingRun(in);
    EXPECT_FALSE(d.jobToCreate.has_value()) << c.name;  // never recreated
    EXPECT_EQ(d.status["phase"], "Failed") << c.name;
    EXPECT_EQ(d.status["reason"], "JobLost") << c.name;
    EXPECT_EQ(d.status["message"], c.message) << c.name;
    EXPECT_EQ(d.status["completionTime"], "2024-05-01T12:10:30Z") << c.name;
    EXPECT_EQ(conditionField(d.status, "JobComplete", "status"), "False") << c.name;
    EXPECT_EQ(conditionField(d.status, "Ready", "reason"), "JobLost") << c.name;
    EXPECT_EQ(d.events, (std::vector<Event>{{"Warning", "JobLost", c.message}})) << c.name;
  }
}

TEST(DecideTrainingRun, JobFailures) {
  struct Case {
    const char* reason;
    const char* jobMessage;
    std::string expectedMessage;
  };
  const Case cases[] = {
      {"BackoffLimitExceeded", "Job has reached the specified backoff limit",
       "Job iris-run-1 failed: Job has reached the specified backoff limit; last attempt: pod p2 "
       "container trainer "
       "exited with code 1 (Error): Traceback: boom"},
      {"DeadlineExceeded", "Job was active longer than specified deadline",
       "Job iris-run-1 failed: Job was active longer than specified deadline; last attempt: pod p2 "
       "container trainer "
       "exited with code 1 (Error): Traceback: boom"},
      {"", "",
       "Job iris-run-1 failed; last attempt: pod p2 container trainer exited with code 1 (Error): "
       "Traceback: boom"},
  };
  for (const auto& c : cases) {
    auto in = inputFor(startedRun());
    in.job = withJobCondition(jobOf(in.run), "Failed", c.reason, c.jobMessage);
    in.pods = {podOf(*in.job, "p1", "Failed", "2024-05-01T12:00:06Z", "older", 2),
               podOf(*in.job, "p2", "Failed", "2024-05-01T12:05:00Z", "Traceback: boom", 1)};
    const auto d = decideTrainingRun(in);
    const std::string reason = *c.reason ? c.reason : "JobFailed";
    EXPECT_EQ(d.status["phase"], "Failed");
    EXPECT_EQ(d.status["reason"], reason);
    EXPECT_EQ(d.status["message"], c.expectedMessage);
    EXPECT_EQ(d.status["attempts"], 2);
    EXPECT_EQ(conditionField(d.status, "JobComplete", "status"), "False");
    EXPECT_EQ(conditionField(d.status, "JobComplete", "reason"), reason);
    EXPECT_TRUE(d.status.contains("fingerprint"));  // what ran is recorded even on failure
    EXPECT_EQ(d.events, (std::vector<Event>{{"Warning", reason, c.expectedMessage}}));
  }
}

// ---- Results ----

TEST(DecideTrainingRun, ValidResultsRegisterAModelVersion) {
  auto in =
      completedInput(resultsJSON(0.95, R"(, "dataset": {"digest": ")" + kDatasetDigest + "\"}"));
  const auto d = decideTrainingRun(in);
  const Json& s = d.status;
  EXPECT_EQ(s["phase"], "Running");  // Succeeded only with the ModelVersion
  EXPECT_EQ(s["reason"], "Registering");
  EXPECT_EQ(s["metrics"], Json({{"accuracy", 0.95}}));
  EXPECT_EQ(s["artifact"],
            Json({{"uri", "s3://mlops-artifacts/team-a/iris/iris-run-1-d7a9c1e0/model.pkl"},
                  {"digest", kArtifactDigest}}));
  EXPECT_EQ(s["datasetDigest"], kDatasetDigest);  // reported, since the spec gave none
  EXPECT_FALSE(s.contains("completionTime"));
  EXPECT_FALSE(s.contains("modelVersion"));
  EXPECT_EQ(conditionField(s, "JobComplete", "status"), "True");
  EXPECT_EQ(conditionField(s, "Validated", "status"), "True");
  EXPECT_EQ(conditionField(s, "Validated", "message"), "1 gate passed");
  EXPECT_EQ(conditionField(s, "Registered", "status"), "Unknown");
  EXPECT_EQ(conditionField(s, "Ready", "status"), "False");
  EXPECT_TRUE(d.events.empty());

  ASSERT_TRUE(d.registerModelVersion.has_value());
  EXPECT_EQ(d.registerModelVersion->labels,
            Json({{"mlops.dev/model", "iris"},
                  {"mlops.dev/training-run", "iris-run-1"},
                  {"mlops.dev/training-run-uid", kRunUID},
                  {"app.kubernetes.io/managed-by", "mlops-operator"}}));
  const Json& spec = d.registerModelVersion->spec;
  EXPECT_FALSE(spec.contains("version"));
  EXPECT_EQ(spec["model"], "iris");
  EXPECT_EQ(spec["artifact"], s["artifact"]);
  EXPECT_EQ(spec["metrics"], s["metrics"]);
  EXPECT_EQ(spec["stage"], "None");
  EXPECT_EQ(spec["serving"], in.run["spec"]["serving"]);
  EXPECT_EQ(spec["source"], Json({{"trainingRun", "iris-run-1"},
                                  {"trainingRunUID", kRunUID},
                                  {"fingerprint", s["fingerprint"]},
                                  {"dataset",
                                   {{"uri", "s3://datasets/iris/2024-05"},
                                    {"version", "2024-05"},
                                    {"digest", kDatasetDigest}}},
                                  {"code", in.run["spec"]["code"]},
                                  {"imageDigests", s["imageDigests"]}}));
}

TEST(DecideTrainingRun, SucceedsOnlyWithTheModelVersion) {
  auto in = completedInput(resultsJSON(0.95));
  const auto registering = decideTrainingRun(in);

  // The controller created iris-v3 and decides again.
  auto again = in;
  again.run = withStatus(in.run, registering);
  again.modelVersion = Json{
      {"metadata", {{"name", "iris-v3"}, {"labels", {{"mlops.dev/training-run", "iris-run-1"}}}}},
      {"spec", {{"model", "iris"}, {"version", 3}}}};
  const auto d = decideTrainingRun(again);
  EXPECT_FALSE(d.registerModelVersion.has_value());
  EXPECT_EQ(d.status["phase"], "Succeeded");
  EXPECT_EQ(d.status["reason"], "Registered");
  EXPECT_EQ(d.status["modelVersion"], "iris-v3");
  EXPECT_EQ(d.status["version"], 3);
  EXPECT_EQ(d.status["completionTime"], "2024-05-01T12:10:30Z");
  EXPECT_EQ(conditionField(d.status, "Registered", "status"), "True");
  EXPECT_EQ(conditionField(d.status, "Ready", "status"), "True");
  EXPECT_EQ(d.events, (std::vector<Event>{{"Normal", "Registered",
                                           "registered ModelVersion iris-v3 (version 3)"}}));

  // Once results are recorded the Job no longer matters (TTL may delete it).
  auto jobGone = again;
  jobGone.job.reset();
  jobGone.pods.clear();
  EXPECT_EQ(decideTrainingRun(jobGone).status, d.status);

  // A ModelVersion of another run is not ours.
  auto wrong = again;
  (*wrong.modelVersion)["metadata"]["labels"]["mlops.dev/training-run"] = "other-run";
  EXPECT_EQ(decideTrainingRun(wrong).status["reason"], "Registering");

  // Terminal: never re-decided.
  auto terminal = inputFor(withStatus(again.run, d));
  const auto noop = decideTrainingRun(terminal);
  EXPECT_FALSE(noop.statusChanged);
  EXPECT_EQ(noop.status, d.status);
  EXPECT_TRUE(noop.events.empty());
  EXPECT_FALSE(noop.jobToCreate.has_value());
  EXPECT_FALSE(noop.registerModelVersion.has_value());
}

TEST(DecideTrainingRun, AdoptsAModelVersionCreatedBeforeACrash) {
  auto in = completedInput(resultsJSON(0.95));
  in.modelVersion = Json{
      {"metadata", {{"name", "iris-v7"}, {"labels", {{"mlops.dev/training-run", "iris-run-1"}}}}},
      {"spec", {{"version", 7}}}};
  const auto d = decideTrainingRun(in);
  EXPECT_EQ(d.status["phase"], "Succeeded");
  EXPECT_EQ(d.status["version"], 7);
  EXPECT_FALSE(d.registerModelVersion.has_value());
}

TEST(DecideTrainingRun, InvalidResultsFailTheRun) {
  struct Case {
    std::string results;
    std::string message;
  };
  const std::string where = " (pod iris-run-1-abcde, container trainer)";
  const Case cases[] = {
      {"", "no results: the results container wrote nothing to /dev/termination-log" + where},
      {R"({"artifact": {"uri": "s3://a"}})",
       "results lack \"metrics\" (an object of metric name to number)" + where},
      {R"({"metrics": {"accuracy": "high"}, "artifact": {"uri": "s3://a"}})",
       "results metric \"accuracy\" must be a number, got a string" + where},
      {R"({"metrics": {"accuracy": 0.9}})",
       "results lack \"artifact\" (an object with \"uri\" and optionally \"digest\")" + where},
  };
  for (const auto& c : cases) {
    const auto d = decideTrainingRun(completedInput(c.results));
    EXPECT_EQ(d.status["phase"], "Failed");
    EXPECT_EQ(d.status["reason"], "InvalidResults");
    EXPECT_EQ(d.status["message"], c.message);
    EXPECT_FALSE(d.status.contains("metrics"));
    EXPECT_EQ(conditionField(d.status, "JobComplete", "status"), "True");
    EXPECT_EQ(conditionField(d.status, "Validated", "status"), "False");
    EXPECT_EQ(conditionField(d.status, "Validated", "reason"), "InvalidResults");
    EXPECT_FALSE(d.registerModelVersion.has_value());
    EXPECT_EQ(d.events, (std::vector<Event>{{"Warning", "InvalidResults", c.message}}));
  }

  // A results container that never terminated in the succeeded pod.
  auto in = completedInput(resultsJSON(0.95));
  in.pods[0]["status"]["containerStatuses"].erase(0);
  EXPECT_EQ(decideTrainingRun(in).status["message"],
            "the succeeded pod iris-run-1-abcde has no terminated container \"trainer\"");

  // The trainer read other data than the spec pinned.
  Json pinned = sampleRun();
  pinned["spec"]["dataset"]["digest"] = kDatasetDigest;
  auto mismatch =
      completedInput(resultsJSON(0.95, R"(, "dataset": {"digest": ")" + kArtifactDigest + "\"}"));
  mismatch.run["spec"] = pinned["spec"];
  const auto d = decideTrainingRun(mismatch);
  EXPECT_EQ(d.status["reason"], "InvalidResults");
  EXPECT_EQ(d.status["message"], "the trainer reported dataset digest " + kArtifactDigest +
                                     " but MLOPS_DATASET_DIGEST was " + kDatasetDigest + where);
}

TEST(DecideTrainingRun, WaitsBrieflyForTheSucceededPod) {
  auto in = completedInput(resultsJSON(0.95));
  in.pods.clear();  // the pod informer lags behind the Job's
  const auto waiting = decideTrainingRun(in);
  EXPECT_EQ(waiting.status["phase"], "Running");
  EXPECT_EQ(waiting.status["reason"], "ReadingResults");
  EXPECT_EQ(waiting.requeueAfter, kWaitForSucceededPod);

  in.now = *parseTimestamp("2024-05-01T12:11:01Z");  // completed 12:10:00, grace 60 s
  const auto lost = decideTrainingRun(in);
  EXPECT_EQ(lost.status["phase"], "Failed");
  EXPECT_EQ(lost.status["reason"], "InvalidResults");
  EXPECT_EQ(
      lost.status["message"],
      "Job iris-run-1 completed but its succeeded pod is gone, so its results cannot be read");
}

TEST(DecideTrainingRun, FailedGatesRecordResultsAndRegisterNothing) {
  const auto d = decideTrainingRun(completedInput(resultsJSON(0.85)));
  const std::string message = R"(gate "accuracy >= 0.9" failed: accuracy is 0.85)";
  EXPECT_EQ(d.status["phase"], "Failed");
  EXPECT_EQ(d.status["reason"], "ValidationFailed");
  EXPECT_EQ(d.status["message"], message);
  EXPECT_EQ(d.status["metrics"], Json({{"accuracy", 0.85}}));
  EXPECT_TRUE(d.status.contains("artifact"));
  EXPECT_TRUE(d.status.contains("fingerprint"));
  EXPECT_EQ(conditionField(d.status, "Validated", "status"), "False");
  EXPECT_EQ(conditionField(d.status, "Validated", "reason"), "GateFailed");
  EXPECT_EQ(conditionField(d.status, "Validated", "message"), message);
  EXPECT_EQ(conditionField(d.status, "Registered", "status"), "<absent>");
  EXPECT_FALSE(d.registerModelVersion.has_value());
  EXPECT_EQ(d.events, (std::vector<Event>{{"Warning", "ValidationFailed", message}}));
}

TEST(DecideTrainingRun, ComparesToProduction) {
  struct Case {
    const char* name;
    std::optional<ProductionMetrics> production;
    const char* reason;
  };
  const Case cases[] = {
      {"nothing in production", std::nullopt, "Registering"},
      {"beaten", ProductionMetrics{"iris-v2", {{"accuracy", 0.94}}}, "Registering"},
      {"not beaten", ProductionMetrics{"iris-v2", {{"accuracy", 0.953}}}, "ValidationFailed"},
  };
  for (const auto& c : cases) {
    auto in = completedInput(resultsJSON(0.955));
    in.run["spec"]["validation"]["compareToProduction"] = {{"metric", "accuracy"},
                                                           {"minDelta", 0.005}};
    in.production = c.production;
    const auto d = decideTrainingRun(in);
    EXPECT_EQ(d.status["reason"], c.reason) << c.name << ": " << d.status["message"];
  }
}

TEST(DecideTrainingRun, RegistrationOptions) {
  struct Case {
    const char* name;
    std::function<void(Json&)> mutate;
    std::function<void(const TrainingRunDecision&)> check;
  };
  const Case cases[] = {
      {"register false succeeds without a ModelVersion",
       [](Json& r) { r["spec"]["register"] = false; },
       [](const TrainingRunDecision& d) {
         EXPECT_FALSE(d.registerModelVersion.has_value());
         EXPECT_EQ(d.status["phase"], "Succeeded");
         EXPECT_EQ(d.status["reason"], "Completed");
         EXPECT_EQ(d.status["message"],
                   "training succeeded; no ModelVersion registered (spec.register is false)");
         EXPECT_FALSE(d.status.contains("modelVersion"));
         EXPECT_EQ(conditionField(d.status, "Registered", "status"), "False");
         EXPECT_EQ(conditionField(d.status, "Registered", "reason"), "NotRequested");
         EXPECT_EQ(d.events.size(), 1u);
       }},
      {"automatic promotion creates it in Production",
       [](Json& r) { r["spec"]["promotion"] = "Automatic"; },
       [](const TrainingRunDecision& d) {
         ASSERT_TRUE(d.registerModelVersion.has_value());
         EXPECT_EQ(d.registerModelVersion->spec["stage"], "Production");
       }},
      {"no serving, no code: omitted",
       [](Json& r) {
         r["spec"].erase("serving");
         r["spec"].erase("code");
       },
       [](const TrainingRunDecision& d) {
         ASSERT_TRUE(d.registerModelVersion.has_value());
         EXPECT_FALSE(d.registerModelVersion->spec.contains("serving"));
         EXPECT_FALSE(d.registerModelVersion->spec["source"].contains("code"));
       }},
  };
  for (const auto& c : cases) {
    auto in = completedInput(resultsJSON(0.95));
    c.mutate(in.run);
    SCOPED_TRACE(c.name);
    c.check(decideTrainingRun(in));
  }
}

// ---- Reproductions ----

TEST(DecideTrainingRun, ReproductionWaitsForOrFailsOnItsOriginal) {
  struct Case {
    const char* name;
    std::optional<Json> original;
    const char* phase;
    const char* reason;
    bool createsJob;
  };
  Json running = sampleRun();
  running["status"] = {{"phase", "Running"}};
  const Case cases[] = {
      {"missing", std::nullopt, "Pending", "OriginalNotFound", false},
      {"running", running, "Pending", "WaitingForOriginal", false},
      {"itself a reproduction", reproductionRun("older"), "Failed", "OriginalNotReproducible",
       false},
      {"ready", succeededOriginal(), "Pending", "CreatingJob", true},
  };
  for (const auto& c : cases) {
    auto in = inputFor(reproductionRun("iris-run-1"));
    in.original = c.original;
    const auto d = decideTrainingRun(in);
    EXPECT_EQ(d.status["phase"], c.phase) << c.name;
    EXPECT_EQ(d.status["reason"], c.reason) << c.name;
    EXPECT_EQ(d.jobToCreate.has_value(), c.createsJob) << c.name;
    if (std::string(c.phase) == "Pending" && !c.createsJob) {
      EXPECT_EQ(d.requeueAfter, kWaitForOriginal) << c.name;
    }
  }
}

TEST(DecideTrainingRun, ReproductionVerdicts) {
  // The original ran the same images the reproduction's pods report, so the
  // fingerprints match.
  Json original = succeededOriginal();
  original["status"]["imageDigests"] = {{"trainer", kImageDigest}, {"sidecar", kImageDigest}};
  auto originalInputs = resolveInputs(original, std::nullopt, "s3://mlops-artifacts");
  ASSERT_TRUE(originalInputs.ok());
  original["status"]["fingerprint"] = *fingerprint(
      originalInputs->fingerprintInputs({{"trainer", kImageDigest}, {"sidecar", kImageDigest}}));

  struct Case {
    const char* name;
    std::string results;
    const char* verdict;
    const char* eventType;
  };
  const Case cases[] = {
      {"within tolerance",
       R"({"metrics": {"accuracy": 0.96, "f1": 0.905}, "artifact": {"uri": "s3://x"}})",
       "Reproduced", "Normal"},
      {"out of tolerance",
       R"({"metrics": {"accuracy": 0.90, "f1": 0.9}, "artifact": {"uri": "s3://x"}})",
       "NotReproduced", "Warning"},
      {"metric missing", R"({"metrics": {"accuracy": 0.95}, "artifact": {"uri": "s3://x"}})",
       "NotReproduced", "Warning"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto start = inputFor(reproductionRun("iris-run-1"));
    start.original = original;
    start.run = withStatus(start.run, decideTrainingRun(start));
    start.job = jobOf(start.run, "repro-job");
    start.run = withStatus(start.run, decideTrainingRun(start));

    auto in = start;
    in.job = withJobCondition(jobOf(in.run, "repro-job"), "Complete");
    in.pods = {podOf(*in.job, "iris-repro-1-xyz", "Succeeded", "2024-05-01T12:00:06Z", c.results)};
    in.run["spec"].erase("validation");
    const auto d = decideTrainingRun(in);
    const Json& r = d.status["reproduction"];
    EXPECT_EQ(r["of"], "iris-run-1");
    EXPECT_EQ(r["verdict"], c.verdict);
    EXPECT_EQ(r["fingerprintMatch"], true);
    EXPECT_EQ(d.status["fingerprint"], original["status"]["fingerprint"]);
    EXPECT_EQ(d.status["phase"], "Succeeded");  // reproductions do not register by default
    EXPECT_EQ(d.status["reason"], c.verdict);
    EXPECT_FALSE(d.registerModelVersion.has_value());
    EXPECT_EQ(conditionField(d.status, "Reproduced", "status"),
              std::string(c.verdict) == "Reproduced" ? "True" : "False");
    EXPECT_EQ(conditionField(d.status, "Registered", "reason"), "NotRequested");
    ASSERT_EQ(d.events.size(), 1u);  // the verdict, once
    EXPECT_EQ(d.events[0].type, c.eventType);
    EXPECT_EQ(d.events[0].reason, c.verdict);
    EXPECT_EQ(d.events[0].message, conditionField(d.status, "Reproduced", "message"));
  }
}

TEST(DecideTrainingRun, ReproductionWhoseOriginalVanishesMidwayFails) {
  auto in = inputFor(reproductionRun("iris-run-1"));
  in.original = succeededOriginal();
  in.run = withStatus(in.run, decideTrainingRun(in));
  in.job = jobOf(in.run, "repro-job");
  in.run = withStatus(in.run, decideTrainingRun(in));
  ASSERT_EQ(in.run["status"]["phase"], "Running");
  in.original.reset();
  const auto d = decideTrainingRun(in);
  EXPECT_EQ(d.status["phase"], "Failed");
  EXPECT_EQ(d.status["reason"], "OriginalLost");
}

TEST(DecideTrainingRun, TerminalRunsAreNeverRedecided) {
  for (const char* phase : {"Succeeded", "Failed"}) {
    Json run = sampleRun();
    run["status"] = {{"phase", phase}, {"reason", "Whatever"}, {"jobUID", kJobUID}};
    auto in = inputFor(run);  // no Job: would be JobLost if it were decided
    const auto d = decideTrainingRun(in);
    EXPECT_FALSE(d.statusChanged) << phase;
    EXPECT_EQ(d.status, run["status"]) << phase;
    EXPECT_TRUE(d.events.empty()) << phase;
    EXPECT_FALSE(d.jobToCreate.has_value()) << phase;
    EXPECT_FALSE(d.requeueAfter.has_value()) << phase;
  }
}

TEST(DecideTrainingRun, PreservesTransitionTimesAcrossDecisions) {
  auto in = inputFor(sampleRun());
  in.job = jobOf(in.run);
  const auto first = decideTrainingRun(in);
  auto later = in;
  later.run = withStatus(in.run, first);
  later.now = kNow + minutes{3};
  (*later.job)["status"]["failed"] = 1;  // a retry: message changes, Ready stays False
  const auto second = decideTrainingRun(later);
  EXPECT_TRUE(second.statusChanged);
  EXPECT_EQ(conditionField(second.status, "Ready", "lastTransitionTime"), "2024-05-01T12:10:30Z");
  EXPECT_EQ(second.status["message"], "Job iris-run-1 is running (attempt 2)");
}

// ---- A run is its UID, not its name ----

TEST(DecideTrainingRun, AVersionOfAnEarlierRunOfTheSameNameIsNotAdopted) {
  auto in = completedInput(resultsJSON(0.95));
  in.modelVersion = Json{{"metadata",
                          {{"name", "iris-v1"},
                           {"labels",
                            {{"mlops.dev/training-run", "iris-run-1"},
                             {"mlops.dev/training-run-uid", "uid-of-the-deleted-run"}}}}},
                         {"spec", {{"model", "iris"}, {"version", 1}}}};
  const auto d = decideTrainingRun(in);
  EXPECT_EQ(d.status["phase"], "Running");
  EXPECT_EQ(d.status["reason"], "Registering");
  EXPECT_FALSE(d.status.contains("modelVersion"));
  EXPECT_TRUE(d.registerModelVersion.has_value());

  // The same with this run's UID: adopted.
  (*in.modelVersion)["metadata"]["labels"]["mlops.dev/training-run-uid"] = kRunUID;
  EXPECT_EQ(decideTrainingRun(in).status["phase"], "Succeeded");
}

// ---- A registration the API server refuses ----

TEST(DecideTrainingRun, ARegistrationRefusedWith422FailsTheRun) {
  auto in = completedInput(resultsJSON(0.95));
  const auto registering = decideTrainingRun(in);
  in.run = withStatus(in.run, registering);
  Error refused = makeError(ErrorCode::kInvalid,
                            "ModelVersion.mlops.dev \"iris-v1\" is invalid: spec.metrics: Too "
                            "many: 300: must have at most 256 items");
  refused.httpStatus = 422;
  in.registrationError = refused;
  const auto d = decideTrainingRun(in);
  const std::string message =
      "the API server rejected the ModelVersion of model iris: " + refused.message;
  EXPECT_EQ(d.status["phase"], "Failed");
  EXPECT_EQ(d.status["reason"], "RegistrationRejected");
  EXPECT_EQ(d.status["message"], message);
  EXPECT_EQ(conditionField(d.status, "Registered", "status"), "False");
  EXPECT_EQ(conditionField(d.status, "Registered", "reason"), "RegistrationRejected");
  EXPECT_FALSE(d.registerModelVersion.has_value());
  EXPECT_EQ(d.events, (std::vector<Event>{{"Warning", "RegistrationRejected", message}}));

  // A transient error is the controller's to retry, never a failure.
  in.registrationError = makeError(ErrorCode::kUnavailable, "etcd is away");
  EXPECT_EQ(decideTrainingRun(in).status["reason"], "Registering");
}

// ---- A Job that cannot create its pods ----

// A Job created at `created` that has no pod at all.
TrainingRunInput podlessInput(const std::string& created) {
  TrainingRunInput in = inputFor(startedRun());
  in.job = jobOf(in.run);
  (*in.job)["metadata"]["creationTimestamp"] = created;
  (*in.job)["status"] = Json::object();
  return in;
}

Json failedCreateEvent(const std::string& jobUID, const std::string& message,
                       const std::string& time = "2024-05-01T12:09:00Z") {
  return Json{{"type", "Warning"},
              {"reason", "FailedCreate"},
              {"message", message},
              {"lastTimestamp", time},
              {"involvedObject", {{"kind", "Job"}, {"name", "iris-run-1"}, {"uid", jobUID}}}};
}

TEST(DecideTrainingRun, AJobThatCannotCreateItsPodShowsWhyAndFailsAfterTheBound) {
  const std::string why =
      "Error creating: pods \"iris-run-1-\" is forbidden: error looking up service account "
      "team-a/missing: serviceaccount \"missing\" not found";
  auto in = podlessInput("2024-05-01T12:08:00Z");  // 2m30s before kNow
  EXPECT_TRUE(jobNeedsEvents(in));
  in.jobEvents = {failedCreateEvent("another-job", "not this Job's"),
                  failedCreateEvent(kJobUID, "older", "2024-05-01T12:08:01Z"),
                  failedCreateEvent(kJobUID, why)};
  const auto d = decideTrainingRun(in);
  EXPECT_EQ(d.status["phase"], "Running");
  EXPECT_EQ(d.status["reason"], "PodCreationFailing");
  EXPECT_EQ(d.status["message"],
            "Job iris-run-1 cannot create its pod (FailedCreate): " + why +
                "; the run fails at 2024-05-01T12:13:00Z if no pod is created");
  EXPECT_EQ(conditionField(d.status, "PodsCreated", "status"), "False");
  EXPECT_EQ(conditionField(d.status, "PodsCreated", "reason"), "FailedCreate");
  EXPECT_EQ(conditionField(d.status, "PodsCreated", "message"), why);
  ASSERT_TRUE(d.requeueAfter.has_value());
  EXPECT_LE(*d.requeueAfter, kPollJobEvents);
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].type, "Warning");
  EXPECT_EQ(d.events[0].reason, "PodCreationFailing");

  // Past the bound (5 minutes after the Job was created): Failed.
  auto later = in;
  later.run = withStatus(in.run, d);
  later.now = *parseTimestamp("2024-05-01T12:13:00Z");
  const auto failed = decideTrainingRun(later);
  EXPECT_EQ(failed.status["phase"], "Failed");
  EXPECT_EQ(failed.status["reason"], "PodCreationFailed");
  EXPECT_EQ(failed.status["message"],
            "Job iris-run-1 created no pod in 300s: FailedCreate: " + why);
  EXPECT_EQ(conditionField(failed.status, "JobComplete", "status"), "False");
  EXPECT_EQ(conditionField(failed.status, "JobComplete", "reason"), "PodCreationFailed");

  // The bound is an option.
  auto shortBound = in;
  shortBound.options.podCreationTimeout = std::chrono::seconds(60);
  EXPECT_EQ(decideTrainingRun(shortBound).status["reason"], "PodCreationFailed");

  // A pod appears after all: running, PodsCreated=True.
  auto recovered = later;
  recovered.now = kNow;
  (*recovered.job)["status"]["active"] = 1;
  recovered.pods = {podOf(*recovered.job, "p1", "Running", "2024-05-01T12:10:00Z")};
  EXPECT_FALSE(jobNeedsEvents(recovered));
  const auto running = decideTrainingRun(recovered);
  EXPECT_EQ(running.status["reason"], "JobRunning");
  EXPECT_EQ(conditionField(running.status, "PodsCreated", "status"), "True");
}

TEST(DecideTrainingRun, APodlessJobWithoutFailureEventsKeepsRunningAndPolls) {
  auto in = podlessInput("2024-05-01T11:00:00Z");  // long past the bound
  const auto d = decideTrainingRun(in);
  EXPECT_EQ(d.status["phase"], "Running");
  EXPECT_EQ(d.status["reason"], "JobRunning");
  EXPECT_EQ(conditionField(d.status, "PodsCreated", "status"), "<absent>");
  EXPECT_EQ(d.requeueAfter, std::optional<std::chrono::seconds>(kPollJobEvents));

  // Just before the bound: back right after it.
  auto close = podlessInput("2024-05-01T12:05:35Z");  // the bound is 12:10:35, kNow 12:10:30
  EXPECT_EQ(decideTrainingRun(close).requeueAfter,
            std::optional<std::chrono::seconds>(std::chrono::seconds(6)));

  // Jobs that finished or are suspended, and runs without a recorded Job, need
  // no Events.
  auto suspended = in;
  (*suspended.job)["spec"]["suspend"] = true;
  EXPECT_FALSE(jobNeedsEvents(suspended));
  EXPECT_FALSE(jobNeedsEvents(inputFor(sampleRun())));
}

// A Job that has just been created has no pod yet for a few milliseconds:
// its Events are read only once the grace has passed, and the run comes back
// then.
TEST(DecideTrainingRun, AJustCreatedPodlessJobsEventsWaitForTheGrace) {
  auto young = podlessInput("2024-05-01T12:10:29Z");  // 1 s before kNow
  EXPECT_FALSE(jobNeedsEvents(young));
  const auto d = decideTrainingRun(young);
  EXPECT_EQ(d.status["phase"], "Running");
  EXPECT_EQ(d.requeueAfter, std::optional<std::chrono::seconds>(kJobEventsGrace - 1s));
  EXPECT_TRUE(jobNeedsEvents(podlessInput("2024-05-01T12:10:27Z")));  // exactly the grace
  auto unstamped = podlessInput("");
  EXPECT_TRUE(jobNeedsEvents(unstamped)) << "no creation time: read them";
}

// The operator's clock behind the API server's: the Job looks created in the
// future. Its Events are read at once, not after the skew has passed.
TEST(DecideTrainingRun, AJobStampedAheadOfTheOperatorsClockHasItsEventsRead) {
  auto ahead = podlessInput("2024-05-01T13:10:30Z");  // an hour after kNow
  EXPECT_TRUE(jobNeedsEvents(ahead));
  const auto d = decideTrainingRun(ahead);
  EXPECT_EQ(d.status["phase"], "Running");
  ASSERT_TRUE(d.requeueAfter.has_value());
  EXPECT_LE(*d.requeueAfter, kPollJobEvents) << "never waits out the skew";
}

// ---- Messages quoting external text ----

TEST(DecideTrainingRun, ExternalTextIsCutBetweenCharacters) {
  // A trainer's localized error, 300 two-byte letters: cut at 256 bytes by
  // the summary of the failed attempt.
  std::string localized;
  for (int i = 0; i < 300; ++i) localized += "\xD0\x96";
  for (size_t shift : {0u, 1u}) {  // and once with the cut falling mid-letter
    const std::string text = std::string(shift, 'x') + localized;
    auto in = inputFor(startedRun());
    in.job = withJobCondition(jobOf(in.run), "Failed", "BackoffLimitExceeded");
    in.pods = {podOf(*in.job, "p1", "Failed", "2024-05-01T12:00:06Z", text, 1)};
    const auto d = decideTrainingRun(in);
    const std::string message = d.status["message"];
    EXPECT_TRUE(isValidUtf8(message)) << shift;
    EXPECT_NO_THROW(d.status.dump()) << shift;
    EXPECT_NE(message.find("\xD0\x96..."), std::string::npos) << message;
  }

  // Not JSON and not ASCII, from the succeeded pod: InvalidResults quoting it.
  const std::string error = "\xD0\x9E\xD1\x88\xD0\xB8\xD0\xB1\xD0\xBA\xD0\xB0";  // "Ошибка"
  const auto d = decideTrainingRun(completedInput(error));
  EXPECT_EQ(d.status["phase"], "Failed");
  EXPECT_EQ(d.status["reason"], "InvalidResults");
  EXPECT_NO_THROW(d.status.dump());
  EXPECT_NE(d.status["message"].get<std::string>().find("begins \"" + error + "\""),
            std::string::npos)
      << d.status["message"];
}

}  // namespace
}  // namespace mlops::training
