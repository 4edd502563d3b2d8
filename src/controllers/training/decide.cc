#include "controllers/training/decide.h"

#include <algorithm>
#include <set>

#include "controllers/training/effective_inputs.h"
#include "controllers/training/fingerprint.h"
#include "controllers/training/image_digest.h"
#include "controllers/training/names.h"
#include "controllers/training/reproduction.h"
#include "controllers/training/results.h"
#include "controllers/training/training_job.h"
#include "core/json_access.h"
#include "core/utf8.h"
#include "objects/conditions.h"
#include "objects/metadata.h"
#include "objects/phases.h"
#include "objects/timestamps.h"

namespace mlops::training {

using objects::Condition;
using objects::findCondition;
using objects::formatTimestamp;
using objects::parseTimestamp;
using objects::setCondition;

namespace {

using Json = nlohmann::json;

// ---- JSON access that tolerates anything (objects come from the network) ----

int64_t integer(const Json& obj, const char* key) {
  const Json& v = member(obj, key);
  return v.is_number_integer() ? v.get<int64_t>() : 0;
}

std::map<std::string, double> metricsOf(const Json& obj) {
  std::map<std::string, double> out;
  if (!obj.is_object()) {
    return out;
  }
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (it.value().is_number()) {
      out[it.key()] = it.value().get<double>();
    }
  }
  return out;
}

// External text (pod and container messages) quoted in a status message:
// cut at a character boundary, invalid UTF-8 replaced, or the status write
// would fail on every retry.
std::string cut(const std::string& s, size_t max) {
  return truncateUtf8(s, max);
}

// Every message the decision writes (status, conditions, Events) is valid
// UTF-8 and within the CRDs' condition message maxLength (32768), whatever
// external text it quotes.
std::string safeMessage(const std::string& message) {
  constexpr std::string_view kEllipsis = "...";
  return truncateUtf8(message, kMaxMessageBytes - kEllipsis.size(), kEllipsis);
}

// ---- Kubernetes object predicates ----

// The Job condition of `type` whose status is "True", or nullptr.
const Json* trueJobCondition(const Json& job, const char* type) {
  const Json& conditions = member(member(job, "status"), "conditions");
  if (!conditions.is_array()) {
    return nullptr;
  }
  for (const auto& c : conditions) {
    if (stringMember(c, "type") == type && stringMember(c, "status") == "True") {
      return &c;
    }
  }
  return nullptr;
}

bool isJobSuspended(const Json& job) {
  const Json& suspend = member(member(job, "spec"), "suspend");
  return (suspend.is_boolean() && suspend.get<bool>()) ||
         trueJobCondition(job, "Suspended") != nullptr;
}

// Newest first: creationTimestamp (RFC 3339 sorts as text), then name.
std::vector<const Json*> podsOfJob(const std::vector<Json>& pods, const std::string& jobUID) {
  std::vector<const Json*> out;
  for (const auto& p : pods) {
    if (objects::isControlledBy(p, jobUID)) {
      out.push_back(&p);
    }
  }
  std::sort(out.begin(), out.end(), [](const Json* a, const Json* b) {
    const auto ka = std::make_pair(stringMember(member(*a, "metadata"), "creationTimestamp"),
                                   stringMember(member(*a, "metadata"), "name"));
    const auto kb = std::make_pair(stringMember(member(*b, "metadata"), "creationTimestamp"),
                                   stringMember(member(*b, "metadata"), "name"));
    return ka > kb;
  });
  return out;
}

const Json* newestPodInPhase(const std::vector<const Json*>& pods, const char* phase) {
  for (const Json* p : pods) {
    if (stringMember(member(*p, "status"), "phase") == phase) {
      return p;
    }
  }
  return nullptr;
}

const Json* containerStatus(const Json& pod, const std::string& container) {
  const Json& statuses = member(member(pod, "status"), "containerStatuses");
  if (!statuses.is_array()) {
    return nullptr;
  }
  for (const auto& cs : statuses) {
    if (stringMember(cs, "name") == container) {
      return &cs;
    }
  }
  return nullptr;
}

// "pod P container C exited with code N (Reason): message" for the newest
// failed pod, to explain a failed Job.
std::string lastAttemptSummary(const std::vector<const Json*>& pods,
                               const std::string& resultsContainer) {
  const Json* pod = newestPodInPhase(pods, "Failed");
  if (pod == nullptr) {
    return "";
  }
  const std::string podName = stringMember(member(*pod, "metadata"), "name");
  const Json& statuses = member(member(*pod, "status"), "containerStatuses");
  const Json* chosen = nullptr;
  if (statuses.is_array()) {
    for (const auto& cs :
         statuses) {  // the first container that failed, the results container preferred
      const Json& term = member(member(cs, "state"), "terminated");
      if (!term.is_object() || integer(term, "exitCode") == 0) {
        continue;
      }
      if (chosen == nullptr || stringMember(cs, "name") == resultsContainer) {
        chosen = &cs;
      }
    }
  }
  if (chosen == nullptr) {
    const std::string reason = stringMember(member(*pod, "status"), "reason");
    const std::string message = stringMember(member(*pod, "status"), "message");
    if (reason.empty() && message.empty()) {
      return "last attempt: pod " + podName + " failed";
    }
    return "last attempt: pod " + podName + " failed" +
           (reason.empty() ? "" : " (" + reason + ")") +
           (message.empty() ? "" : ": " + cut(message, 256));
  }
  const Json& term = member(member(*chosen, "state"), "terminated");
  std::string out = "last attempt: pod " + podName + " container " + stringMember(*chosen, "name") +
                    " exited with code " + std::to_string(integer(term, "exitCode"));
  if (!stringMember(term, "reason").empty()) {
    out += " (" + stringMember(term, "reason") + ")";
  }
  if (!stringMember(term, "message").empty()) {
    out += ": " + cut(stringMember(term, "message"), 256);
  }
  return out;
}

// ---- The decision under construction ----

struct Builder {
  const TrainingRunInput& in;
  const Json oldStatus;
  Json status;
  int64_t generation;
  std::string now;
  std::string runName;
  TrainingRunDecision decision;

  void phase(const std::string& phase, const std::string& reason, const std::string& message) {
    status["phase"] = phase;
    status["reason"] = reason;
    status["message"] = safeMessage(message);
    if (objects::TrainingRunPhase::isFinished(phase) && !status.contains("completionTime")) {
      status["completionTime"] = now;
    }
  }
  void condition(const std::string& type, const std::string& st, const std::string& reason,
                 const std::string& message) {
    setCondition(status["conditions"], Condition{type, st, reason, safeMessage(message)},
                 generation, now);
  }
  void event(const std::string& type, const std::string& reason, const std::string& message) {
    decision.events.push_back(Event{type, reason, safeMessage(message)});
  }
  void fail(const std::string& reason, const std::string& message, const char* jobComplete) {
    phase("Failed", reason, message);
    if (jobComplete != nullptr) {
      condition("JobComplete", jobComplete, reason, message);
    }
  }
};

bool isReproduction(const Json& run) {
  return !member(member(run, "spec"), "reproduction").is_null();
}

bool shouldRegister(const Json& run) {
  const Json& reg = member(member(run, "spec"), "register");
  return reg.is_boolean() ? reg.get<bool>() : !isReproduction(run);
}

// Records image digests and the fingerprint from `pod` when they cover every
// container of the effective template, or unconditionally when `final`.
void recordImageDigests(Builder& b, const EffectiveInputs& inputs, const Json* pod, bool final) {
  if (pod == nullptr) {
    return;
  }
  const auto digests = imageDigestsOfPod(*pod);
  if (digests.empty()) {
    return;
  }
  const auto names = containerNames(inputs.templateSpec);
  const bool complete = std::all_of(names.begin(), names.end(),
                                    [&](const std::string& n) { return digests.count(n) > 0; });
  if (!complete && !final) {
    return;
  }
  Json d = Json::object();
  for (const auto& [container, digest] : digests) {
    d[container] = digest;
  }
  b.status["imageDigests"] = std::move(d);
  if (auto fp = fingerprint(inputs.fingerprintInputs(digests))) {
    b.status["fingerprint"] = *fp;
  }
}

// The ModelVersion was registered by this run: its UID label names the run's
// UID. One without the label (registered before the label existed) counts
// when its training-run label names the run; VersionRegistry only offers such
// a legacy version when it is younger than the run.
bool isThisRunsVersion(const Json& mv, const Json& run) {
  const Json& labels = member(member(mv, "metadata"), "labels");
  const std::string uid = stringMember(labels, std::string(kLabelTrainingRunUID).c_str());
  if (!uid.empty()) {
    return uid == objects::uidOf(run);
  }
  return stringMember(labels, std::string(kLabelTrainingRun).c_str()) ==
         stringMember(member(run, "metadata"), "name");
}

Json lineageDataset(const EffectiveInputs* inputs, const Json& status) {
  Json dataset =
      inputs != nullptr && inputs->dataset.is_object() ? inputs->dataset : Json::object();
  if (!dataset.contains("digest") && !stringMember(status, "datasetDigest").empty()) {
    dataset["digest"] = stringMember(status, "datasetDigest");
  }
  return dataset;
}

ModelVersionRequest modelVersionRequest(const Builder& b, const EffectiveInputs* inputs) {
  const Json& spec = member(b.in.run, "spec");
  const std::string model = stringMember(spec, "model");
  Json source{{"trainingRun", b.runName}};
  if (const std::string uid = objects::uidOf(b.in.run); !uid.empty()) {
    source["trainingRunUID"] = uid;
  }
  if (!stringMember(b.status, "fingerprint").empty()) {
    source["fingerprint"] = b.status["fingerprint"];
  }
  if (Json dataset = lineageDataset(inputs, b.status); !dataset.empty()) {
    source["dataset"] = std::move(dataset);
  }
  const Json code = inputs != nullptr ? inputs->code : member(spec, "code");
  if (code.is_object() && !code.empty()) {
    source["code"] = code;
  }
  const Json& digests = member(b.status, "imageDigests");
  if (digests.is_object() && !digests.empty()) {
    source["imageDigests"] = digests;
  }

  Json artifact{{"uri", stringMember(member(b.status, "artifact"), "uri")}};
  if (!stringMember(member(b.status, "artifact"), "digest").empty()) {
    artifact["digest"] = b.status["artifact"]["digest"];
  }

  Json mvSpec{
      {"model", model},
      {"artifact", std::move(artifact)},
      {"metrics", member(b.status, "metrics").is_object() ? b.status["metrics"] : Json::object()},
      {"source", std::move(source)},
      {"stage", stringMember(spec, "promotion") == "Automatic" ? "Production" : "None"}};
  if (member(spec, "serving").is_object()) {
    mvSpec["serving"] = spec["serving"];
  }
  Json labels{{std::string(kLabelModel), model},
              {std::string(kLabelTrainingRun), b.runName},
              {std::string(kLabelManagedBy), std::string(kManagedBy)}};
  if (const std::string uid = objects::uidOf(b.in.run); !uid.empty()) {
    labels[std::string(kLabelTrainingRunUID)] = uid;
  }
  return ModelVersionRequest{std::move(labels), std::move(mvSpec)};
}

// Results are recorded and validated: succeed, or register first.
void registerOrSucceed(Builder& b, const EffectiveInputs* inputs) {
  const Json& run = b.in.run;
  if (!shouldRegister(run)) {
    const bool reproduction = isReproduction(run);
    const std::string why = member(member(run, "spec"), "register").is_boolean()
                                ? "spec.register is false"
                                : "a reproduction registers only when spec.register is true";
    b.condition("Registered", "False", "NotRequested", why);
    if (reproduction && member(b.status, "reproduction").contains("verdict")) {
      const std::string verdict = stringMember(b.status["reproduction"], "verdict");
      const Json* c = findCondition(b.status["conditions"], "Reproduced");
      b.phase("Succeeded", verdict, c != nullptr ? stringMember(*c, "message") : verdict);
    } else {
      b.phase("Succeeded", "Completed",
              "training succeeded; no ModelVersion registered (" + why + ")");
    }
    return;
  }
  const Json* mv = b.in.modelVersion ? &*b.in.modelVersion : nullptr;
  if (mv != nullptr && isThisRunsVersion(*mv, b.in.run) &&
      integer(member(*mv, "spec"), "version") >= 1) {
    const std::string name = stringMember(member(*mv, "metadata"), "name");
    const int64_t version = integer(member(*mv, "spec"), "version");
    b.status["modelVersion"] = name;
    b.status["version"] = version;
    const std::string message =
        "registered ModelVersion " + name + " (version " + std::to_string(version) + ")";
    b.condition("Registered", "True", "Registered", message);
    b.phase("Succeeded", "Registered", message);
    return;
  }
  if (const auto& e = b.in.registrationError;
      e && (e->code == ErrorCode::kInvalid || e->code == ErrorCode::kBadRequest)) {
    // Retrying cannot help: the same object would be refused again, and every
    // try would reserve another version number.
    const std::string message = "the API server rejected the ModelVersion of model " +
                                stringMember(member(run, "spec"), "model") + ": " + e->message;
    b.condition("Registered", "False", "RegistrationRejected", message);
    b.fail("RegistrationRejected", message, nullptr);
    return;
  }
  const std::string message =
      "registering a ModelVersion of model " + stringMember(member(run, "spec"), "model");
  b.condition("Registered", "Unknown", "Registering", message);
  b.phase("Running", "Registering", message);
  b.decision.registerModelVersion = modelVersionRequest(b, inputs);
}

// The Job completed: read, check and record the results.
void completeFromPod(Builder& b, const EffectiveInputs& inputs, const Json& pod) {
  const std::string podName = stringMember(member(pod, "metadata"), "name");
  const std::string where = " (pod " + podName + ", container " + inputs.resultsContainer + ")";
  recordImageDigests(b, inputs, &pod, true);

  const Json* cs = containerStatus(pod, inputs.resultsContainer);
  if (cs == nullptr || !member(member(*cs, "state"), "terminated").is_object()) {
    const std::string message = "the succeeded pod " + podName + " has no terminated container \"" +
                                inputs.resultsContainer + "\"";
    b.condition("Validated", "False", "InvalidResults", message);
    b.fail("InvalidResults", message, nullptr);
    return;
  }
  auto results = parseResults(stringMember(member(member(*cs, "state"), "terminated"), "message"));
  if (!results) {
    const std::string message = results.error().message + where;
    b.condition("Validated", "False", "InvalidResults", message);
    b.fail("InvalidResults", message, nullptr);
    return;
  }
  if (!inputs.datasetDigest.empty() && results->datasetDigest &&
      *results->datasetDigest != inputs.datasetDigest) {
    const std::string message = "the trainer reported dataset digest " + *results->datasetDigest +
                                " but MLOPS_DATASET_DIGEST was " + inputs.datasetDigest + where;
    b.condition("Validated", "False", "InvalidResults", message);
    b.fail("InvalidResults", message, nullptr);
    return;
  }

  Json metrics = Json::object();
  for (const auto& [name, value] : results->metrics) {
    metrics[name] = value;
  }
  b.status["metrics"] = std::move(metrics);
  Json artifact{{"uri", results->artifact.uri}};
  if (!results->artifact.digest.empty()) {
    artifact["digest"] = results->artifact.digest;
  }
  b.status["artifact"] = std::move(artifact);
  const std::string datasetDigest =
      !inputs.datasetDigest.empty() ? inputs.datasetDigest : results->datasetDigest.value_or("");
  if (!datasetDigest.empty()) {
    b.status["datasetDigest"] = datasetDigest;
  }

  if (!inputs.reproductionOf.empty() && b.in.original) {
    const Json& originalStatus = member(*b.in.original, "status");
    const auto report = compareReproduction(
        inputs.reproductionOf, metricsOf(member(originalStatus, "metrics")), results->metrics,
        member(member(member(b.in.run, "spec"), "reproduction"), "tolerance"),
        stringMember(originalStatus, "fingerprint"), stringMember(b.status, "fingerprint"));
    b.status["reproduction"] = report.toStatus();
    b.condition("Reproduced", report.reproduced ? "True" : "False", report.verdict(),
                report.message);
    b.event(report.reproduced ? "Normal" : "Warning", report.verdict(), report.message);
  }

  const auto verdict = validateMetrics(member(member(b.in.run, "spec"), "validation"),
                                       results->metrics, b.in.production);
  b.condition("Validated", verdict.passed ? "True" : "False", verdict.reason, verdict.message);
  if (!verdict.passed) {
    b.fail("ValidationFailed", verdict.message, nullptr);
    return;
  }
  registerOrSucceed(b, &inputs);
}

// The newest Warning FailedCreate Event about the Job `jobUID`, or nullptr.
const Json* newestFailedCreate(const std::vector<Json>& events, const std::string& jobUID) {
  const Json* newest = nullptr;
  std::string newestTime;
  for (const auto& e : events) {
    if (stringMember(e, "reason") != "FailedCreate" || stringMember(e, "type") != "Warning" ||
        stringMember(member(e, "involvedObject"), "uid") != jobUID) {
      continue;
    }
    std::string time = stringMember(e, "lastTimestamp");
    if (time.empty()) {
      time = stringMember(e, "eventTime");
    }
    if (time.empty()) {
      time = stringMember(e, "firstTimestamp");
    }
    if (newest == nullptr || time > newestTime) {  // RFC 3339 sorts as text
      newest = &e;
      newestTime = time;
    }
  }
  return newest;
}

// Whether a Job created at `created` is still within kJobEventsGrace at
// `now`. A creation time ahead of `now` (the operator's clock behind the API
// server's) counts as past the grace: waiting for the clocks to agree would
// delay reading the Events by the whole skew.
bool withinJobEventsGrace(const std::optional<std::chrono::system_clock::time_point>& created,
                          std::chrono::system_clock::time_point now) {
  if (!created) {
    return false;
  }
  const auto age = now - *created;
  return age >= std::chrono::system_clock::duration::zero() && age < kJobEventsGrace;
}

bool jobHasNoPod(const Json& job, const std::vector<const Json*>& podsOfTheJob) {
  const Json& js = member(job, "status");
  return podsOfTheJob.empty() && integer(js, "active") == 0 && integer(js, "failed") == 0 &&
         integer(js, "succeeded") == 0 && integer(js, "terminating") == 0;
}

// The Job has created no pod. If its Events say pod creation fails, surface
// that, and fail the run once the bound has passed. Returns true when it
// decided the phase.
bool podCreationFailing(Builder& b, const Json& job) {
  const std::string jobName = stringMember(member(job, "metadata"), "name");
  const Json* failure = newestFailedCreate(b.in.jobEvents, objects::uidOf(job));
  const auto created = parseTimestamp(stringMember(member(job, "metadata"), "creationTimestamp"));
  const auto timeout = b.in.options.podCreationTimeout;
  const std::chrono::system_clock::duration remaining =
      created ? *created + timeout - b.in.now : std::chrono::system_clock::duration(timeout);
  // Poll the Events (they are not watched) until a pod appears, and come
  // back right after the bound.
  const auto untilBound =
      std::chrono::duration_cast<std::chrono::seconds>(remaining) + std::chrono::seconds(1);
  b.decision.requeueAfter = remaining > std::chrono::seconds(0)
                                ? std::min<std::chrono::seconds>(untilBound, kPollJobEvents)
                                : kPollJobEvents;
  // A Job younger than the grace had its Events left unread: come back when
  // they would be read (its pod's watch event usually comes first).
  if (withinJobEventsGrace(created, b.in.now)) {
    b.decision.requeueAfter =
        std::chrono::ceil<std::chrono::seconds>(*created + kJobEventsGrace - b.in.now);
  }
  if (failure == nullptr) {
    return false;
  }
  const std::string eventMessage = cut(stringMember(*failure, "message"), 1024);
  b.condition("PodsCreated", "False", "FailedCreate", eventMessage);
  if (created && remaining <= std::chrono::seconds(0)) {
    b.decision.requeueAfter.reset();
    b.fail("PodCreationFailed",
           "Job " + jobName + " created no pod in " + std::to_string(timeout.count()) +
               "s: FailedCreate: " + eventMessage,
           "False");
    return true;
  }
  std::string message = "Job " + jobName + " cannot create its pod (FailedCreate): " + eventMessage;
  if (created) {
    message +=
        "; the run fails at " + formatTimestamp(*created + timeout) + " if no pod is created";
  }
  b.condition("JobComplete", "Unknown", "PodCreationFailing", message);
  b.phase("Running", "PodCreationFailing", message);
  return true;
}

// The Job exists and is this run's: follow it.
void observeJob(Builder& b, const EffectiveInputs& inputs, const Json& job) {
  const std::string jobName = stringMember(member(job, "metadata"), "name");
  const std::string jobUID = objects::uidOf(job);
  const auto pods = podsOfJob(b.in.pods, jobUID);
  const Json& js = member(job, "status");
  const int64_t counted = integer(js, "active") + integer(js, "failed") + integer(js, "succeeded");
  const int64_t attempts =
      std::max({static_cast<int64_t>(pods.size()), counted, integer(b.oldStatus, "attempts")});
  b.status["attempts"] = attempts;
  if (!b.status.contains("startTime") && !stringMember(js, "startTime").empty()) {
    b.status["startTime"] = js["startTime"];
  }

  if (const Json* failed = trueJobCondition(job, "Failed")) {
    const std::string reason =
        stringMember(*failed, "reason").empty() ? "JobFailed" : stringMember(*failed, "reason");
    std::string message = "Job " + jobName + " failed";
    if (!stringMember(*failed, "message").empty()) {
      message += ": " + stringMember(*failed, "message");
    }
    if (const std::string last = lastAttemptSummary(pods, inputs.resultsContainer); !last.empty()) {
      message += "; " + last;
    }
    recordImageDigests(b, inputs, pods.empty() ? nullptr : pods.front(), true);
    b.fail(reason, message, "False");
    return;
  }
  if (const Json* complete = trueJobCondition(job, "Complete")) {
    b.condition("JobComplete", "True", "JobComplete", "Job " + jobName + " completed");
    if (const Json* pod = newestPodInPhase(pods, "Succeeded")) {
      completeFromPod(b, inputs, *pod);
      return;
    }
    std::string completedAt = stringMember(js, "completionTime");
    if (completedAt.empty()) {
      completedAt = stringMember(*complete, "lastTransitionTime");
    }
    const auto completed = parseTimestamp(completedAt);
    if (completed && b.in.now - *completed < kSucceededPodGrace) {
      b.phase("Running", "ReadingResults",
              "Job " + jobName + " completed; waiting to see its succeeded pod");
      b.decision.requeueAfter = kWaitForSucceededPod;
      return;
    }
    const std::string message =
        "Job " + jobName +
        " completed but its succeeded pod is gone, so its results cannot be read";
    b.condition("Validated", "False", "InvalidResults", message);
    b.fail("InvalidResults", message, nullptr);
    return;
  }

  recordImageDigests(b, inputs, pods.empty() ? nullptr : pods.front(), false);
  if (isJobSuspended(job)) {
    const std::string message = "Job " + jobName + " is suspended (queued)";
    b.condition("JobComplete", "Unknown", "JobSuspended", message);
    b.phase("Pending", "JobSuspended", message);
    return;
  }
  if (jobHasNoPod(job, pods)) {
    if (podCreationFailing(b, job)) {
      return;
    }
  } else if (findCondition(b.status["conditions"], "PodsCreated") != nullptr) {
    b.condition("PodsCreated", "True", "PodCreated", "Job " + jobName + " created a pod");
  }
  const std::string message = "Job " + jobName + " is running (attempt " +
                              std::to_string(std::max<int64_t>(attempts, 1)) + ")";
  b.condition("JobComplete", "Unknown", "JobRunning", message);
  b.phase("Running", "JobRunning", message);
}

// Before the Job is created, or when its creation failed.
void createJob(Builder& b, const EffectiveInputs& inputs) {
  const std::string jobName = b.runName;
  if (b.in.jobCreateError) {
    const Error& e = *b.in.jobCreateError;
    if (e.code == ErrorCode::kAlreadyExists) {  // the cache has not seen it yet
      b.decision.requeueAfter = kWaitForCache;
      return;
    }
    if (e.code == ErrorCode::kInvalid || e.code == ErrorCode::kBadRequest) {
      const std::string message = "the API server rejected Job " + jobName + ": " + e.message;
      b.fail("JobRejected", message, "False");
      return;
    }
    const std::string message = "creating Job " + jobName + " failed, will retry: " + e.toString();
    b.condition("JobComplete", "Unknown", "JobCreateFailed", message);
    b.phase("Pending", "JobCreateFailed", message);
    b.decision.requeueAfter = kRetryJobCreate;
    return;
  }
  const std::string message = "creating Job " + jobName;
  b.condition("JobComplete", "Unknown", "JobNotCreated", message);
  b.phase("Pending", "CreatingJob", message);
  b.decision.jobToCreate = renderJob(b.in.run, inputs);
}

// Reasons whose phase transition is not worth an Event (routine or brief).
bool isQuietReason(const std::string& reason) {
  return reason == "CreatingJob" || reason == "JobRunning" || reason == "Registering" ||
         reason == "ReadingResults";
}

bool isWarningReason(const std::string& reason) {
  return reason == "OriginalNotFound" || reason == "JobNameTaken" || reason == "JobCreateFailed" ||
         reason == "NotReproduced" || reason == "PodCreationFailing";
}

TrainingRunDecision finish(Builder& b) {
  const std::string phase = stringMember(b.status, "phase");
  const std::string reason = stringMember(b.status, "reason");
  const std::string message = stringMember(b.status, "message");
  b.condition("Ready", phase == "Succeeded" ? "True" : "False", reason.empty() ? "Unknown" : reason,
              message);

  // No Event for creating the Job: status (jobName, the JobComplete
  // condition) and the Job's own Events say it, and one Event per run was a
  // tenth of the API server's writes for a run at N=10000 (README,
  // Performance).
  auto& events = b.decision.events;
  const bool transitioned =
      phase != stringMember(b.oldStatus, "phase") || reason != stringMember(b.oldStatus, "reason");
  if (transitioned && !reason.empty() && !isQuietReason(reason)) {
    events.push_back(Event{phase == "Failed" || isWarningReason(reason) ? "Warning" : "Normal",
                           reason, message});
  }
  std::vector<Event> unique;
  std::set<std::pair<std::string, std::string>> seen;
  for (auto& e : events) {
    if (seen.insert({e.type, e.reason}).second) {
      unique.push_back(std::move(e));
    }
  }
  events = std::move(unique);

  b.decision.status = std::move(b.status);
  b.decision.statusChanged = b.decision.status != b.oldStatus;
  return std::move(b.decision);
}

}  // namespace

bool jobNeedsEvents(const TrainingRunInput& in) {
  const Json& status = member(in.run, "status");
  const std::string recorded = stringMember(status, "jobUID");
  if (objects::TrainingRunPhase::isFinished(stringMember(status, "phase")) || recorded.empty() ||
      !in.job || objects::uidOf(*in.job) != recorded ||
      !stringMember(member(status, "artifact"), "uri").empty()) {
    return false;
  }
  const Json& job = *in.job;
  if (isJobSuspended(job) || trueJobCondition(job, "Failed") != nullptr ||
      trueJobCondition(job, "Complete") != nullptr) {
    return false;
  }
  if (!jobHasNoPod(job, podsOfJob(in.pods, recorded))) {
    return false;
  }
  const auto created = parseTimestamp(stringMember(member(job, "metadata"), "creationTimestamp"));
  return !withinJobEventsGrace(created, in.now);
}

TrainingRunDecision decideTrainingRun(const TrainingRunInput& in) {
  const Json& run = in.run;
  const Json oldStatus = member(run, "status").is_object() ? run["status"] : Json::object();
  if (objects::TrainingRunPhase::isFinished(stringMember(oldStatus, "phase"))) {
    TrainingRunDecision unchanged;
    unchanged.status = oldStatus;
    return unchanged;
  }
  Builder b{in,
            oldStatus,
            oldStatus,
            integer(member(run, "metadata"), "generation"),
            formatTimestamp(in.now),
            stringMember(member(run, "metadata"), "name"),
            {}};
  b.status["observedGeneration"] = b.generation;

  auto inputs = resolveInputs(run, in.original, in.options.artifactRoot);
  const std::string recordedJobUID = stringMember(oldStatus, "jobUID");

  // Results already read and validated: only registration is left, and the
  // Job no longer matters.
  if (!stringMember(member(oldStatus, "artifact"), "uri").empty()) {
    registerOrSucceed(b, inputs ? &*inputs : nullptr);
    return finish(b);
  }

  if (!inputs) {
    const Error& e = inputs.error();
    if (!recordedJobUID.empty() && e.reason == "OriginalNotFound") {
      b.fail("OriginalLost",
             "the TrainingRun being reproduced was deleted while this run was in progress: " +
                 e.message,
             "False");
    } else if (e.transient() && recordedJobUID.empty()) {
      b.condition("JobComplete", "Unknown", "JobNotCreated", e.message);
      b.phase("Pending", e.reason, e.message);
      b.decision.requeueAfter = kWaitForOriginal;
    } else {
      b.fail(e.reason, e.message, "False");
    }
    return finish(b);
  }

  b.status["seed"] = inputs->seed;
  b.status["artifactURI"] = inputs->artifactURI;
  b.status["jobName"] = b.runName;
  if (!inputs->reproductionOf.empty() && !member(b.status, "reproduction").is_object()) {
    b.status["reproduction"] = Json{{"of", inputs->reproductionOf}};
  }

  const std::string runUID = objects::uidOf(run);
  const Json* job = in.job ? &*in.job : nullptr;
  if (recordedJobUID.empty()) {
    if (job == nullptr) {
      createJob(b, *inputs);
      return finish(b);
    }
    if (!objects::isControlledBy(*job, runUID)) {
      const std::string message =
          "a Job named " + b.runName +
          " exists and is not controlled by this TrainingRun; waiting for it to be deleted";
      b.condition("JobComplete", "Unknown", "JobNotCreated", message);
      b.phase("Pending", "JobNameTaken", message);
      b.decision.requeueAfter = kWaitForJobName;
      return finish(b);
    }
    b.status["jobUID"] = objects::uidOf(*job);
  } else if (job == nullptr || objects::uidOf(*job) != recordedJobUID) {
    const std::string message =
        job == nullptr
            ? "Job " + b.runName + " (uid " + recordedJobUID +
                  ") was deleted before its results were read"
            : "Job " + b.runName + " (uid " + recordedJobUID +
                  ") was replaced by another Job of the same name before its results were read";
    b.fail("JobLost", message, "False");
    return finish(b);
  }
  observeJob(b, *inputs, *job);
  return finish(b);
}

}  // namespace mlops::training
