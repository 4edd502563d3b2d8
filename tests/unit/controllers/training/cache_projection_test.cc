// The cache keeps only what the decision reads of Jobs and Pods
// (cache_projection.h): the decision must be the same from the reduced
// objects as from whole ones, in every state a run's Job and Pods go through.
#include "controllers/training/cache_projection.h"

#include <functional>

#include <gtest/gtest.h>

#include "controllers/training/decide.h"
#include "training_fixtures.h"

namespace mlops::training {
namespace {

using namespace testing;

// The Job as the API server returns it: the Job the decision rendered, with
// the identity, defaults and annotations the server and users add.
Json wholeJob(const Json& run, const Json& rendered) {
  Json job = rendered;
  Json fixture = jobOf(run);
  job["metadata"]["uid"] = fixture["metadata"]["uid"];
  job["metadata"]["ownerReferences"] = fixture["metadata"]["ownerReferences"];
  job["metadata"]["creationTimestamp"] = "2024-05-01T12:00:04Z";
  job["metadata"]["annotations"]["batch.kubernetes.io/job-tracking"] = "";
  job["metadata"]["generation"] = 1;
  job["metadata"]["labels"]["app.kubernetes.io/managed-by"] = "mlops-operator";
  job["spec"]["selector"] = {{"matchLabels", {{"batch.kubernetes.io/controller-uid", kJobUID}}}};
  job["spec"]["completions"] = 1;
  job["spec"]["parallelism"] = 1;
  job["spec"]["completionMode"] = "NonIndexed";
  job["spec"]["manualSelector"] = false;
  job["spec"]["podReplacementPolicy"] = "TerminatingOrFailed";
  job["spec"]["suspend"] = false;
  job["status"] = fixture["status"];
  return job;
}

// What the API server's Job controller adds to a Job's status and
// conditions as it goes (after a stage has set them).
void asTheJobControllerWritesIt(Json& job) {
  Json& status = job["status"];
  status["ready"] = 0;
  status["uncountedTerminatedPods"] = Json::object();
  for (Json& c : status["conditions"]) {
    c["lastProbeTime"] = c.value("lastTransitionTime", "2024-05-01T12:10:00Z");
  }
}

// A Pod of `job` as the API server returns it: the template's spec and
// annotations on the fixture's metadata and status.
Json wholePod(const Json& job, const std::string& name, const std::string& phase,
              const std::string& created, const std::string& results = "", int exitCode = 0) {
  Json pod = podOf(job, name, phase, created, results, exitCode);
  pod["spec"] = job["spec"]["template"]["spec"];
  pod["spec"]["nodeName"] = "kwok-node-0";
  pod["metadata"]["annotations"] = {{"test.mlops.dev/results", results}};
  pod["metadata"]["generateName"] = job["metadata"]["name"].get<std::string>() + "-";
  pod["metadata"]["generation"] = 1;
  pod["metadata"]["finalizers"] = Json::array({"batch.kubernetes.io/job-tracking"});
  pod["metadata"]["labels"] = {{"batch.kubernetes.io/controller-uid", job["metadata"]["uid"]},
                               {"batch.kubernetes.io/job-name", job["metadata"]["name"]},
                               {"controller-uid", job["metadata"]["uid"]},
                               {"job-name", job["metadata"]["name"]},
                               {"app.kubernetes.io/component", "training"},
                               {"mlops.dev/training-run", job["metadata"]["name"]}};
  pod["status"]["conditions"] =
      Json::array({{{"type", "PodScheduled"}, {"status", "True"}, {"lastTransitionTime", created}},
                   {{"type", "Ready"}, {"status", "False"}, {"reason", "PodCompleted"}}});
  pod["status"]["hostIP"] = "10.255.0.1";
  pod["status"]["hostIPs"] = Json::array({{{"ip", "10.255.0.1"}}});
  pod["status"]["podIP"] = "10.244.0.7";
  pod["status"]["podIPs"] = Json::array({{{"ip", "10.244.0.7"}}});
  pod["status"]["qosClass"] = "BestEffort";
  pod["status"]["startTime"] = created;
  // What a kubelet adds to each container's status.
  for (Json& cs : pod["status"]["containerStatuses"]) {
    cs["containerID"] = "containerd://0f3c";
    cs["ready"] = false;
    cs["restartCount"] = 0;
    cs["started"] = false;
    cs["image"] = "registry.example.com/ml/iris-trainer:1.4.0";
    cs["volumeMounts"] =
        Json::array({{{"name", "kube-api-access"},
                      {"mountPath", "/var/run/secrets/kubernetes.io/serviceaccount"},
                      {"readOnly", true}}});
    cs["user"] = {{"linux", {{"uid", 10001}, {"gid", 10001}}}};
  }
  return pod;
}

struct Stage {
  const char* name;
  std::function<void(const Json& run, Json& job, std::vector<Json>& pods)> setup;
};

TEST(TrainingCacheProjection, TheDecisionIsTheSameFromReducedJobsAndPods) {
  const TrainingRunInput first = inputFor(sampleRun());
  const TrainingRunDecision created = decideTrainingRun(first);
  ASSERT_TRUE(created.jobToCreate.has_value());
  Json run = first.run;
  run["status"] = created.status;

  const Stage stages[] = {
      {"job just created, no pod",
       [](const Json&, Json& job, std::vector<Json>&) { job["status"] = Json::object(); }},
      {"pod pending",
       [](const Json&, Json& job, std::vector<Json>& pods) {
         pods = {wholePod(job, "p1", "Pending", "2024-05-01T12:00:06Z")};
       }},
      {"pod running",
       [](const Json&, Json& job, std::vector<Json>& pods) {
         pods = {wholePod(job, "p1", "Running", "2024-05-01T12:00:06Z")};
       }},
      {"suspended",
       [](const Json&, Json& job, std::vector<Json>&) {
         job["spec"]["suspend"] = true;
         job["status"] = Json::object();
       }},
      {"failed twice",
       [](const Json&, Json& job, std::vector<Json>& pods) {
         job = withJobCondition(job, "Failed", "BackoffLimitExceeded", "backoff limit");
         pods = {wholePod(job, "p1", "Failed", "2024-05-01T12:00:06Z", "older", 2),
                 wholePod(job, "p2", "Failed", "2024-05-01T12:05:00Z", "Traceback: boom", 1)};
       }},
      {"complete with results",
       [](const Json&, Json& job, std::vector<Json>& pods) {
         job = withJobCondition(job, "Complete");
         pods = {wholePod(job, "p1", "Succeeded", "2024-05-01T12:00:06Z", resultsJSON(0.95))};
       }},
      {"complete, pod not seen yet",
       [](const Json&, Json& job, std::vector<Json>&) { job = withJobCondition(job, "Complete"); }},
      {"complete without a completion time, pod not seen yet",
       [](const Json&, Json& job, std::vector<Json>&) {
         job = withJobCondition(job, "Complete");
         job["status"].erase("completionTime");
       }},
  };
  for (const Stage& stage : stages) {
    SCOPED_TRACE(stage.name);
    Json job = wholeJob(run, *created.jobToCreate);
    std::vector<Json> pods;
    stage.setup(run, job, pods);
    asTheJobControllerWritesIt(job);

    TrainingRunInput whole = inputFor(run);
    whole.job = job;
    whole.pods = pods;
    TrainingRunInput reduced = whole;
    keepWhatTrainingReadsOfJob(*reduced.job);
    for (Json& pod : reduced.pods) {
      keepWhatTrainingReadsOfPod(pod);
    }
    // The reduction is real: the template and pod specs are gone, and so
    // are what the servers add that nothing reads.
    ASSERT_EQ(reduced.job->at("spec"), (Json{{"suspend", job["spec"]["suspend"]}}));
    ASSERT_FALSE(reduced.job->at("metadata").contains("generation"));
    ASSERT_FALSE(reduced.job->at("status").contains("uncountedTerminatedPods"));
    for (const Json& c : reduced.job->at("status").value("conditions", Json::array())) {
      ASSERT_FALSE(c.contains("lastProbeTime"));
    }
    for (const Json& pod : reduced.pods) {
      ASSERT_EQ(pod["metadata"]["labels"],
                (Json{{"app.kubernetes.io/component", "training"},
                      {"mlops.dev/training-run", job["metadata"]["name"]}}));
      ASSERT_FALSE(pod["metadata"].contains("generateName"));
      ASSERT_FALSE(pod["metadata"].contains("finalizers"));
      ASSERT_FALSE(pod.contains("spec"));
      ASSERT_FALSE(pod["status"].contains("conditions"));
      ASSERT_FALSE(pod["status"].contains("podIP"));
      ASSERT_FALSE(pod["status"].contains("startTime"));
      for (const Json& cs : pod["status"]["containerStatuses"]) {
        ASSERT_FALSE(cs.contains("volumeMounts"));
        ASSERT_FALSE(cs.contains("containerID"));
      }
    }

    const TrainingRunDecision a = decideTrainingRun(whole);
    const TrainingRunDecision b = decideTrainingRun(reduced);
    EXPECT_EQ(a.status, b.status);
    EXPECT_EQ(a.statusChanged, b.statusChanged);
    EXPECT_EQ(a.events, b.events);
    EXPECT_EQ(a.requeueAfter, b.requeueAfter);
    EXPECT_EQ(a.jobToCreate, b.jobToCreate);
    ASSERT_EQ(a.registerModelVersion.has_value(), b.registerModelVersion.has_value());
    if (a.registerModelVersion) {
      EXPECT_EQ(a.registerModelVersion->labels, b.registerModelVersion->labels);
      EXPECT_EQ(a.registerModelVersion->spec, b.registerModelVersion->spec);
    }
  }
}

TEST(TrainingCacheProjection, KeepsIdentityStatusAndSuspendAndToleratesAnyValue) {
  Json job = {
      {"metadata",
       {{"name", "j"},
        {"uid", "u"},
        {"generation", 2},
        {"annotations", {{"a", "b"}}},
        {"labels",
         {{"mlops.dev/model", "iris"},
          {"app.kubernetes.io/managed-by", "mlops-operator"},
          {"job-name", "j"},
          {"team", "ml"}}}}},
      {"spec", {{"suspend", true}, {"parallelism", 1}, {"template", {{"spec", Json::object()}}}}},
      {"status",
       {{"active", 1},
        {"ready", 1},
        {"conditions", Json::array({{{"type", "Suspended"},
                                     {"status", "True"},
                                     {"lastProbeTime", "t1"},
                                     {"lastTransitionTime", "t2"}},
                                    "odd"})}}}};
  keepWhatTrainingReadsOfJob(job);
  EXPECT_EQ(
      job,
      (Json{
          {"metadata",
           {{"name", "j"},
            {"uid", "u"},
            {"labels",
             {{"mlops.dev/model", "iris"}, {"app.kubernetes.io/managed-by", "mlops-operator"}}}}},
          {"spec", {{"suspend", true}}},
          {"status",
           {{"active", 1},
            {"conditions",
             Json::array({{{"type", "Suspended"}, {"status", "True"}, {"lastTransitionTime", "t2"}},
                          "odd"})}}}}));
  Json pod = {{"metadata", {{"name", "p"}}},
              {"spec", {{"containers", Json::array()}}},
              {"status",
               {{"phase", "Running"},
                {"qosClass", "BestEffort"},
                {"conditions", Json::array()},
                {"newFieldOfAKubelet", "x"},
                {"containerStatuses", Json::array({{{"name", "trainer"},
                                                    {"imageID", "sha256:1"},
                                                    {"state", {{"running", Json::object()}}},
                                                    {"resources", Json::object()},
                                                    {"ready", true}},
                                                   3})}}}};
  keepWhatTrainingReadsOfPod(pod);
  EXPECT_EQ(pod,
            (Json{{"metadata", {{"name", "p"}}},
                  {"status",
                   {{"phase", "Running"},
                    {"containerStatuses", Json::array({{{"name", "trainer"},
                                                        {"imageID", "sha256:1"},
                                                        {"state", {{"running", Json::object()}}}},
                                                       3})}}}}));
  for (Json odd :
       {Json(), Json(3), Json("x"), Json::array({1}), Json{{"spec", 1}}, Json{{"metadata", "x"}},
        Json{{"metadata", {{"labels", "x"}}}}, Json{{"status", "x"}},
        Json{{"status", {{"conditions", "x"}}}}, Json{{"status", {{"containerStatuses", "x"}}}}}) {
    Json copy = odd;
    keepWhatTrainingReadsOfJob(copy);
    keepWhatTrainingReadsOfPod(odd);
  }
}

}  // namespace
}  // namespace mlops::training
