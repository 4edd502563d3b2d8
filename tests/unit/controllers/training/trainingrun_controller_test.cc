// The TrainingRun reconciler's I/O around the decision: real informers and
// cache over the in-memory API (FakeClient), reconcile() called directly.
#include "controllers/training/trainingrun_controller.h"

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "fake_client.h"
#include "fake_clock.h"
#include "hooked_client.h"
#include "runtime/object.h"
#include "test_util.h"
#include "training_fixtures.h"

namespace mlops::training {
namespace {

using nlohmann::json;
using runtime::Informer;
using runtime::Request;
using runtime::testing::eventually;
using runtime::testing::FakeClient;
using runtime::testing::FakeClock;
using testing::apiError;
using testing::HookedClient;
namespace fx = testing;

const Request kRun{"team-a", "iris-run-1"};

json labelled(json obj, const json& labels) {
  for (auto it = labels.begin(); it != labels.end(); ++it) {
    obj["metadata"]["labels"][it.key()] = it.value();
  }
  return obj;
}

json operatorJob(const json& run, const std::string& uid = fx::kJobUID) {
  return labelled(fx::jobOf(run, uid), {{"app.kubernetes.io/managed-by", "mlops-operator"}});
}

json trainingPod(const json& job, const std::string& phase, const std::string& results = "") {
  json pod = fx::podOf(job, "iris-run-1-abcde", phase, "2024-05-01T12:00:06Z", results);
  pod["apiVersion"] = "v1";
  pod["kind"] = "Pod";
  return labelled(
      pod, {{"app.kubernetes.io/component", "training"}, {"mlops.dev/training-run", "iris-run-1"}});
}

class TrainingRunReconcilerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runs_ = std::make_unique<Informer>(fake_, fake_, kube::resources::kTrainingRuns);
    // As the controller's setup wires them: selected and reduced.
    jobs_ = std::make_unique<Informer>(fake_, fake_, kube::resources::kJobs,
                                       trainingJobInformerOptions());
    pods_ = std::make_unique<Informer>(fake_, fake_, kube::resources::kPods,
                                       trainingPodInformerOptions());
    mvs_ = std::make_unique<Informer>(fake_, fake_, kube::resources::kModelVersions);
    runtime::InformerOptions eventOptions;
    eventOptions.fieldSelector = kJobFailedCreateEvents;
    events_informer_ =
        std::make_unique<Informer>(fake_, fake_, kube::resources::kEvents, eventOptions);
    TrainingRunInformers informers{*runs_, *jobs_, *pods_, *mvs_, *events_informer_};
    ASSERT_TRUE(addTrainingRunIndexes(informers).ok());
    for (Informer* i :
         {runs_.get(), jobs_.get(), pods_.get(), mvs_.get(), events_informer_.get()}) {
      cache_.registerInformer(*i);
      i->start();
      ASSERT_TRUE(i->waitForSync(std::chrono::seconds(5)));
    }
    reconciler_ = std::make_unique<TrainingRunReconciler>(cache_, api_, events_,
                                                          TrainingRunOptions{}, clock_);
  }
  void TearDown() override {
    for (Informer* i :
         {runs_.get(), jobs_.get(), pods_.get(), mvs_.get(), events_informer_.get()}) {
      i->stop();
    }
  }

  // Writes `obj` as the API would hold it and waits until the cache has it
  // (or, for unlabelled objects the informer filters out, does not wait).
  json put(const kube::Resource& r, const json& obj, bool cached = true) {
    json stored = fake_.put(r, obj);
    if (cached) waitForCache(r, stored);
    return stored;
  }
  void waitForCache(const kube::Resource& r, const json& stored) {
    ASSERT_TRUE(eventually([&] {
      auto c = cache_.get(r, runtime::namespaceOf(stored), runtime::nameOf(stored));
      return c && runtime::resourceVersionOf(*c) == runtime::resourceVersionOf(stored);
    }));
  }
  // The run as the API holds it, once the cache caught up with it.
  json runNow() {
    json run = *fake_.object(kube::resources::kTrainingRuns, "team-a", "iris-run-1");
    waitForCache(kube::resources::kTrainingRuns, run);
    return run;
  }
  std::vector<std::string> eventReasons() {
    std::vector<std::string> out;
    for (const auto& e : events_.events()) out.push_back(e.reason);
    return out;
  }
  Result<runtime::ReconcileResult> reconcile() {
    return reconciler_->reconcile(kRun, runtime::ReconcileContext::background());
  }

  FakeClient fake_;
  HookedClient api_{fake_};
  FakeClock clock_;
  runtime::CollectingEventRecorder events_;
  runtime::CacheReader cache_;
  std::unique_ptr<Informer> runs_, jobs_, pods_, mvs_, events_informer_;
  std::unique_ptr<TrainingRunReconciler> reconciler_;
};

TEST_F(TrainingRunReconcilerTest, CreatesTheJobOnceAndRecordsItsUidInOneStatusWrite) {
  put(kube::resources::kTrainingRuns, fx::sampleRun());
  auto result = reconcile();
  ASSERT_TRUE(result.ok()) << result.error().toString();

  auto job = fake_.object(kube::resources::kJobs, "team-a", "iris-run-1");
  ASSERT_TRUE(job);
  const json& owner = (*job)["metadata"]["ownerReferences"][0];
  EXPECT_EQ(owner["kind"], "TrainingRun");
  EXPECT_EQ(owner["uid"], fx::kRunUID);
  EXPECT_EQ(owner["controller"], true);
  EXPECT_EQ(api_.count("create", "jobs.batch"), 1);
  EXPECT_EQ(api_.count("updateStatus", "trainingruns.mlops.dev"), 1);

  json run = runNow();
  EXPECT_EQ(run["status"]["jobUID"], (*job)["metadata"]["uid"]);
  EXPECT_EQ(run["status"]["phase"], "Running");
  EXPECT_EQ(run["status"]["observedGeneration"], 1);
  EXPECT_TRUE(eventReasons().empty()) << "creating the Job is routine: status says it";

  // Nothing changed: nothing is written, nothing is said.
  api_.clearWrites();
  waitForCache(kube::resources::kJobs, *job);
  ASSERT_TRUE(reconcile().ok());
  EXPECT_TRUE(api_.writes().empty());
  EXPECT_TRUE(events_.events().empty());
}

TEST_F(TrainingRunReconcilerTest, AJobTheCacheHasNotSeenIsReadFromTheApiNotCreatedTwice) {
  json run = put(kube::resources::kTrainingRuns, fx::sampleRun());
  // Ours, but not (yet) in the cache: the informer only sees labelled Jobs.
  fake_.put(kube::resources::kJobs, fx::jobOf(run));
  ASSERT_TRUE(reconcile().ok());
  EXPECT_EQ(api_.count("create", "jobs.batch"), 1);  // tried, AlreadyExists
  json now = runNow();
  EXPECT_EQ(now["status"]["jobUID"], fx::kJobUID);
  EXPECT_EQ(now["status"]["phase"], "Running");
}

TEST_F(TrainingRunReconcilerTest, AJobOfTheSameNameOwnedByNobodyIsNotTakenOver) {
  json run = put(kube::resources::kTrainingRuns, fx::sampleRun());
  json foreign = fx::jobOf(run);
  foreign["metadata"].erase("ownerReferences");
  fake_.put(kube::resources::kJobs, foreign);
  auto result = reconcile();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->requeueAfter, std::chrono::seconds(15));
  json now = runNow();
  EXPECT_EQ(now["status"]["phase"], "Pending");
  EXPECT_EQ(now["status"]["reason"], "JobNameTaken");
  EXPECT_FALSE(now["status"].contains("jobUID"));
}

TEST_F(TrainingRunReconcilerTest, AStatusConflictRequeuesAndSaysNothing) {
  put(kube::resources::kTrainingRuns, fx::reproductionRun("missing-original"));
  api_.setHook([](const HookedClient::Call& call, const json&) -> std::optional<Error> {
    if (call.verb == "updateStatus") {
      return apiError(ErrorCode::kConflict, 409, "Conflict", "the object has been modified");
    }
    return std::nullopt;
  });
  auto result = reconciler_->reconcile(Request{"team-a", "iris-repro-1"},
                                       runtime::ReconcileContext::background());
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->requeue);
  EXPECT_TRUE(events_.events().empty());

  api_.setHook(nullptr);
  result = reconciler_->reconcile(Request{"team-a", "iris-repro-1"},
                                  runtime::ReconcileContext::background());
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->requeueAfter, kWaitForOriginal);
  auto run = fake_.object(kube::resources::kTrainingRuns, "team-a", "iris-repro-1");
  EXPECT_EQ((*run)["status"]["reason"], "OriginalNotFound");
  EXPECT_EQ(eventReasons(), std::vector<std::string>{"OriginalNotFound"});
}

TEST_F(TrainingRunReconcilerTest, ARecordedJobMissingFromTheCacheIsConfirmedBeforeJobLost) {
  json run = fx::sampleRun();
  run["status"] = {{"phase", "Running"},
                   {"reason", "JobRunning"},
                   {"jobUID", fx::kJobUID},
                   {"jobName", "iris-run-1"}};
  run = put(kube::resources::kTrainingRuns, run);
  // The Job exists on the API server but not in the cache: not lost.
  fake_.put(kube::resources::kJobs, fx::jobOf(run));
  ASSERT_TRUE(reconcile().ok());
  EXPECT_EQ(runNow()["status"]["phase"], "Running");

  // Gone from the API server too: lost.
  fake_.erase(kube::resources::kJobs, "team-a", "iris-run-1");
  ASSERT_TRUE(reconcile().ok());
  json now = runNow();
  EXPECT_EQ(now["status"]["phase"], "Failed");
  EXPECT_EQ(now["status"]["reason"], "JobLost");
  EXPECT_EQ(eventReasons().back(), "JobLost");
}

class CompletedRunTest : public TrainingRunReconcilerTest {
 protected:
  // The run with its Job complete and the pod's results in the cache.
  void completeWith(const std::string& results, json spec = json()) {
    json run = fx::sampleRun();
    if (!spec.is_null()) run["spec"].merge_patch(spec);
    run["status"] = {{"phase", "Running"},
                     {"reason", "JobRunning"},
                     {"jobUID", fx::kJobUID},
                     {"jobName", "iris-run-1"}};
    run = put(kube::resources::kTrainingRuns, run);
    json job = put(kube::resources::kJobs, fx::withJobCondition(operatorJob(run), "Complete"));
    put(kube::resources::kPods, trainingPod(job, "Succeeded", results));
  }
};

TEST_F(CompletedRunTest, SucceededIsWrittenOnceTogetherWithTheNewVersion) {
  completeWith(fx::resultsJSON(0.95));
  ASSERT_TRUE(reconcile().ok());

  auto mv = fake_.object(kube::resources::kModelVersions, "team-a", "iris-v1");
  ASSERT_TRUE(mv);
  EXPECT_EQ((*mv)["status"]["phase"], "Registered");
  EXPECT_EQ((*mv)["spec"]["source"]["trainingRun"], "iris-run-1");
  EXPECT_EQ((*mv)["spec"]["metrics"]["accuracy"], 0.95);
  // Two status writes: the claim of version 1 (Registering), then Succeeded.
  EXPECT_EQ(api_.count("updateStatus", "trainingruns.mlops.dev"), 2);

  json run = runNow();
  EXPECT_EQ(run["status"]["phase"], "Succeeded");
  EXPECT_EQ(run["status"]["reason"], "Registered");
  EXPECT_EQ(run["status"]["modelVersion"], "iris-v1");
  EXPECT_EQ(run["status"]["version"], 1);
  EXPECT_EQ(run["status"]["registration"], json({{"version", 1}, {"modelVersion", "iris-v1"}}));
  EXPECT_EQ(run["status"]["metrics"]["accuracy"], 0.95);
  EXPECT_EQ(eventReasons().back(), "Registered");
  EXPECT_EQ((*mv)["metadata"]["labels"]["mlops.dev/training-run-uid"], fx::kRunUID);
  EXPECT_EQ((*mv)["spec"]["source"]["trainingRunUID"], fx::kRunUID);

  // Terminal: a reconcile neither reads the API nor writes.
  api_.clearWrites();
  ASSERT_TRUE(reconcile().ok());
  EXPECT_TRUE(api_.writes().empty());
}

TEST_F(CompletedRunTest, AVersionCreatedBeforeACrashIsAdopted) {
  fake_.put(kube::resources::kModelVersions,
            json{{"apiVersion", "mlops.dev/v1alpha1"},
                 {"kind", "ModelVersion"},
                 {"metadata",
                  {{"name", "iris-v4"},
                   {"namespace", "team-a"},
                   {"labels",
                    {{"mlops.dev/model", "iris"},
                     {"mlops.dev/training-run", "iris-run-1"},
                     {"mlops.dev/training-run-uid", fx::kRunUID}}}}},
                 {"spec", {{"model", "iris"}, {"version", 4}}}});
  completeWith(fx::resultsJSON(0.95));
  ASSERT_TRUE(reconcile().ok());
  EXPECT_EQ(api_.count("create", "modelversions.mlops.dev"), 0);
  json run = runNow();
  EXPECT_EQ(run["status"]["modelVersion"], "iris-v4");
  EXPECT_EQ(run["status"]["version"], 4);
  EXPECT_EQ(
      (*fake_.object(kube::resources::kModelVersions, "team-a", "iris-v4"))["status"]["phase"],
      "Registered");
}

TEST_F(CompletedRunTest, AFailedRegistrationKeepsTheResultsAndIsRetried) {
  completeWith(fx::resultsJSON(0.95));
  api_.setHook([](const HookedClient::Call& call, const json&) -> std::optional<Error> {
    if (call.verb == "create" && call.resource == "modelversions.mlops.dev") {
      return apiError(ErrorCode::kUnavailable, 503, "ServiceUnavailable", "try later");
    }
    return std::nullopt;
  });
  auto failed = reconcile();
  ASSERT_FALSE(failed.ok());
  json run = runNow();
  EXPECT_EQ(run["status"]["phase"], "Running");
  EXPECT_EQ(run["status"]["reason"], "Registering");
  EXPECT_EQ(run["status"]["metrics"]["accuracy"], 0.95);
  EXPECT_EQ(eventReasons().back(), "RegistrationFailed");

  api_.setHook(nullptr);
  ASSERT_TRUE(reconcile().ok());
  run = runNow();
  EXPECT_EQ(run["status"]["phase"], "Succeeded");
  // The claim of v1 was written before the create failed: the retry uses it.
  EXPECT_EQ(run["status"]["modelVersion"], "iris-v1");
}

TEST_F(CompletedRunTest, TheNumberIsClaimedOnTheRunBeforeTheVersionIsCreated) {
  completeWith(fx::resultsJSON(0.95));
  json claimAtCreate;
  api_.setHook([&](const HookedClient::Call& call, const json&) -> std::optional<Error> {
    if (call.verb == "create" && call.resource == "modelversions.mlops.dev") {
      claimAtCreate = (*fake_.object(kube::resources::kTrainingRuns, "team-a",
                                     "iris-run-1"))["status"]["registration"];
    }
    return std::nullopt;
  });
  ASSERT_TRUE(reconcile().ok());
  EXPECT_EQ(claimAtCreate, json({{"version", 1}, {"modelVersion", "iris-v1"}}));
  EXPECT_EQ(runNow()["status"]["phase"], "Succeeded");
}

TEST_F(CompletedRunTest, AClaimLostToAnotherWriterIsAdoptedNotDoubled) {
  // Another operator process claims version 7 on the run just before this
  // one writes its own claim (whose resourceVersion is then stale).
  completeWith(fx::resultsJSON(0.95));
  bool raced = false;
  api_.setHook([&](const HookedClient::Call& call, const json& obj) -> std::optional<Error> {
    if (!raced && call.verb == "updateStatus" && call.resource == "trainingruns.mlops.dev" &&
        obj["status"].contains("registration")) {
      raced = true;
      json theirs = *fake_.object(kube::resources::kTrainingRuns, "team-a", "iris-run-1");
      theirs["status"] = obj["status"];
      theirs["status"]["registration"] = {{"version", 7}, {"modelVersion", "iris-v7"}};
      fake_.put(kube::resources::kTrainingRuns, theirs);
    }
    return std::nullopt;
  });
  auto result = reconcile();
  ASSERT_TRUE(result.ok()) << result.error().toString();
  auto page = fake_.list(kube::resources::kModelVersions, "team-a");
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0]["metadata"]["name"], "iris-v7");
  json run = *fake_.object(kube::resources::kTrainingRuns, "team-a", "iris-run-1");
  EXPECT_EQ(run["status"]["phase"], "Succeeded");
  EXPECT_EQ(run["status"]["version"], 7);
}

TEST_F(CompletedRunTest, AVersionTheApiServerRefusesFailsTheRunInsteadOfRetrying) {
  completeWith(fx::resultsJSON(0.95));
  const std::string refusal =
      "ModelVersion.mlops.dev \"iris-v1\" is invalid: spec.metrics: Too many: 300: must have at "
      "most 256 items";
  api_.setHook([&](const HookedClient::Call& call, const json&) -> std::optional<Error> {
    if (call.verb == "create" && call.resource == "modelversions.mlops.dev") {
      return apiError(ErrorCode::kInvalid, 422, "Invalid", refusal);
    }
    return std::nullopt;
  });
  auto result = reconcile();
  ASSERT_TRUE(result.ok()) << result.error().toString();  // no retry
  json run = runNow();
  EXPECT_EQ(run["status"]["phase"], "Failed");
  EXPECT_EQ(run["status"]["reason"], "RegistrationRejected");
  EXPECT_NE(run["status"]["message"].get<std::string>().find(refusal), std::string::npos);
  ASSERT_FALSE(eventReasons().empty());
  EXPECT_EQ(eventReasons().back(), "RegistrationRejected");
  EXPECT_EQ(api_.count("create", "modelversions.mlops.dev"), 1);
  // Finished: never tried again.
  ASSERT_TRUE(reconcile().ok());
  EXPECT_EQ(api_.count("create", "modelversions.mlops.dev"), 1);
}

TEST_F(TrainingRunReconcilerTest, AJobWithoutPodsShowsItsFailedCreateEvents) {
  json run = fx::sampleRun();
  run["status"] = {{"phase", "Running"},
                   {"reason", "JobRunning"},
                   {"jobUID", fx::kJobUID},
                   {"jobName", "iris-run-1"}};
  run = put(kube::resources::kTrainingRuns, run);
  json job = operatorJob(run);
  job["status"] = json::object();  // no pod ever
  put(kube::resources::kJobs, job);
  const std::string why =
      "Error creating: pods \"iris-run-1-\" is forbidden: error looking up service account "
      "team-a/missing: serviceaccount \"missing\" not found";
  const size_t listsBefore = fake_.listCalls().size();
  put(kube::resources::kEvents,
      json{{"apiVersion", "v1"},
           {"kind", "Event"},
           {"metadata", {{"name", "iris-run-1.17f"}, {"namespace", "team-a"}}},
           {"type", "Warning"},
           {"reason", "FailedCreate"},
           {"message", why},
           {"lastTimestamp", "2024-01-01T00:00:01Z"},
           {"involvedObject", {{"kind", "Job"}, {"name", "iris-run-1"}, {"uid", fx::kJobUID}}}});
  // 10 s after the fake API server's creation time (2024-01-01T00:00:00Z):
  // past the grace before Events are read, before the bound.
  clock_.advance(std::chrono::seconds(1'704'067'210 - 1'700'000'000));
  auto result = reconcile();
  ASSERT_TRUE(result.ok()) << result.error().toString();
  json updated = runNow();
  EXPECT_EQ(updated["status"]["reason"], "PodCreationFailing");
  EXPECT_GT(result->requeueAfter.count(), 0);  // back at the bound
  bool found = false;
  for (const auto& c : updated["status"]["conditions"]) {
    if (c["type"] == "PodsCreated") {
      found = true;
      EXPECT_EQ(c["reason"], "FailedCreate");
      EXPECT_EQ(c["message"], why);
    }
  }
  EXPECT_TRUE(found) << updated["status"].dump();
  // Read from the cache (the informer watches them): no list per run.
  EXPECT_EQ(fake_.listCalls().size(), listsBefore);
}

TEST_F(CompletedRunTest, TheChallengerIsComparedWithTheVersionInProduction) {
  json production{{"apiVersion", "mlops.dev/v1alpha1"},
                  {"kind", "ModelVersion"},
                  {"metadata", {{"name", "iris-v1"}, {"namespace", "team-a"}}},
                  {"spec", {{"model", "iris"}, {"version", 1}, {"metrics", {{"accuracy", 0.95}}}}},
                  {"status", {{"phase", "Production"}}}};
  put(kube::resources::kModelVersions, production);
  completeWith(
      fx::resultsJSON(0.952),
      {{"validation", {{"compareToProduction", {{"metric", "accuracy"}, {"minDelta", 0.005}}}}}});
  ASSERT_TRUE(reconcile().ok());
  json run = runNow();
  EXPECT_EQ(run["status"]["phase"], "Failed");
  EXPECT_EQ(run["status"]["reason"], "ValidationFailed");
  EXPECT_NE(run["status"]["message"].get<std::string>().find("iris-v1"), std::string::npos)
      << run["status"]["message"];
  EXPECT_EQ(api_.count("create", "modelversions.mlops.dev"), 0);
}

// ---- Which events wake which run ----

class RecordingReconciler final : public runtime::Reconciler {
 public:
  Result<runtime::ReconcileResult> reconcile(const Request& request,
                                             const runtime::ReconcileContext&) override {
    std::lock_guard lock(mu_);
    seen_.insert(request.key());
    return runtime::ReconcileResult{};
  }
  bool saw(const std::string& key) const {
    std::lock_guard lock(mu_);
    return seen_.count(key) > 0;
  }
  void clear() {
    std::lock_guard lock(mu_);
    seen_.clear();
  }

 private:
  mutable std::mutex mu_;
  std::set<std::string> seen_;
};

TEST_F(TrainingRunReconcilerTest, IndexesAreAddedIdempotentlyButNeverRedefined) {
  TrainingRunInformers informers{*runs_, *jobs_, *pods_, *mvs_, *events_informer_};
  EXPECT_TRUE(addTrainingRunIndexes(informers).ok()) << "again: idempotent";

  // Another controller took the name for another index on the pods informer:
  // silently keeping either would answer one of them wrongly.
  Informer pods(fake_, fake_, kube::resources::kPods);
  ASSERT_TRUE(pods.addIndex(kPodsByTrainingRun, runtime::indexByField("/spec/nodeName")).ok());
  TrainingRunInformers clashing{*runs_, *jobs_, pods, *mvs_, *events_informer_};
  auto st = addTrainingRunIndexes(clashing);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kAlreadyExists);
}

TEST_F(TrainingRunReconcilerTest, EventsWakeTheRunTheyBelongTo) {
  RecordingReconciler recorder;
  runtime::Controller controller("trainingrun", recorder);
  TrainingRunInformers informers{*runs_, *jobs_, *pods_, *mvs_, *events_informer_};
  watchTrainingRunSources(controller, informers);
  controller.start();

  // A Job wakes its controlling owner.
  json owner = fx::sampleRun();
  owner["metadata"]["name"] = "owner-run";
  json job = operatorJob(owner);
  job["metadata"]["name"] = "some-job";
  fake_.put(kube::resources::kJobs, job);
  EXPECT_TRUE(eventually([&] { return recorder.saw("team-a/owner-run"); }));

  // A pod wakes the run named by its mlops.dev/training-run label.
  json pod = trainingPod(operatorJob(fx::sampleRun()), "Running");
  pod["metadata"]["labels"]["mlops.dev/training-run"] = "labelled-run";
  fake_.put(kube::resources::kPods, pod);
  EXPECT_TRUE(eventually([&] { return recorder.saw("team-a/labelled-run"); }));

  // A Job's FailedCreate Event wakes the run the Job is named after.
  fake_.put(kube::resources::kEvents,
            json{{"apiVersion", "v1"},
                 {"kind", "Event"},
                 {"metadata", {{"name", "stuck-run.1"}, {"namespace", "team-a"}}},
                 {"type", "Warning"},
                 {"reason", "FailedCreate"},
                 {"involvedObject", {{"kind", "Job"}, {"name", "stuck-run"}, {"uid", "u"}}}});
  EXPECT_TRUE(eventually([&] { return recorder.saw("team-a/stuck-run"); }));

  // A change of the original wakes its reproductions.
  fake_.put(kube::resources::kTrainingRuns, fx::reproductionRun("iris-run-1"));
  json original = put(kube::resources::kTrainingRuns, fx::sampleRun());
  ASSERT_TRUE(eventually([&] { return recorder.saw("team-a/iris-repro-1"); }));
  recorder.clear();
  original["status"] = {{"phase", "Succeeded"}};
  fake_.put(kube::resources::kTrainingRuns, original);
  EXPECT_TRUE(eventually([&] { return recorder.saw("team-a/iris-repro-1"); }));
  EXPECT_TRUE(recorder.saw("team-a/iris-run-1"));
  controller.stop(std::chrono::seconds(5));
}

}  // namespace
}  // namespace mlops::training
