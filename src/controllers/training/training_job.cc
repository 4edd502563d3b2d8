#include "controllers/training/training_job.h"

#include "objects/metadata.h"

#include <algorithm>

#include "controllers/training/image_digest.h"
#include "controllers/training/names.h"
#include "objects/canonical_json.h"

namespace mlops::training {

using objects::canonicalJson;

namespace {

using Json = nlohmann::json;

const Json* specField(const Json& run, const char* key) {
  if (!run.contains("spec") || !run["spec"].is_object()) {
    return nullptr;
  }
  const Json& spec = run["spec"];
  const auto it = spec.find(key);
  return it == spec.end() || it->is_null() ? nullptr : &*it;
}

bool isTrainerEnvName(const std::string& name) {
  return std::find(kTrainerEnvNames.begin(), kTrainerEnvNames.end(), name) !=
         kTrainerEnvNames.end();
}

void prepareContainer(Json& container, const Json& env, const EffectiveInputs& inputs) {
  Json merged = env;
  if (container.contains("env") && container["env"].is_array()) {
    for (const auto& var : container["env"]) {
      if (var.is_object() && isTrainerEnvName(var.value("name", ""))) {
        continue;
      }
      merged.push_back(var);
    }
  }
  container["env"] = std::move(merged);
  const std::string name = container.value("name", "");
  if (const auto pin = inputs.pinnedImageDigests.find(name);
      pin != inputs.pinnedImageDigests.end()) {
    container["image"] = pinImage(container.value("image", ""), pin->second);
  }
  if (name == inputs.resultsContainer) {
    container["terminationMessagePolicy"] = "File";
  }
}

}  // namespace

Json trainingLabels(const std::string& model, const std::string& run) {
  return Json{{std::string(kLabelModel), model},
              {std::string(kLabelTrainingRun), run},
              {std::string(kLabelComponent), std::string(kComponentTraining)},
              {std::string(kLabelManagedBy), std::string(kManagedBy)}};
}

std::vector<std::pair<std::string, std::string>> trainerEnvironment(const Json& run,
                                                                    const EffectiveInputs& inputs) {
  auto str = [](const Json& obj, const char* key) {
    return obj.is_object() && obj.contains(key) && obj[key].is_string()
               ? obj[key].get<std::string>()
               : "";
  };
  const Json hyper = inputs.hyperparameters.is_object() ? inputs.hyperparameters : Json::object();
  auto canonical = canonicalJson(hyper);
  const std::string hyperText =
      canonical ? *canonical : hyper.dump(-1, ' ', false, Json::error_handler_t::replace);
  return {{"MLOPS_MODEL", inputs.model},
          {"MLOPS_RUN", objects::nameOf(run)},
          {"MLOPS_NAMESPACE", objects::namespaceOf(run)},
          {"MLOPS_SEED", std::to_string(inputs.seed)},
          {"MLOPS_ARTIFACT_URI", inputs.artifactURI},
          {"MLOPS_DATASET_URI", str(inputs.dataset, "uri")},
          {"MLOPS_DATASET_DIGEST", inputs.datasetDigest},
          {"MLOPS_CODE_REVISION", str(inputs.code, "revision")},
          {"MLOPS_HYPERPARAMETERS", hyperText}};
}

Json renderJob(const Json& run, const EffectiveInputs& inputs) {
  const std::string name = objects::nameOf(run);
  const Json labels = trainingLabels(inputs.model, name);

  Json env = Json::array();
  for (const auto& [key, value] : trainerEnvironment(run, inputs)) {
    env.push_back({{"name", key}, {"value", value}});
  }

  Json podSpec = inputs.templateSpec.is_object() ? inputs.templateSpec : Json::object();
  for (const char* field : {"initContainers", "containers"}) {
    if (!podSpec.contains(field) || !podSpec[field].is_array()) {
      continue;
    }
    for (auto& container : podSpec[field]) {
      if (container.is_object()) {
        prepareContainer(container, env, inputs);
      }
    }
  }
  podSpec["restartPolicy"] = "Never";

  Json podMetadata = Json::object();
  Json podLabels = Json::object();
  const Json& userMeta = inputs.podMetadata;
  if (userMeta.is_object() && userMeta.contains("labels") && userMeta["labels"].is_object()) {
    podLabels = userMeta["labels"];
  }
  for (auto it = labels.begin(); it != labels.end(); ++it) {
    podLabels[it.key()] = it.value();
  }
  podMetadata["labels"] = std::move(podLabels);
  if (userMeta.is_object() && userMeta.contains("annotations") &&
      userMeta["annotations"].is_object() && !userMeta["annotations"].empty()) {
    podMetadata["annotations"] = userMeta["annotations"];
  }

  Json jobSpec{{"completions", 1}, {"parallelism", 1}, {"backoffLimit", 1}};
  if (const Json* v = specField(run, "backoffLimit"); v && v->is_number_integer()) {
    jobSpec["backoffLimit"] = *v;
  }
  if (const Json* v = specField(run, "activeDeadlineSeconds"); v && v->is_number_integer()) {
    jobSpec["activeDeadlineSeconds"] = *v;
  }
  if (const Json* v = specField(run, "ttlSecondsAfterFinished"); v && v->is_number_integer()) {
    jobSpec["ttlSecondsAfterFinished"] = *v;
  }
  jobSpec["template"] = Json{{"metadata", std::move(podMetadata)}, {"spec", std::move(podSpec)}};

  objects::OwnerReference owner;
  owner.apiVersion = std::string(kApiVersion);
  owner.kind = std::string(kTrainingRunKind);
  owner.name = name;
  owner.uid = objects::uidOf(run);
  owner.controller = true;
  owner.blockOwnerDeletion = true;
  return Json{{"apiVersion", "batch/v1"},
              {"kind", "Job"},
              {"metadata",
               {{"name", name},
                {"namespace", objects::namespaceOf(run)},
                {"labels", labels},
                {"ownerReferences", Json::array({owner.toJson()})}}},
              {"spec", std::move(jobSpec)}};
}

}  // namespace mlops::training
