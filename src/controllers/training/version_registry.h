// Version numbers for ModelVersions, handed out exactly once (DESIGN.md
// "Registration, exactly once").
//
// Pure part:
//   nextVersionNumber(existing, highWaterMark) — one above every version that
//   exists and above every number handed out before.
//   highWaterMarkOf(configMap, model) — the mark recorded for a model.
//
// I/O part: VersionRegistry::registerVersion(ns, run, request), every read
// and write against the API server (never a cache), in this order:
//
//   1. Look up a ModelVersion labelled mlops.dev/training-run=<run> and
//      mlops.dev/model=<model>; if there is one, adopt it (step 5).
//   2. Reserve a number: list every ModelVersion of the model in the
//      namespace, read the high-water mark from the ConfigMap
//      `mlops-version-registry` (data key = model name), take N =
//      nextVersionNumber(...), and write N back to the ConfigMap with
//      optimistic concurrency (update with resourceVersion, or create). On
//      Conflict/AlreadyExists start step 2 again.
//   3. Create (never apply) `<model>-v<N>` labelled mlops.dev/model,
//      mlops.dev/version, mlops.dev/training-run, managed-by.
//   4. On AlreadyExists read it: adopt it if its training-run label names
//      this run, else go back to step 2 (the next number is higher).
//   5. Make sure the ModelVersion has a status: phase Registered (written
//      once, only when it has no phase yet). This is the only ModelVersion
//      status the training side writes; every later phase belongs to the
//      rollout controller.
//
// Why this is exactly once even when the process dies at any point: the mark
// is written BEFORE the ModelVersion is created, so a number is burned, never
// handed out twice, whatever fails after step 2; and a ModelVersion that was
// created but not yet recorded in the run's status is found again by its
// label in step 1. It relies on one writer per run at a time (the work queue
// never gives one key to two workers; leader election keeps one process).
//
// Thread safe: calls for different runs may run concurrently (they meet only
// at the ConfigMap, where optimistic concurrency orders them).
#pragma once

#include <cstdint>
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

class VersionRegistry {
 public:
  // `api` must outlive the registry.
  explicit VersionRegistry(kube::Client& api,
                           runtime::Logger logger = runtime::Logger("version-registry"));

  // The ModelVersion of `run` in `ns`: the one already registered for it, or
  // a new one built from `request` (labels and spec without version). The
  // returned object carries status.phase. Errors are the API's (transient
  // ones — Conflict after too many rounds, Unavailable — are worth a retry).
  Result<nlohmann::json> registerVersion(const std::string& ns, const std::string& run,
                                         const ModelVersionRequest& request);

  // Step 1 alone: the ModelVersion labelled for `run` and `model`, if any
  // (the lowest version should there ever be several).
  Result<std::optional<nlohmann::json>> findRegistered(const std::string& ns,
                                                       const std::string& model,
                                                       const std::string& run);

 private:
  Result<int64_t> reserveNumber(const std::string& ns, const std::string& model);
  Result<nlohmann::json> ensureRegisteredStatus(nlohmann::json modelVersion,
                                                const std::string& run);

  kube::Client& api_;
  runtime::Logger log_;
};

}  // namespace mlops::training
