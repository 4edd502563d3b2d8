// The artifact URI a trainer writes its model to (MLOPS_ARTIFACT_URI).
//
// A template may contain the placeholders {namespace}, {model}, {run}, {uid},
// {uid8} (the first 8 characters of the UID) and {root} (the operator's
// --artifact-root, trailing '/' removed). Expansion is a single left-to-right
// pass: substituted values are never expanded again, and any other "{...}"
// text is kept as written. spec.artifactURI is the template when given,
// otherwise kDefaultArtifactURITemplate.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace mlops::training {

inline constexpr std::string_view kDefaultArtifactURITemplate =
    "{root}/{namespace}/{model}/{run}-{uid8}";

struct ArtifactURIValues {
  std::string ns;
  std::string model;
  std::string run;
  std::string uid;
  std::string root;
};

std::string expandArtifactURI(std::string_view uriTemplate, const ArtifactURIValues& values);

// The effective artifact URI of `run` (metadata.namespace/name/uid,
// spec.model, spec.artifactURI) under `artifactRoot`.
std::string artifactURIFor(const nlohmann::json& run, std::string_view artifactRoot);

}  // namespace mlops::training
