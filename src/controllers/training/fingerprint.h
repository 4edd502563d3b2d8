// The fingerprint of a training run's inputs.
//
//   fingerprint = "v1:" + hex(SHA-256(canonicalJson(document)))
//
// where the document is an object with exactly these eight members, always
// all present:
//
//   {"code":            spec.code            (object; absent → {}),
//    "dataset":         spec.dataset         (object; absent → {}),
//    "hyperparameters": spec.hyperparameters (object; absent → {}),
//    "imageDigests":    container name → "sha256:…" that ran (object; none → {}),
//    "model":           spec.model           (string),
//    "resultsContainer": the effective results container name (string),
//    "seed":            the effective seed   (integer),
//    "templateSpec":    spec.template.spec as given, not the rendered Job
//                       (object; absent → {})}
//
// Absent and null are the same thing: a null member anywhere in the document
// is dropped before hashing, and an absent or null top-level object becomes
// {}. So `dataset: {uri: x}` and `dataset: {uri: x, version: null}` hash
// alike, as do "no hyperparameters" and "hyperparameters: {}". Nothing else is
// normalized: a field that is present counts, exactly as given. Names,
// template.metadata and the artifact URI are not inputs and do not count.
//
// Canonicalization fails only for text that is not UTF-8 or a non-finite
// number; objects read from the API server contain neither.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace mlops::training {

struct FingerprintInputs {
  std::string model;
  nlohmann::json templateSpec;
  std::string resultsContainer;
  nlohmann::json dataset;
  nlohmann::json code;
  nlohmann::json hyperparameters;
  int64_t seed = 0;
  std::map<std::string, std::string> imageDigests;
};

// The exact document that is canonicalized and hashed (for tests and for
// explaining a mismatch to a user).
nlohmann::json fingerprintDocument(const FingerprintInputs& inputs);

Result<std::string> fingerprint(const FingerprintInputs& inputs);

}  // namespace mlops::training
