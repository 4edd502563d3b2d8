// Objects shaped like the API server's, for the training controller's tests.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "controllers/training/decide.h"
#include "objects/timestamps.h"

namespace mlops::training::testing {

using Json = nlohmann::json;

// The decision tests' wall clock.
inline const std::chrono::system_clock::time_point kNow =
    *objects::parseTimestamp("2024-05-01T12:10:30Z");

inline const std::string kRunUID = "d7a9c1e0-5a4b-4c61-9f2e-0b8f3a6e1c42";
inline const std::string kJobUID = "0b5f0c2e-0000-4000-8000-00000000j0b1";
inline const std::string kImageHex =
    "1111111111111111111111111111111111111111111111111111111111111111";
inline const std::string kImageDigest = "sha256:" + kImageHex;
inline const std::string kArtifactDigest = "sha256:" + std::string(64, 'a');
inline const std::string kDatasetDigest = "sha256:" + std::string(64, 'd');

// A TrainingRun like crds/samples/trainingrun.yaml, without status.
inline Json sampleRun() {
  return Json::parse(R"json({
    "apiVersion": "mlops.dev/v1alpha1", "kind": "TrainingRun",
    "metadata": {"name": "iris-run-1", "namespace": "team-a", "uid": "d7a9c1e0-5a4b-4c61-9f2e-0b8f3a6e1c42",
                 "generation": 1, "creationTimestamp": "2024-05-01T12:00:00Z"},
    "spec": {
      "model": "iris",
      "template": {
        "metadata": {"labels": {"team": "data-science", "mlops.dev/model": "spoofed"},
                     "annotations": {"test.mlops.dev/results": "{}"}},
        "spec": {"containers": [
          {"name": "trainer", "image": "registry.example.com/ml/iris-trainer:1.4.0",
           "args": ["--model-dir", "$(MLOPS_ARTIFACT_URI)"],
           "env": [{"name": "MLOPS_SEED", "value": "user-set"}, {"name": "EXTRA", "value": "kept"}]},
          {"name": "sidecar", "image": "busybox:1.36"}]}
      },
      "resultsContainer": "trainer",
      "dataset": {"uri": "s3://datasets/iris/2024-05", "version": "2024-05"},
      "code": {"repository": "https://git.example.com/ml/iris", "revision": "3f9c2a1d"},
      "hyperparameters": {"n_estimators": "200", "max_depth": "5"},
      "seed": 42,
      "validation": {"gates": [{"metric": "accuracy", "op": ">=", "value": 0.9}]},
      "serving": {"template": {"spec": {"containers": [{"name": "server", "image": "srv:1"}]}}},
      "promotion": "Manual",
      "backoffLimit": 2,
      "activeDeadlineSeconds": 3600
    }
  })json");
}

// A reproduction of `of`, with its own template.metadata.
inline Json reproductionRun(const std::string& of) {
  Json run = sampleRun();
  run["metadata"]["name"] = "iris-repro-1";
  run["metadata"]["uid"] = "5e3c0a9b-1111-4222-8333-444455556666";
  Json spec{{"model", "iris"},
            {"template", {{"metadata", {{"labels", {{"purpose", "reproduce"}}}}}}},
            {"reproduction", {{"of", of}, {"tolerance", {{"accuracy", 0.02}}}}}};
  run["spec"] = spec;
  return run;
}

// sampleRun() after it succeeded and registered.
inline Json succeededOriginal() {
  Json run = sampleRun();
  run["status"] = Json::parse(R"({
    "phase": "Succeeded", "reason": "Registered", "seed": 42,
    "metrics": {"accuracy": 0.95, "f1": 0.9},
    "datasetDigest": "sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd",
    "fingerprint": "v1:original",
    "imageDigests": {"trainer": "sha256:2222222222222222222222222222222222222222222222222222222222222222",
                     "sidecar": "sha256:3333333333333333333333333333333333333333333333333333333333333333"}
  })");
  return run;
}

inline Json jobOf(const Json& run, const std::string& uid = kJobUID) {
  return Json{{"apiVersion", "batch/v1"},
              {"kind", "Job"},
              {"metadata",
               {{"name", run["metadata"]["name"]},
                {"namespace", run["metadata"]["namespace"]},
                {"uid", uid},
                {"ownerReferences",
                 {{{"apiVersion", "mlops.dev/v1alpha1"},
                   {"kind", "TrainingRun"},
                   {"name", run["metadata"]["name"]},
                   {"uid", run["metadata"]["uid"]},
                   {"controller", true}}}}}},
              {"spec", {{"backoffLimit", 1}}},
              {"status", {{"startTime", "2024-05-01T12:00:05Z"}, {"active", 1}}}};
}

inline Json withJobCondition(Json job, const std::string& type, const std::string& reason = "",
                             const std::string& message = "") {
  Json c{{"type", type}, {"status", "True"}, {"lastTransitionTime", "2024-05-01T12:10:00Z"}};
  if (!reason.empty()) c["reason"] = reason;
  if (!message.empty()) c["message"] = message;
  job["status"]["conditions"].push_back(c);
  job["status"]["active"] = 0;
  if (type == "Complete") {
    job["status"]["succeeded"] = 1;
    job["status"]["completionTime"] = "2024-05-01T12:10:00Z";
  }
  if (type == "Failed") job["status"]["failed"] = 2;
  return job;
}

// A pod of `job`. `results` becomes the trainer's termination message when
// the pod has finished.
inline Json podOf(const Json& job, const std::string& name, const std::string& phase,
                  const std::string& created, const std::string& results = "", int exitCode = 0) {
  Json trainer{{"name", "trainer"},
               {"image", "registry.example.com/ml/iris-trainer:1.4.0"},
               {"imageID", "registry.example.com/ml/iris-trainer:1.4.0@" + kImageDigest}};
  Json sidecar{{"name", "sidecar"},
               {"image", "busybox:1.36"},
               {"imageID", "docker.io/library/busybox@" + kImageDigest}};
  if (phase == "Running" || phase == "Pending") {
    trainer["state"] = {{"running", {{"startedAt", created}}}};
  } else {
    trainer["state"] = {{"terminated",
                         {{"exitCode", exitCode},
                          {"reason", exitCode == 0 ? "Completed" : "Error"},
                          {"message", results}}}};
  }
  if (phase == "Pending") {
    trainer.erase("imageID");
    sidecar.erase("imageID");
  }
  return Json{{"metadata",
               {{"name", name},
                {"namespace", job["metadata"]["namespace"]},
                {"creationTimestamp", created},
                {"ownerReferences",
                 {{{"apiVersion", "batch/v1"},
                   {"kind", "Job"},
                   {"name", job["metadata"]["name"]},
                   {"uid", job["metadata"]["uid"]},
                   {"controller", true}}}}}},
              {"status", {{"phase", phase}, {"containerStatuses", {trainer, sidecar}}}}};
}

inline std::string resultsJSON(double accuracy, const std::string& extra = "") {
  return R"({"metrics": {"accuracy": )" + std::to_string(accuracy) +
         R"(}, "artifact": {"uri": "s3://mlops-artifacts/team-a/iris/iris-run-1-d7a9c1e0/model.pkl", "digest": ")" +
         kArtifactDigest + "\"}" + extra + "}";
}

// The decision's input for `run` at kNow, with the default artifact root.
inline TrainingRunInput inputFor(const Json& run) {
  TrainingRunInput in;
  in.run = run;
  in.now = kNow;
  in.options.artifactRoot = "s3://mlops-artifacts";
  return in;
}

}  // namespace mlops::training::testing
