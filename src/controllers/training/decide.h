// The TrainingRun decision: a pure function from what the controller
// gathered to what it should write.
//
// The controller (gather, decide, act):
//   1. gathers a TrainingRunInput (cache reads; see each field for the few
//      that must come from the API server),
//   2. calls decideTrainingRun(),
//   3. acts: creates `jobToCreate` if set; creates a ModelVersion from
//      `registerModelVersion` if set (allocating its number; DESIGN.md
//      "Registration, exactly once"); writes `status` with the status
//      subresource only when `statusChanged`; emits `events` after a
//      successful status write; requeues after `requeueAfter` if set.
//      After creating the Job or the ModelVersion it decides again with the
//      created object in the input, so that the UID / version is recorded.
//
// Phases (status.phase) and their reasons (status.reason):
//
//   (new)
//     │
//     ▼
//   Pending ──────── Job seen, UID recorded ──────▶ Running
//   CreatingJob                                     JobRunning, PodCreationFailing
//   WaitingForOriginal, OriginalNotFound            ReadingResults
//   JobNameTaken, JobCreateFailed   ◀── suspended ─ │
//   JobSuspended                    ── resumed ───▶ │ Job complete, results valid, gates pass
//     │                                             ├───────────────────────────┐
//     │                                             │ registers                 │ register=false
//     │                                             ▼                           │
//     │                                           Running/Registering           │
//     │                                             │ ModelVersion found        │
//     │                                             ▼                           ▼
//     │                                           Succeeded/Registered    Succeeded/Completed
//     │                                                                   (a reproduction:
//     │                                                                    Reproduced or
//     │                                                                    NotReproduced)
//     │ InvalidSpec, OriginalNotReproducible, JobRejected
//     ▼
//   Failed ◀── from Running: JobLost, OriginalLost, BackoffLimitExceeded,
//              DeadlineExceeded (the Job's own Failed reason; JobFailed if
//              none), InvalidResults, ValidationFailed, RegistrationRejected,
//              PodCreationFailed
//
// Succeeded and Failed are terminal.
//
// Rules:
// - Terminal runs (Succeeded, Failed) are never re-decided: the decision
//   returns the status unchanged and nothing else.
// - The Job is created once. Its UID is recorded; if status.jobUID is set and
//   the Job is gone (or replaced by another Job of the same name) before the
//   results were read, the run fails with JobLost.
// - Succeeded is written only together with status.modelVersion/version when
//   the run registers; until the ModelVersion exists the run stays Running,
//   reason Registering, Registered=Unknown.
// - A failed gate ends Failed/ValidationFailed with Validated=False naming
//   the gate, value and bound; metrics and artifact are still recorded.
// - A Job with no pod whose Events say FailedCreate: Running/
//   PodCreationFailing with PodsCreated=False (reason FailedCreate, the
//   Event's message); once options.podCreationTimeout has passed since the
//   Job was created without any pod, Failed/PodCreationFailed.
// - RegistrationRejected: the API server refused the ModelVersion with 422
//   (or 400); retrying would be refused again.
// - Re-deciding an unchanged situation returns an identical status
//   (statusChanged == false) and no events; condition lastTransitionTime
//   moves only when a condition's status changes.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controllers/training/validation.h"
#include "core/result.h"

namespace mlops::training {

// How long a Job may go without creating any pod, while its Events say pod
// creation fails (FailedCreate: a missing ServiceAccount, a quota, an
// admission webhook), before the run fails with PodCreationFailed.
inline constexpr std::chrono::seconds kDefaultPodCreationTimeout{300};

struct TrainingRunOptions {
  std::string artifactRoot = "s3://mlops-artifacts";  // --artifact-root
  // Measured from the Job's creationTimestamp.
  std::chrono::seconds podCreationTimeout = kDefaultPodCreationTimeout;
};

struct TrainingRunInput {
  // The TrainingRun (metadata, spec, status) as read.
  nlohmann::json run;
  // The Job named after the run, if it exists. When status.jobUID is set and
  // the cache has no such Job, the controller must confirm with a GET on the
  // API server before passing nullopt: nullopt then means "lost" (JobLost).
  std::optional<nlohmann::json> job;
  // Pods labelled mlops.dev/training-run=<run>; only those whose controller
  // ownerReference is the Job are used.
  std::vector<nlohmann::json> pods;
  // core/v1 Events about the Job (involvedObject.uid = the Job's UID), read
  // only while the Job has no pod at all (see jobNeedsEvents()); only
  // Warning FailedCreate Events of this Job are used.
  std::vector<nlohmann::json> jobEvents;
  // Reproduction only: the TrainingRun named spec.reproduction.of, or
  // nullopt when it does not exist. Ignored for ordinary runs.
  std::optional<nlohmann::json> original;
  // For validation.compareToProduction: the metrics of the model's version in
  // production, nullopt when none is. Only needed when the run is complete.
  std::optional<ProductionMetrics> production;
  // The ModelVersion this run registered (labelled
  // mlops.dev/training-run-uid=<run UID>), looked up on the API server (not
  // the cache), or nullopt. One labelled for another UID (an earlier run of
  // the same name) is never taken as this run's.
  std::optional<nlohmann::json> modelVersion;
  // The error of the controller's last attempt to register: Invalid (422) or
  // BadRequest → Failed/RegistrationRejected with the server's message (the
  // same object would be refused again); others are retried by the
  // controller and not passed here.
  std::optional<Error> registrationError;
  // The error of the controller's last attempt to create `jobToCreate`, if it
  // failed: Invalid/BadRequest → Failed/JobRejected; AlreadyExists → wait for
  // the cache; anything else → Pending/JobCreateFailed and retry.
  std::optional<Error> jobCreateError;
  // Wall-clock time, for timestamps.
  std::chrono::system_clock::time_point now;
  TrainingRunOptions options;
};

struct Event {
  std::string type;  // "Normal" or "Warning"
  std::string reason;
  std::string message;
  bool operator==(const Event&) const = default;
};

// What to create when the run registers. The controller allocates the
// version number, sets spec.version and names the object <model>-v<version>.
struct ModelVersionRequest {
  // mlops.dev/model, mlops.dev/training-run, mlops.dev/training-run-uid,
  // managed-by
  nlohmann::json labels;
  // model, artifact, metrics, source {trainingRun, trainingRunUID,
  // fingerprint, dataset, code, imageDigests}, serving (copied from the run), stage (Production
  // when spec.promotion is Automatic, else None). Empty members are omitted.
  nlohmann::json spec;
};

struct TrainingRunDecision {
  std::optional<nlohmann::json> jobToCreate;  // the rendered batch/v1 Job
  nlohmann::json status;                      // the complete new status
  bool statusChanged = false;                 // status differs from run.status
  std::vector<Event> events;                  // one per transition
  std::optional<ModelVersionRequest> registerModelVersion;
  std::optional<std::chrono::seconds> requeueAfter;
};

// The most bytes of a status, condition or Event message (the CRDs' condition
// message maxLength); longer ones are cut at a character boundary.
inline constexpr size_t kMaxMessageBytes = 32768;

// Whether the controller should read the Job's Events for `input`: the run
// follows a Job (status.jobUID recorded) that is neither finished nor
// suspended, has no pod (none in input.pods, none counted in its status), and
// was created at least kJobEventsGrace before input.now (or, by a clock
// behind the API server's, after it).
bool jobNeedsEvents(const TrainingRunInput& input);

// Requeue hints.
inline constexpr std::chrono::seconds kWaitForOriginal{30};
inline constexpr std::chrono::seconds kWaitForJobName{15};
inline constexpr std::chrono::seconds kRetryJobCreate{30};
inline constexpr std::chrono::seconds kWaitForCache{2};
inline constexpr std::chrono::seconds kWaitForSucceededPod{5};
// While a Job has no pod: how often the run looks again (its Events are
// watched; this bounds how late a missed one is seen).
inline constexpr std::chrono::seconds kPollJobEvents{15};
// A Job's Events are read only once it has gone this long without a pod: the
// Job controller creates it within milliseconds, and its watch event wakes
// the run anyway. Reading them sooner cost a LIST per run for nothing
// (make bench: 3 GETs per run at N=1000).
inline constexpr std::chrono::seconds kJobEventsGrace{3};
// How long after the Job completed its succeeded pod may still be missing
// from the input (informer lag) before the results count as lost.
inline constexpr std::chrono::seconds kSucceededPodGrace{60};

TrainingRunDecision decideTrainingRun(const TrainingRunInput& input);

}  // namespace mlops::training
