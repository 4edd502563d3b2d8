#include "controllers/training/effective_inputs.h"

#include <algorithm>
#include <vector>

#include "controllers/training/artifact_uri.h"
#include "controllers/training/seed.h"
#include "core/json_access.h"

namespace mlops::training {
namespace {

using Json = nlohmann::json;

Error waitFor(std::string reason, std::string message) {
  Error e = makeError(ErrorCode::kUnavailable, std::move(message));
  e.reason = std::move(reason);
  return e;
}

Error failWith(std::string reason, std::string message) {
  Error e = makeError(ErrorCode::kInvalid, std::move(message));
  e.reason = std::move(reason);
  return e;
}

// Fills templateSpec and resultsContainer from a spec that has a template.
Status takeTemplate(const Json& spec, const std::string& whose, EffectiveInputs& in) {
  const Json& podSpec = member(member(spec, "template"), "spec");
  const Json& containers = member(podSpec, "containers");
  if (!podSpec.is_object() || !containers.is_array() || containers.empty()) {
    return failWith("InvalidSpec", whose + " has no template.spec.containers");
  }
  in.templateSpec = podSpec;
  in.resultsContainer = stringMember(spec, "resultsContainer");
  const auto names = containerNames(Json{{"containers", containers}});
  if (in.resultsContainer.empty()) {
    in.resultsContainer = names.empty() ? "" : names.front();
  } else if (std::find(names.begin(), names.end(), in.resultsContainer) == names.end()) {
    return failWith("InvalidSpec", whose + " names resultsContainer \"" + in.resultsContainer +
                                       "\", which is not one of template.spec.containers");
  }
  if (in.resultsContainer.empty()) {
    return failWith("InvalidSpec", whose + " has a container without a name");
  }
  return okStatus();
}

Status takeFromOriginal(const std::optional<Json>& original, EffectiveInputs& in) {
  const std::string& of = in.reproductionOf;
  if (!original) {
    return waitFor("OriginalNotFound", "the TrainingRun " + of + " to reproduce does not exist");
  }
  const Json& spec = member(*original, "spec");
  const Json& status = member(*original, "status");
  if (!member(spec, "reproduction").is_null()) {
    const std::string itsOriginal = stringMember(member(spec, "reproduction"), "of");
    return failWith("OriginalNotReproducible", of + " is itself a reproduction (of " + itsOriginal +
                                                   "); reproduce " + itsOriginal + " instead");
  }
  if (stringMember(spec, "model") != in.model) {
    return failWith("InvalidSpec", "reproduction.of names " + of + ", a run of model \"" +
                                       stringMember(spec, "model") +
                                       "\", but this run is for model \"" + in.model + "\"");
  }
  const std::string phase = stringMember(status, "phase");
  if (phase != "Succeeded" && phase != "Failed") {
    return waitFor("WaitingForOriginal", "waiting for " + of + " to finish (phase " +
                                             (phase.empty() ? std::string("unknown") : phase) +
                                             ")");
  }
  if (auto st = takeTemplate(spec, of, in); !st) {
    return st;
  }
  if (!member(status, "metrics").is_object()) {
    return failWith("OriginalNotReproducible",
                    of + " finished without results (" + phase +
                        (stringMember(status, "reason").empty()
                             ? std::string("")
                             : ", reason " + stringMember(status, "reason")) +
                        "): there is nothing to compare with");
  }
  const Json& digests = member(status, "imageDigests");
  std::vector<std::string> unpinned;
  for (const auto& name : containerNames(in.templateSpec)) {
    const Json& d = member(digests, name.c_str());
    if (d.is_string() && !d.get<std::string>().empty()) {
      in.pinnedImageDigests[name] = d.get<std::string>();
    } else {
      unpinned.push_back(name);
    }
  }
  if (!unpinned.empty()) {
    std::string list;
    for (const auto& n : unpinned) {
      list += (list.empty() ? "" : ", ") + n;
    }
    return failWith("OriginalNotReproducible", of + " recorded no image digest for container(s) " +
                                                   list + ", so its images cannot be pinned");
  }
  in.dataset = spec.contains("dataset") ? spec["dataset"] : Json();
  in.code = spec.contains("code") ? spec["code"] : Json();
  in.hyperparameters = spec.contains("hyperparameters") ? spec["hyperparameters"] : Json();
  const Json& seed = member(status, "seed");
  in.seed = seed.is_number_integer() ? seed.get<int64_t>() : effectiveSeed(*original);
  in.datasetDigest = stringMember(in.dataset, "digest");
  if (in.datasetDigest.empty()) {
    in.datasetDigest = stringMember(status, "datasetDigest");
  }
  return okStatus();
}

}  // namespace

std::vector<std::string> containerNames(const Json& podSpec) {
  std::vector<std::string> names;
  for (const char* field : {"initContainers", "containers"}) {
    const Json& list = member(podSpec, field);
    if (!list.is_array()) {
      continue;
    }
    for (const auto& c : list) {
      names.push_back(stringMember(c, "name"));
    }
  }
  return names;
}

FingerprintInputs EffectiveInputs::fingerprintInputs(
    const std::map<std::string, std::string>& imageDigests) const {
  return FingerprintInputs{model,           templateSpec, resultsContainer, dataset, code,
                           hyperparameters, seed,         imageDigests};
}

Result<EffectiveInputs> resolveInputs(const Json& run, const std::optional<Json>& original,
                                      std::string_view artifactRoot) {
  const Json& spec = member(run, "spec");
  EffectiveInputs in;
  in.model = stringMember(spec, "model");
  in.podMetadata = member(member(spec, "template"), "metadata");
  const std::string recordedURI = stringMember(member(run, "status"), "artifactURI");
  in.artifactURI = recordedURI.empty() ? artifactURIFor(run, artifactRoot) : recordedURI;

  const Json& reproduction = member(spec, "reproduction");
  if (!reproduction.is_null()) {
    in.reproductionOf = stringMember(reproduction, "of");
    if (auto st = takeFromOriginal(original, in); !st) {
      return st.error();
    }
    return in;
  }
  if (auto st = takeTemplate(spec, "spec", in); !st) {
    return st.error();
  }
  in.dataset = member(spec, "dataset");
  in.code = member(spec, "code");
  in.hyperparameters = member(spec, "hyperparameters");
  in.seed = effectiveSeed(run);
  in.datasetDigest = stringMember(in.dataset, "digest");
  return in;
}

}  // namespace mlops::training
