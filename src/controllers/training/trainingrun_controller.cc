#include "controllers/training/trainingrun_controller.h"

#include <utility>
#include <vector>

#include "controllers/training/cache_projection.h"
#include "controllers/training/names.h"
#include "core/json_access.h"
#include "core/utf8.h"
#include "kube/protobuf_objects.h"
#include "objects/phases.h"
#include "runtime/indexer.h"
#include "runtime/object.h"
#include "runtime/status_write.h"

namespace mlops::training {
namespace {

using Json = nlohmann::json;
using runtime::ReconcileResult;
using runtime::Request;

bool isFinished(const Json& run) {
  return objects::TrainingRunPhase::isFinished(stringMember(member(run, "status"), "phase"));
}

runtime::EventType eventTypeOf(const std::string& type) {
  return type == "Warning" ? runtime::EventType::kWarning : runtime::EventType::kNormal;
}

// A cache read that treats NotFound as "absent".
Result<std::optional<Json>> optionalGet(kube::Reader& reader, const kube::Resource& r,
                                        const std::string& ns, const std::string& name) {
  auto obj = reader.get(r, ns, name);
  if (obj) {
    return std::optional<Json>(std::move(*obj));
  }
  if (obj.error().code == ErrorCode::kNotFound) {
    return std::optional<Json>();
  }
  return obj.error();
}

}  // namespace

Status addTrainingRunIndexes(TrainingRunInformers& informers) {
  const std::pair<runtime::Informer*, std::pair<const char*, runtime::IndexDefinition>> indexes[] =
      {
          {&informers.pods,
           {kPodsByTrainingRun, runtime::indexByLabel(std::string(kLabelTrainingRun))}},
          {&informers.modelVersions, {kModelVersionsByModel, runtime::indexByField("/spec/model")}},
          {&informers.runs,
           {kRunsByReproductionOf, runtime::indexByField("/spec/reproduction/of")}},
          {&informers.jobEvents,
           {kEventsByInvolvedUID, runtime::indexByField("/involvedObject/uid")}},
      };
  for (const auto& [informer, index] : indexes) {
    if (auto st = informer->addIndex(index.first, index.second); !st) {
      return st;
    }
  }
  return okStatus();
}

void watchTrainingRunSources(runtime::Controller& controller, TrainingRunInformers& informers) {
  runtime::Informer* runs = &informers.runs;
  // The run itself, and the reproductions waiting for it to finish.
  controller.watch(informers.runs, [runs](const Json& obj) {
    const std::string ns = runtime::namespaceOf(obj);
    const std::string name = runtime::nameOf(obj);
    std::vector<Request> requests{Request{ns, name}};
    auto dependents = runs->indexer().byIndex(kRunsByReproductionOf, runtime::makeKey(ns, name));
    if (dependents) {
      for (const auto& dependent : *dependents) {
        requests.push_back(Request{ns, runtime::nameOf(*dependent)});
      }
    }
    return requests;
  });
  controller.watch(informers.jobs,
                   runtime::requestForOwner("mlops.dev", std::string(kTrainingRunKind)));
  controller.watch(informers.pods, [](const Json& obj) -> std::vector<Request> {
    const std::string run =
        stringMember(runtime::labelsOf(obj), std::string(kLabelTrainingRun).c_str());
    if (run.empty()) {
      return {};
    }
    return {Request{runtime::namespaceOf(obj), run}};
  });
  // A Job is named after its run: its FailedCreate wakes the run at once.
  controller.watch(informers.jobEvents, [](const Json& event) -> std::vector<Request> {
    const std::string job = stringMember(member(event, "involvedObject"), "name");
    if (job.empty()) {
      return {};
    }
    return {Request{runtime::namespaceOf(event), job}};
  });
}

TrainingRunReconciler::TrainingRunReconciler(runtime::IndexedReader& cache, kube::Client& api,
                                             runtime::EventRecorder& events,
                                             TrainingRunOptions options, const Clock& clock,
                                             runtime::Logger logger)
    : cache_(cache),
      api_(api),
      events_(events),
      options_(std::move(options)),
      clock_(clock),
      log_(std::move(logger)),
      registry_(api, log_.withName("registry")) {}

Result<std::optional<Json>> TrainingRunReconciler::liveJob(const std::string& ns,
                                                           const std::string& name) {
  return optionalGet(api_, kube::resources::kJobs, ns, name);
}

Result<std::optional<Json>> TrainingRunReconciler::gatherJob(const Json& run) {
  const std::string ns = runtime::namespaceOf(run);
  const std::string name = runtime::nameOf(run);
  auto job = optionalGet(cache_, kube::resources::kJobs, ns, name);
  if (!job) {
    return job.error();
  }
  const std::string recordedUID = stringMember(member(run, "status"), "jobUID");
  if (recordedUID.empty() || (*job && runtime::uidOf(**job) == recordedUID)) {
    return job;
  }
  // The Job the run recorded is not in the cache: the cache may lag (the UID
  // was recorded from a create response), so only the API server can say it
  // is gone.
  return liveJob(ns, name);
}

std::vector<Json> TrainingRunReconciler::jobEvents(const std::string& ns,
                                                   const std::string& jobUID) {
  auto events = cache_.byIndex(kube::resources::kEvents, kEventsByInvolvedUID,
                               runtime::makeKey(ns, jobUID), "", kJobFailedCreateEvents);
  if (!events) {
    // Without them the run only cannot say why the Job has no pod yet.
    log_.warn("cannot read the Job's events",
              {{"namespace", ns}, {"jobUID", jobUID}, {"error", events.error().toString()}});
    return {};
  }
  std::vector<Json> out;
  for (const auto& e : *events) {
    if (stringMember(member(e, "involvedObject"), "uid") == jobUID) {
      out.push_back(e);
    }
  }
  return out;
}

std::optional<ProductionMetrics> TrainingRunReconciler::productionMetrics(
    const std::string& ns, const std::string& model) {
  auto versions = cache_.byIndex(kube::resources::kModelVersions, kModelVersionsByModel,
                                 runtime::makeKey(ns, model));
  if (!versions) {
    log_.warn("cannot read ModelVersions from the cache", {{"error", versions.error().toString()}});
    return std::nullopt;
  }
  const Json* production = nullptr;
  int64_t productionVersion = 0;
  for (const auto& mv : *versions) {
    if (stringMember(member(mv, "status"), "phase") != objects::ModelVersionPhase::kProduction) {
      continue;
    }
    const Json& v = member(member(mv, "spec"), "version");
    const int64_t version = v.is_number_integer() ? v.get<int64_t>() : 0;
    if (production == nullptr || version > productionVersion) {
      production = &mv;
      productionVersion = version;
    }
  }
  if (production == nullptr) {
    return std::nullopt;
  }
  ProductionMetrics out;
  out.modelVersion = runtime::nameOf(*production);
  const Json& metrics = member(member(*production, "spec"), "metrics");
  if (metrics.is_object()) {
    for (auto it = metrics.begin(); it != metrics.end(); ++it) {
      if (it.value().is_number()) {
        out.metrics[it.key()] = it.value().get<double>();
      }
    }
  }
  return out;
}

Result<TrainingRunInput> TrainingRunReconciler::gather(const Json& run) {
  const std::string ns = runtime::namespaceOf(run);
  const std::string name = runtime::nameOf(run);
  const Json& spec = member(run, "spec");

  TrainingRunInput in;
  in.run = run;
  in.now = clock_.wallNow();
  in.options = options_;

  auto job = gatherJob(run);
  if (!job) {
    return job.error();
  }
  in.job = std::move(*job);

  // With the selection the pods informer was wired with: other controllers
  // may cache other Pods.
  auto pods = cache_.byIndex(kube::resources::kPods, kPodsByTrainingRun, runtime::makeKey(ns, name),
                             kTrainingPodSelector);
  if (!pods) {
    return pods.error();
  }
  in.pods = std::move(*pods);

  if (jobNeedsEvents(in)) {
    in.jobEvents = jobEvents(ns, runtime::uidOf(*in.job));
  }

  if (const std::string of = stringMember(member(spec, "reproduction"), "of"); !of.empty()) {
    auto original = optionalGet(cache_, kube::resources::kTrainingRuns, ns, of);
    if (!original) {
      return original.error();
    }
    in.original = std::move(*original);
  }
  if (member(member(spec, "validation"), "compareToProduction").is_object()) {
    in.production = productionMetrics(ns, stringMember(spec, "model"));
  }
  return in;
}

Status TrainingRunReconciler::createJob(TrainingRunInput& in, const Json& job) {
  const std::string ns = runtime::namespaceOf(in.run);
  const std::string name = runtime::nameOf(job);
  auto created = api_.create(kube::resources::kJobs, ns, job, trainingWriteOptions());
  if (created) {
    log_.info("created Job", {{"namespace", ns}, {"job", name}});
    in.job = std::move(*created);
    return okStatus();
  }
  if (created.error().code == ErrorCode::kAlreadyExists) {
    // Ours, created by an earlier reconcile the cache has not caught up with,
    // or somebody else's (the Job informer only sees labelled Jobs): the
    // decision tells them apart by the controlling ownerReference.
    auto existing = liveJob(ns, name);
    if (!existing) {
      return existing.error();
    }
    if (*existing) {
      in.job = std::move(**existing);
      return okStatus();
    }
  }
  in.jobCreateError = created.error();
  return okStatus();
}

Result<Json> TrainingRunReconciler::registerVersion(const Request& request, TrainingRunInput& in,
                                                    Json& current, TrainingRunDecision& decision) {
  const Json& metadata = member(current, "metadata");
  const RunIdentity identity{stringMember(metadata, "name"), stringMember(metadata, "uid"),
                             stringMember(metadata, "creationTimestamp")};
  std::optional<int64_t> claimed;
  if (const Json& v = member(member(member(current, "status"), "registration"), "version");
      v.is_number_integer()) {
    claimed = v.get<int64_t>();
  }
  const std::string model = stringMember(decision.registerModelVersion->spec, "model");
  bool claimWritten = false;
  // Writes the decided status and the claim in one status write, with the
  // run's resourceVersion as precondition; a Conflict goes back as is.
  auto claim = [&](int64_t version) -> Status {
    Json updated = current;
    if (!claimWritten) {
      updated["status"] = decision.status;
    }
    updated["status"]["registration"] =
        Json{{"version", version}, {"modelVersion", modelVersionName(model, version)}};
    auto written = api_.updateStatus(kube::resources::kTrainingRuns, request.ns, updated,
                                     trainingWriteOptions());
    if (!written) {
      return written.error();
    }
    log_.info("claimed version", {{"key", request.key()}, {"version", version}});
    if (!claimWritten) {
      // These events describe the transition just written; the decision
      // made after registration starts from it.
      for (const auto& e : decision.events) {
        events_.event(*written, eventTypeOf(e.type), e.reason, e.message);
      }
      decision.events.clear();
    }
    claimWritten = true;
    current = *written;
    in.run = current;
    return okStatus();
  };
  return registry_.registerVersion(request.ns, identity, claimed, *decision.registerModelVersion,
                                   claim);
}

Result<ReconcileResult> TrainingRunReconciler::reconcile(const Request& request,
                                                         const runtime::ReconcileContext& /*ctx*/) {
  auto cached = optionalGet(cache_, kube::resources::kTrainingRuns, request.ns, request.name);
  if (!cached) {
    return cached.error();
  }
  if (!*cached || isFinished(**cached)) {
    // Deleted (its Job goes with it, by ownerReference), or terminal: a
    // finished run is a record and is never decided again.
    return ReconcileResult{};
  }
  const Json& run = **cached;
  auto gathered = gather(run);
  if (!gathered) {
    return gathered.error();
  }
  TrainingRunInput in = std::move(*gathered);

  // Decide, act, and decide again with what the action produced, so that the
  // one status write records it (the Job's UID; Succeeded with the version).
  // `current` is the run as last read or written: its resourceVersion is the
  // precondition of every status write.
  Json current = run;
  TrainingRunDecision decision = decideTrainingRun(in);
  bool jobTried = false;
  int registrationTries = 0;
  std::optional<Error> registrationError;
  while (true) {
    if (decision.jobToCreate && !jobTried) {
      jobTried = true;
      if (auto st = createJob(in, *decision.jobToCreate); !st) {
        return st.error();
      }
      decision = decideTrainingRun(in);
      continue;
    }
    if (decision.registerModelVersion && registrationTries < 2) {
      ++registrationTries;
      auto mv = registerVersion(request, in, current, decision);
      if (!mv) {
        const ErrorCode code = mv.error().code;
        if (code == ErrorCode::kConflict) {
          // The claim lost against another writer, or the run changed since
          // the cache saw it: adopt the claim on the run as it is now, rather
          // than waiting for the cache (and reserving again meanwhile).
          auto live = optionalGet(api_, kube::resources::kTrainingRuns, request.ns, request.name);
          if (registrationTries < 2 && live && *live && !isFinished(**live) &&
              member(member(member(**live, "status"), "registration"), "version")
                  .is_number_integer()) {
            current = **live;
            in.run = current;
            decision = decideTrainingRun(in);
            continue;
          }
          log_.debug("registration claim conflicted; requeueing", {{"key", request.key()}});
          return ReconcileResult{.requeue = true};
        }
        if (code == ErrorCode::kInvalid || code == ErrorCode::kBadRequest) {
          // Refused for good: the decision fails the run with the message.
          in.registrationError = mv.error();
          decision = decideTrainingRun(in);
          continue;
        }
        registrationError = mv.error();
        // Decide again from the run as last written (it may hold a claim now),
        // so that the write below keeps what is on the run.
        decision = decideTrainingRun(in);
        break;
      }
      in.modelVersion = std::move(*mv);
      decision = decideTrainingRun(in);
      continue;
    }
    break;
  }

  std::vector<runtime::StatusEvent> events;
  for (const auto& e : decision.events) {
    events.push_back({eventTypeOf(e.type), e.reason, e.message});
  }
  auto written =
      runtime::writeStatusIfChanged(api_, events_, kube::resources::kTrainingRuns, current,
                                    decision.status, events, trainingWriteOptions());
  if (!written) {
    return written.error();
  }
  switch (written->outcome) {
    case runtime::StatusWriteOutcome::kConflict:
      // The cache was behind; read it again (level-based: redoing the
      // decision is safe, and nothing above is done twice).
      log_.debug("status write conflicted; requeueing", {{"key", request.key()}});
      return written->result();
    case runtime::StatusWriteOutcome::kNotFound:
      return written->result();
    case runtime::StatusWriteOutcome::kWritten: {
      const std::string before = stringMember(member(current, "status"), "phase") + "/" +
                                 stringMember(member(current, "status"), "reason");
      const std::string after =
          stringMember(decision.status, "phase") + "/" + stringMember(decision.status, "reason");
      if (before != after) {
        log_.info("status", {{"key", request.key()}, {"from", before}, {"to", after}});
      }
      break;
    }
    case runtime::StatusWriteOutcome::kUnchanged:
      break;
  }

  if (registrationError) {
    events_.event(
        current, runtime::EventType::kWarning, "RegistrationFailed",
        truncateUtf8("registering a ModelVersion failed, will retry: " + registrationError->message,
                     1024));
    return *registrationError;
  }
  ReconcileResult result;
  if (decision.requeueAfter) {
    result.requeueAfter = *decision.requeueAfter;
  }
  return result;
}

runtime::InformerOptions trainingJobInformerOptions() {
  runtime::InformerOptions o;
  o.labelSelector = kTrainingJobSelector;
  o.transform = {"training-job", keepWhatTrainingReadsOfJob};
  o.protobuf = kube::decodeJobProtobuf;
  return o;
}

runtime::InformerOptions trainingPodInformerOptions() {
  runtime::InformerOptions o;
  o.labelSelector = kTrainingPodSelector;
  o.transform = {"training-pod", keepWhatTrainingReadsOfPod};
  o.protobuf = kube::decodePodProtobuf;
  return o;
}

Status setupTrainingRunController(runtime::Manager& manager,
                                  const TrainingRunControllerOptions& options) {
  runtime::InformerOptions eventOptions;
  eventOptions.fieldSelector = kJobFailedCreateEvents;
  TrainingRunInformers informers{
      manager.informer(kube::resources::kTrainingRuns),
      manager.informer(kube::resources::kJobs, trainingJobInformerOptions()),
      manager.informer(kube::resources::kPods, trainingPodInformerOptions()),
      manager.informer(kube::resources::kModelVersions),
      manager.informer(kube::resources::kEvents, eventOptions),
  };
  if (auto st = addTrainingRunIndexes(informers); !st) {
    return st;
  }
  runtime::ControllerOptions controllerOptions;
  controllerOptions.workers = options.workers;
  runtime::Controller& controller =
      manager.addController("trainingrun",
                            std::make_unique<TrainingRunReconciler>(
                                manager.cache(), manager.client(), manager.eventRecorder(),
                                options.decide, manager.clock()),
                            std::move(controllerOptions));
  watchTrainingRunSources(controller, informers);
  return okStatus();
}

}  // namespace mlops::training
