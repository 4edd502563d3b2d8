// The TrainingRun controller: gather from the cache, decideTrainingRun(),
// act on the API server. The decision and its state diagram are in
// decide.h; this file is the I/O around it.
//
// Reconcile key: namespace/name of a TrainingRun. It is enqueued by
//   - the TrainingRun itself, and every reproduction whose
//     spec.reproduction.of names it (so they start when it finishes);
//   - its Job (informer on Jobs labelled app.kubernetes.io/managed-by=
//     mlops-operator; mapped through the controlling ownerReference);
//   - its pods (informer on Pods labelled app.kubernetes.io/component=
//     training; mapped through the mlops.dev/training-run label);
//   - its Job's FailedCreate Events (informer on Events with fieldSelector
//     kJobFailedCreateEvents; mapped through involvedObject.name, the run's
//     name).
//
// One reconcile:
//   gather   from the cache: the run, its Job, its pods (index by label),
//            the original run of a reproduction, and the metrics of the
//            model's version with status.phase Production (ModelVersion
//            informer, index by spec.model) when compareToProduction is set.
//            A recorded Job missing from the cache (or with another UID) is
//            confirmed with a GET on the API server before it counts as lost.
//            While the Job has no pod (jobNeedsEvents()), its FailedCreate
//            Events (Events informer, index by involvedObject.uid; RBAC:
//            list and watch events).
//   decide   decideTrainingRun(); then act, and decide again with the result
//            in the input:
//              jobToCreate          → create (never apply); AlreadyExists →
//                                     GET the Job (ours: record it; another
//                                     one: JobNameTaken); other errors go
//                                     back as jobCreateError.
//              registerModelVersion → VersionRegistry::registerVersion() (live
//                                     lookup by run UID, high-water mark,
//                                     claim, create, status Registered); the
//                                     result goes back as modelVersion, so
//                                     Succeeded is written together with
//                                     modelVersion/version. The claim is a
//                                     status write of the decided status plus
//                                     status.registration {version,
//                                     modelVersion} with the run's
//                                     resourceVersion: on Conflict requeue
//                                     (the next reconcile reads the winner's
//                                     claim and creates or adopts the same
//                                     version). Invalid/BadRequest from the
//                                     create goes back as registrationError
//                                     (Failed/RegistrationRejected).
//   write    runtime::writeStatusIfChanged(): status with the status
//            subresource (PUT with resourceVersion) only when it changed;
//            Conflict → requeue (with backoff); NotFound → done; the
//            decision's events are recorded only after the write succeeded.
//            A registration that failed still writes the status decided so far
//            (metrics, artifact) and then returns the error (backoff).
//
// Thread safety: reconcile() may run concurrently for different runs.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controllers/training/decide.h"
#include "controllers/training/version_registry.h"
#include "core/clock.h"
#include "kube/client.h"
#include "runtime/cache_reader.h"
#include "runtime/controller.h"
#include "runtime/event_recorder.h"
#include "runtime/indexed_reader.h"
#include "runtime/informer.h"
#include "runtime/logger.h"
#include "runtime/manager.h"
#include "runtime/reconciler.h"

namespace mlops::training {

// Selections of the controller's label-filtered informers.
inline constexpr const char* kTrainingJobSelector = "app.kubernetes.io/managed-by=mlops-operator";
inline constexpr const char* kTrainingPodSelector = "app.kubernetes.io/component=training";
// The Job controller's FailedCreate Events: why a Job has no pod. Watched
// (few, and filtered by the API server) instead of listed per run while its
// Job has no pod, which cost a LIST every 15 s per podless run.
inline constexpr const char* kJobFailedCreateEvents = "involvedObject.kind=Job,reason=FailedCreate";

// The options of the Job and Pod informers: their selection and what of
// each object they keep (cache_projection.h).
runtime::InformerOptions trainingJobInformerOptions();
runtime::InformerOptions trainingPodInformerOptions();

// Indexes the controller reads through IndexedReader::byIndex (values are
// "namespace/value").
inline constexpr const char* kPodsByTrainingRun = "trainingRun";  // label mlops.dev/training-run
inline constexpr const char* kModelVersionsByModel = "model";     // spec.model
inline constexpr const char* kRunsByReproductionOf = "reproductionOf";  // spec.reproduction.of
inline constexpr const char* kEventsByInvolvedUID = "involvedUID";      // involvedObject.uid

// The informers the controller reads; all must be registered with the
// cache (IndexedReader) given to the reconciler.
struct TrainingRunInformers {
  runtime::Informer& runs;
  runtime::Informer& jobs;  // with kTrainingJobSelector
  runtime::Informer& pods;  // with kTrainingPodSelector
  runtime::Informer& modelVersions;
  runtime::Informer& jobEvents;  // core/v1 Events with kJobFailedCreateEvents
};

// Adds the indexes above. Idempotent; an index of the same name that
// another caller defined differently is an AlreadyExists error.
Status addTrainingRunIndexes(TrainingRunInformers& informers);
// Routes the informers' events to `controller` (see the top comment).
void watchTrainingRunSources(runtime::Controller& controller, TrainingRunInformers& informers);

class TrainingRunReconciler final : public runtime::Reconciler {
 public:
  // Everything passed in must outlive the reconciler. `cache` answers the
  // gather reads; `api` receives writes and the few live reads.
  TrainingRunReconciler(runtime::IndexedReader& cache, kube::Client& api,
                        runtime::EventRecorder& events, TrainingRunOptions options,
                        const Clock& clock = SystemClock::instance(),
                        runtime::Logger logger = runtime::Logger("trainingrun"));

  Result<runtime::ReconcileResult> reconcile(const runtime::Request& request,
                                             const runtime::ReconcileContext& ctx) override;

 private:
  Result<std::optional<nlohmann::json>> liveJob(const std::string& ns, const std::string& name);
  Result<std::optional<nlohmann::json>> gatherJob(const nlohmann::json& run);
  Result<TrainingRunInput> gather(const nlohmann::json& run);
  std::optional<ProductionMetrics> productionMetrics(const std::string& ns,
                                                     const std::string& model);
  // Creates the Job; fills in.job or in.jobCreateError. An Error only when
  // even the follow-up GET failed.
  Status createJob(TrainingRunInput& in, const nlohmann::json& job);
  // The cached FailedCreate Events about the Job; empty when they cannot be
  // read.
  std::vector<nlohmann::json> jobEvents(const std::string& ns, const std::string& jobUID);
  // VersionRegistry::registerVersion() for decision.registerModelVersion,
  // claiming the number with a status write of decision.status plus
  // status.registration over `current`'s resourceVersion. After a claim,
  // `current` and in.run are the written run, and the decision's events have
  // been recorded (and cleared).
  Result<nlohmann::json> registerVersion(const runtime::Request& request, TrainingRunInput& in,
                                         nlohmann::json& current, TrainingRunDecision& decision);

  runtime::IndexedReader& cache_;
  kube::Client& api_;
  runtime::EventRecorder& events_;
  const TrainingRunOptions options_;
  const Clock& clock_;
  runtime::Logger log_;
  VersionRegistry registry_;
};

struct TrainingRunControllerOptions {
  // artifactRoot (--artifact-root), podCreationTimeout
  TrainingRunOptions decide;
  int workers = 2;  // --workers
};

// Wires the controller into `manager`: the informers (TrainingRuns, labelled
// Jobs and Pods, ModelVersions) with their indexes, the reconciler on the
// manager's cache, client, event recorder and clock, and a controller named
// "trainingrun" with `workers` workers. The manager owns the reconciler.
Status setupTrainingRunController(runtime::Manager& manager,
                                  const TrainingRunControllerOptions& options);

}  // namespace mlops::training
