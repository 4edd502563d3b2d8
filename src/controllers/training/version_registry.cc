#include "controllers/training/version_registry.h"

#include <algorithm>
#include <charconv>
#include <limits>

#include "controllers/training/names.h"
#include "core/json_access.h"

namespace mlops::training {
namespace {

using Json = nlohmann::json;

// Rounds of "reserve a number, create the ModelVersion" before giving up
// with a transient error (the controller's backoff takes over from there).
constexpr int kMaxRounds = 16;

int64_t versionOf(const Json& modelVersion) {
  const Json& v = member(member(modelVersion, "spec"), "version");
  return v.is_number_integer() ? v.get<int64_t>() : 0;
}

std::string labelOf(const Json& obj, std::string_view key) {
  return stringMember(member(member(obj, "metadata"), "labels"), std::string(key).c_str());
}

bool isRetryableWriteRace(const Error& e) {
  return e.code == ErrorCode::kConflict || e.code == ErrorCode::kAlreadyExists;
}

}  // namespace

int64_t nextVersionNumber(const std::vector<int64_t>& existingVersions, int64_t highWaterMark) {
  int64_t highest = std::max<int64_t>(highWaterMark, 0);
  for (int64_t v : existingVersions) {
    highest = std::max(highest, v);
  }
  return highest + 1;
}

Result<int64_t> highWaterMarkOf(const Json& configMap, const std::string& model) {
  const Json& value = member(member(configMap, "data"), model.c_str());
  if (value.is_null()) {
    return int64_t{0};
  }
  const std::string text = value.is_string() ? value.get<std::string>() : value.dump();
  int64_t mark = -1;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, mark);
  if (text.empty() || ec != std::errc() || ptr != end || mark < 0 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return makeError(ErrorCode::kInvalidArgument,
                     "ConfigMap " + std::string(kVersionRegistryConfigMap) + " holds \"" + text +
                         "\" as the high-water mark of model " + model +
                         ", which is not a non-negative integer; set it to the highest version "
                         "number ever handed out for the model");
  }
  return mark;
}

std::string modelVersionName(const std::string& model, int64_t version) {
  return model + "-v" + std::to_string(version);
}

bool registeredBy(const Json& mv, const RunIdentity& run) {
  if (const std::string uid = labelOf(mv, kLabelTrainingRunUID); !uid.empty()) {
    return uid == run.uid;
  }
  if (labelOf(mv, kLabelTrainingRun) != run.name) {
    return false;
  }
  const std::string sourceUID =
      stringMember(member(member(mv, "spec"), "source"), "trainingRunUID");
  if (!sourceUID.empty()) {
    return sourceUID == run.uid;
  }
  // Registered before the UID label existed: it can only be this run's if it
  // is younger than the run (an earlier run of the same name registered
  // before this one was created). RFC 3339 UTC timestamps sort as text.
  const std::string created = stringMember(member(mv, "metadata"), "creationTimestamp");
  return !created.empty() && !run.creationTimestamp.empty() && created > run.creationTimestamp;
}

VersionRegistry::VersionRegistry(kube::Client& api, runtime::Logger logger)
    : api_(api), log_(std::move(logger)) {}

Result<std::optional<Json>> VersionRegistry::findRegistered(const std::string& ns,
                                                            const std::string& model,
                                                            const RunIdentity& run) {
  // By name, then by UID: versions registered before the UID label existed
  // carry only the name label.
  kube::ListOptions opts;
  opts.labelSelector = std::string(kLabelTrainingRun) + "=" + run.name + "," +
                       std::string(kLabelModel) + "=" + model;
  auto page = kube::listAll(api_, kube::resources::kModelVersions, ns, opts);
  if (!page) {
    return page.error();
  }
  std::optional<Json> found;
  for (const auto& mv : page->items) {
    if (stringMember(member(mv, "spec"), "model") != model || versionOf(mv) < 1 ||
        !registeredBy(mv, run)) {
      continue;
    }
    if (found) {
      log_.warn("several ModelVersions are labelled for one training run; using the lowest",
                {{"namespace", ns}, {"trainingRun", run.name}});
    }
    if (!found || versionOf(mv) < versionOf(*found)) {
      found = mv;
    }
  }
  return found;
}

Result<int64_t> VersionRegistry::reserveNumber(const std::string& ns, const std::string& model) {
  const std::string cmName(kVersionRegistryConfigMap);
  for (int round = 0; round < kMaxRounds; ++round) {
    auto versions = kube::listAll(api_, kube::resources::kModelVersions, ns, {});
    if (!versions) {
      return versions.error();
    }
    std::vector<int64_t> existing;
    for (const auto& mv : versions->items) {
      if (stringMember(member(mv, "spec"), "model") == model) {
        existing.push_back(versionOf(mv));
      }
    }

    auto cm = api_.get(kube::resources::kConfigMaps, ns, cmName);
    if (!cm && cm.error().code != ErrorCode::kNotFound) {
      return cm.error();
    }
    const Json current = cm ? *cm : Json();
    auto mark = highWaterMarkOf(current, model);
    if (!mark) {
      return mark.error();
    }
    const int64_t next = nextVersionNumber(existing, *mark);

    Result<Json> written = makeError(ErrorCode::kInternal, "not written");
    if (cm) {
      Json updated = current;  // carries metadata.resourceVersion
      if (!updated["data"].is_object()) {
        updated["data"] = Json::object();
      }
      updated["data"][model] = std::to_string(next);
      written = api_.update(kube::resources::kConfigMaps, ns, updated, trainingWriteOptions());
    } else {
      Json created{{"apiVersion", "v1"},
                   {"kind", "ConfigMap"},
                   {"metadata",
                    {{"name", cmName},
                     {"namespace", ns},
                     {"labels", {{std::string(kLabelManagedBy), std::string(kManagedBy)}}}}},
                   {"data", {{model, std::to_string(next)}}}};
      written = api_.create(kube::resources::kConfigMaps, ns, created, trainingWriteOptions());
    }
    if (written) {
      return next;
    }
    if (!isRetryableWriteRace(written.error())) {
      return written.error();
    }
    log_.debug("version high-water mark moved under us; retrying",
               {{"namespace", ns}, {"model", model}, {"round", round}});
  }
  return makeError(ErrorCode::kConflict, "could not reserve a version number of model " + model +
                                             " in " + std::to_string(kMaxRounds) +
                                             " rounds: the registry ConfigMap kept changing");
}

Result<Json> VersionRegistry::ensureRegisteredStatus(Json mv, const std::string& run) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (!stringMember(member(mv, "status"), "phase").empty()) {
      return mv;
    }
    const Json& generation = member(member(mv, "metadata"), "generation");
    mv["status"] =
        Json{{"phase", "Registered"},
             {"reason", "Registered"},
             {"message", "registered by TrainingRun " + run},
             {"observedGeneration", generation.is_number_integer() ? generation : Json(1)}};
    const std::string ns = stringMember(member(mv, "metadata"), "namespace");
    auto written =
        api_.updateStatus(kube::resources::kModelVersions, ns, mv, trainingWriteOptions());
    if (written) {
      return *written;
    }
    if (written.error().code != ErrorCode::kConflict) {
      return written.error();
    }
    auto fresh =
        api_.get(kube::resources::kModelVersions, ns, stringMember(member(mv, "metadata"), "name"));
    if (!fresh) {
      return fresh.error();
    }
    mv = *fresh;
  }
  return makeError(ErrorCode::kConflict, "could not write the status of ModelVersion " +
                                             stringMember(member(mv, "metadata"), "name") +
                                             ": it kept changing");
}

Result<Json> VersionRegistry::registerVersion(const std::string& ns, const RunIdentity& run,
                                              std::optional<int64_t> claimed,
                                              const ModelVersionRequest& request,
                                              const Claim& claim) {
  const std::string model = stringMember(request.spec, "model");
  if (model.empty()) {
    return makeError(ErrorCode::kInvalidArgument, "the ModelVersion request names no model");
  }
  auto existing = findRegistered(ns, model, run);
  if (!existing) {
    return existing.error();
  }
  if (*existing) {
    return ensureRegisteredStatus(std::move(**existing), run.name);
  }

  std::optional<int64_t> number;
  if (claimed && *claimed >= 1) {
    number = *claimed;
  }
  for (int round = 0; round < kMaxRounds; ++round) {
    if (!number) {
      auto reserved = reserveNumber(ns, model);
      if (!reserved) {
        return reserved.error();
      }
      // The claim goes on the run before the ModelVersion exists: a second
      // writer racing this one either fails this very write (Conflict) or
      // reads the claim and creates the same name.
      if (auto st = claim(*reserved); !st) {
        return st.error();
      }
      number = *reserved;
    }
    const std::string name = modelVersionName(model, *number);
    Json labels = request.labels.is_object() ? request.labels : Json::object();
    labels[std::string(kLabelModel)] = model;
    labels[std::string(kLabelTrainingRun)] = run.name;
    if (!run.uid.empty()) {
      labels[std::string(kLabelTrainingRunUID)] = run.uid;
    }
    labels[std::string(kLabelManagedBy)] = std::string(kManagedBy);
    labels[std::string(kLabelVersion)] = std::to_string(*number);
    Json spec = request.spec;
    spec["version"] = *number;
    if (!run.uid.empty()) {
      spec["source"]["trainingRunUID"] = run.uid;
    }
    const Json mv{{"apiVersion", std::string(kApiVersion)},
                  {"kind", "ModelVersion"},
                  {"metadata", {{"name", name}, {"namespace", ns}, {"labels", std::move(labels)}}},
                  {"spec", std::move(spec)}};

    auto created = api_.create(kube::resources::kModelVersions, ns, mv, trainingWriteOptions());
    if (created) {
      log_.info("created ModelVersion",
                {{"namespace", ns}, {"modelVersion", name}, {"trainingRun", run.name}});
      return ensureRegisteredStatus(std::move(*created), run.name);
    }
    if (created.error().code != ErrorCode::kAlreadyExists) {
      return created.error();
    }
    auto taken = api_.get(kube::resources::kModelVersions, ns, name);
    if (!taken) {
      if (taken.error().code == ErrorCode::kNotFound) {
        continue;  // deleted in between: the claimed number is still this run's
      }
      return taken.error();
    }
    if (registeredBy(*taken, run) && stringMember(member(*taken, "spec"), "model") == model) {
      // Another writer created it from the same claim.
      return ensureRegisteredStatus(std::move(*taken), run.name);
    }
    log_.info("version number taken by another ModelVersion; claiming the next",
              {{"namespace", ns}, {"modelVersion", name}, {"trainingRun", run.name}});
    number.reset();
  }
  return makeError(ErrorCode::kConflict, "could not register a ModelVersion of model " + model +
                                             " in " + std::to_string(kMaxRounds) + " rounds");
}

}  // namespace mlops::training
