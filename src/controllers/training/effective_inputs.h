// The effective inputs of a TrainingRun: what its Job runs with.
//
// Ordinary run: everything comes from its own spec.
// Reproduction (spec.reproduction.of = <original>): template.spec,
// resultsContainer, dataset, code and hyperparameters come from the
// original's spec, the seed from the original's status.seed (or, equivalently,
// its effective seed), and every container image is pinned to the digest the
// original recorded in status.imageDigests. Only template.metadata comes from
// the reproduction itself, as do the artifact URI (a reproduction must never
// overwrite the original's artifact) and the Job's settings (backoffLimit,
// deadlines).
//
// The artifact URI is computed once: when status.artifactURI is already set it
// is kept, so a change of --artifact-root never moves a run that has started.
//
// resolveInputs() fails with an Error whose `reason` is the status reason:
//   transient() == true  (wait and retry; the run stays Pending):
//     OriginalNotFound     the original does not exist (yet)
//     WaitingForOriginal   the original has not finished
//   transient() == false (the run fails):
//     OriginalNotReproducible  the original is itself a reproduction, or
//                              finished without results or image digests
//     InvalidSpec              no usable template (no containers,
//                              resultsContainer names no container), or a
//                              reproduction of another model's run
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "controllers/training/fingerprint.h"
#include "core/result.h"

namespace mlops::training {

struct EffectiveInputs {
  // Training inputs; together with the image digests that ran, the fingerprint.
  std::string model;
  nlohmann::json templateSpec;     // pod spec as given (the original's for a reproduction)
  std::string resultsContainer;    // spec.resultsContainer, else the first container
  nlohmann::json dataset;          // spec.dataset as given, or null
  nlohmann::json code;             // spec.code as given, or null
  nlohmann::json hyperparameters;  // spec.hyperparameters as given, or null
  int64_t seed = 0;

  // Not training inputs.
  nlohmann::json podMetadata;  // the run's own template.metadata, or null
  std::string artifactURI;
  // MLOPS_DATASET_DIGEST: dataset.digest, else (reproduction) the digest the
  // original recorded in status.datasetDigest; "" when unknown.
  std::string datasetDigest;
  // Reproduction only: container name → digest to pin its image to.
  std::map<std::string, std::string> pinnedImageDigests;
  std::string reproductionOf;  // "" for an ordinary run

  FingerprintInputs fingerprintInputs(const std::map<std::string, std::string>& imageDigests) const;
};

// `original` is the run named spec.reproduction.of (nullopt when it was not
// found); ignored for an ordinary run.
Result<EffectiveInputs> resolveInputs(const nlohmann::json& run,
                                      const std::optional<nlohmann::json>& original,
                                      std::string_view artifactRoot);

// Names of every container (initContainers, then containers) of a pod spec.
std::vector<std::string> containerNames(const nlohmann::json& podSpec);

}  // namespace mlops::training
