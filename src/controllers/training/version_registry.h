// Version numbers for ModelVersions, handed out exactly once (DESIGN.md
// "Registration, exactly once").
//
// Pure part:
//   nextVersionNumber(existing, highWaterMark) — one above every version that
//   exists and above every number handed out before.
//   highWaterMarkOf(configMap, model) — the mark recorded for a model.
//
// I/O part: VersionRegistry::registerVersion(ns, run, claimed, request,
// claim), every read and write against the API server (never a cache), in
// this order:
//
//   1. Look up the ModelVersion of this run: labelled mlops.dev/model=<model>
//      and mlops.dev/training-run-uid=<run UID> (a run deleted and created
//      again under the same name has another UID and gets its own version).
//      A version without the UID label (registered before it existed) counts
//      when labelled mlops.dev/training-run=<run name> and created after the
//      run. If there is one, adopt it (step 6).
//   2. If the run holds a claim (status.registration.version, `claimed`),
//      take that number and go to step 4.
//   3. Reserve a number: list every ModelVersion of the model in the
//      namespace, read the high-water mark from the ConfigMap
//      `mlops-version-registry` (data key = model name), take N =
//      nextVersionNumber(...), and write N back to the ConfigMap with
//      optimistic concurrency (update with resourceVersion, or create). On
//      Conflict/AlreadyExists start step 3 again. Then claim N on the run:
//      `claim(N)` writes status.registration {version: N, modelVersion} with
//      the run's resourceVersion as precondition. A Conflict there is
//      returned: another writer may have claimed; the caller re-reads the run
//      and comes back with its claim (step 2).
//   4. Create (never apply) `<model>-v<N>` labelled mlops.dev/model,
//      mlops.dev/version, mlops.dev/training-run, mlops.dev/training-run-uid,
//      managed-by, with spec.source.trainingRunUID.
//   5. On AlreadyExists read it: adopt it if its UID label is this run's
//      (another writer created it from the same claim), else the number is
//      not ours after all: back to step 3 (a new, higher number and claim).
//   6. Make sure the ModelVersion has a status: phase Registered (written
//      once, only when it has no phase yet). This is the only ModelVersion
//      status the training side writes; every later phase belongs to the
//      rollout controller.
//
// Why this is exactly once even when the process dies at any point: the mark
// is written BEFORE the ModelVersion is created, so a number is burned, never
// handed out twice, whatever fails after step 3; a ModelVersion that was
// created but not yet recorded in the run's status is found again by its
// label in step 1. And why with several writers at once (two operators
// without leader election): only one claim can be written over a given
// resourceVersion of the run, every later writer reads that claim and
// creates, or adopts, the very same `<model>-v<N>`; a writer whose claim lost
// only burns the number it reserved.
//
// Thread safe: calls for different runs may run concurrently (they meet only
// at the ConfigMap, where optimistic concurrency orders them).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "controllers/training/decide.h"
#include "core/result.h"
#include "kube/client.h"
#include "runtime/logger.h"

namespace mlops::training {

inline constexpr std::string_view kVersionRegistryConfigMap = "mlops-version-registry";
inline constexpr std::string_view kLabelVersion = "mlops.dev/version";
inline constexpr std::string_view kFieldManager = "mlops-operator";

// What every write of the training controller carries: its field manager.
inline kube::WriteOptions trainingWriteOptions() {
  kube::WriteOptions opts;
  opts.fieldManager = std::string(kFieldManager);
  return opts;
}

// max(every existing version, highWaterMark) + 1. Versions below 1 are
// ignored (the schema forbids them).
int64_t nextVersionNumber(const std::vector<int64_t>& existingVersions, int64_t highWaterMark);

// The high-water mark of `model` in the registry ConfigMap (a JSON object
// as read, or null when the ConfigMap does not exist): 0 when it has no
// entry; an InvalidArgument error when the entry is not a non-negative
// decimal integer (a person edited it: guessing could reuse a number).
Result<int64_t> highWaterMarkOf(const nlohmann::json& configMap, const std::string& model);

// "<model>-v<version>".
std::string modelVersionName(const std::string& model, int64_t version);

// Which TrainingRun a registration is for: a run's name is reused when it is
// deleted and created again; its UID never is.
struct RunIdentity {
  std::string name;
  std::string uid;
  std::string creationTimestamp;  // RFC 3339, for versions without a UID label
};

// Whether `modelVersion` was registered by `run` (the rule of step 1).
bool registeredBy(const nlohmann::json& modelVersion, const RunIdentity& run);

class VersionRegistry {
 public:
  // `api` must outlive the registry.
  explicit VersionRegistry(kube::Client& api,
                           runtime::Logger logger = runtime::Logger("version-registry"));

  // Writes the claim of a version number on the run (see step 3); an Error
  // (Conflict when the run changed since it was read) stops registration.
  using Claim = std::function<Status(int64_t version)>;

  // The ModelVersion of `run` in `ns`: the one already registered for it, or
  // a new one built from `request` (labels and spec without version), with
  // the number the run `claimed` (status.registration.version) or a new one
  // claimed through `claim`. The returned object carries status.phase.
  // Errors are the API's: Conflict from `claim` (re-read the run and call
  // again), Invalid when the API server refuses the ModelVersion (calling
  // again cannot help), transient ones (Unavailable, Conflict after too many
  // rounds) are worth a retry.
  Result<nlohmann::json> registerVersion(const std::string& ns, const RunIdentity& run,
                                         std::optional<int64_t> claimed,
                                         const ModelVersionRequest& request, const Claim& claim);

  // Step 1 alone: the ModelVersion of `run` and `model`, if any (the lowest
  // version should there ever be several).
  Result<std::optional<nlohmann::json>> findRegistered(const std::string& ns,
                                                       const std::string& model,
                                                       const RunIdentity& run);

 private:
  Result<int64_t> reserveNumber(const std::string& ns, const std::string& model);
  Result<nlohmann::json> ensureRegisteredStatus(nlohmann::json modelVersion,
                                                const std::string& run);

  kube::Client& api_;
  runtime::Logger log_;
};

}  // namespace mlops::training
