#include "controllers/rollout/serving.h"

#include <string>

#include "core/json_access.h"

namespace mlops::rollout {
namespace {

using Json = nlohmann::json;

constexpr int64_t kDefaultPort = 8080;

Json servingLabels(std::string_view model, std::string_view track) {
  return Json{{std::string(kLabelModel), std::string(model)},
              {std::string(kLabelTrack), std::string(track)}};
}

int64_t servingPort(const Json& serving) {
  const Json& port = member(serving, "port");
  return port.is_number_integer() ? port.get<int64_t>() : kDefaultPort;
}

// Index of the serving container in `containers`, or -1.
int servingContainerIndex(const Json& containers, const std::string& name) {
  for (size_t i = 0; i < containers.size(); ++i) {
    if (name.empty() || stringMember(containers[i], "name") == name) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

// Our variables replace any of the same name the template set, so the
// container always sees the version it serves.
void setModelEnv(Json& container, const Json& version) {
  const Json& spec = member(version, "spec");
  const Json& artifact = member(spec, "artifact");
  const Json& versionNumber = member(spec, "version");
  const std::pair<const char*, std::string> ours[] = {
      {"MLOPS_MODEL", stringMember(spec, "model")},
      {"MLOPS_MODEL_VERSION", versionNumber.is_number_integer()
                                  ? std::to_string(versionNumber.get<int64_t>())
                                  : std::string()},
      {"MLOPS_MODEL_URI", stringMember(artifact, "uri")},
      {"MLOPS_MODEL_DIGEST", stringMember(artifact, "digest")},
  };
  Json env = Json::array();
  if (container.contains("env") && container["env"].is_array()) {
    for (const Json& var : container["env"]) {
      const std::string name = stringMember(var, "name");
      bool replaced = false;
      for (const auto& [ourName, value] : ours) {
        replaced = replaced || name == ourName;
      }
      if (!replaced) {
        env.push_back(var);
      }
    }
  }
  for (const auto& [name, value] : ours) {
    env.push_back(Json{{"name", name}, {"value", value}});
  }
  container["env"] = std::move(env);
}

// The named port "http" replaces a port of that name or number.
void setHttpPort(Json& container, int64_t port) {
  Json ports = Json::array();
  if (container.contains("ports") && container["ports"].is_array()) {
    for (const Json& p : container["ports"]) {
      const Json& number = member(p, "containerPort");
      if (stringMember(p, "name") == "http" ||
          (number.is_number_integer() && number.get<int64_t>() == port)) {
        continue;
      }
      ports.push_back(p);
    }
  }
  ports.push_back(Json{{"name", "http"}, {"containerPort", port}, {"protocol", "TCP"}});
  container["ports"] = std::move(ports);
}

Error invalidServing(const std::string& message) {
  return makeError(ErrorCode::kInvalidArgument, message);
}

}  // namespace

std::string deploymentName(std::string_view model, std::string_view track) {
  std::string name(model);
  if (track == kTrackCanary) {
    name += "-canary";
  }
  return name;
}

std::string serviceName(std::string_view model) {
  return std::string(model);
}

Json ownerReferences(const std::vector<Json>& owners, const std::string& controller) {
  Json refs = Json::array();
  for (const Json& owner : owners) {
    const Json& meta = member(owner, "metadata");
    const std::string name = stringMember(meta, "name");
    Json ref{{"apiVersion", std::string(kApiVersion)},
             {"kind", std::string(kModelVersionKind)},
             {"name", name},
             {"uid", stringMember(meta, "uid")}};
    if (name == controller) {
      ref["controller"] = true;
    }
    refs.push_back(std::move(ref));
  }
  return refs;
}

Result<Json> renderDeployment(const Json& version, const DeploymentParams& params) {
  const Json& meta = member(version, "metadata");
  const Json& spec = member(version, "spec");
  const Json& serving = member(spec, "serving");
  const std::string ns = stringMember(meta, "namespace");
  const std::string model = stringMember(spec, "model");
  const Json& versionNumber = member(spec, "version");
  if (!versionNumber.is_number_integer()) {
    return invalidServing("spec.version: not an integer");
  }
  const Json& templ = member(serving, "template");
  if (!templ.is_object()) {
    return invalidServing("spec.serving.template: required to serve this version");
  }
  Json podTemplate = templ;
  Json& podSpec = podTemplate["spec"];
  if (!podSpec.is_object() || !podSpec.contains("containers") ||
      !podSpec["containers"].is_array() || podSpec["containers"].empty()) {
    return invalidServing("spec.serving.template.spec.containers: at least one container needed");
  }
  const std::string containerName = stringMember(serving, "container");
  const int index = servingContainerIndex(podSpec["containers"], containerName);
  if (index < 0) {
    return invalidServing("spec.serving.container: no container named \"" + containerName +
                          "\" in spec.serving.template");
  }
  Json& container = podSpec["containers"][static_cast<size_t>(index)];
  setModelEnv(container, version);
  setHttpPort(container, servingPort(serving));

  Json& podMeta = podTemplate["metadata"];
  if (!podMeta.is_object()) {
    podMeta = Json::object();
  }
  Json& podLabels = podMeta["labels"];
  if (!podLabels.is_object()) {
    podLabels = Json::object();
  }
  podLabels[std::string(kLabelModel)] = model;
  podLabels[std::string(kLabelTrack)] = std::string(params.track);
  podLabels[std::string(kLabelVersion)] = std::to_string(versionNumber.get<int64_t>());
  podLabels[std::string(kLabelComponent)] = std::string(kComponentServing);
  podLabels[std::string(kLabelManagedBy)] = std::string(kManagedBy);

  Json labels = servingLabels(model, params.track);
  labels[std::string(kLabelVersion)] = std::to_string(versionNumber.get<int64_t>());
  labels[std::string(kLabelComponent)] = std::string(kComponentServing);
  labels[std::string(kLabelManagedBy)] = std::string(kManagedBy);

  Json deploymentSpec{
      {"selector", {{"matchLabels", servingLabels(model, params.track)}}},
      {"template", std::move(podTemplate)},
      {"progressDeadlineSeconds", params.progressDeadlineSeconds},
  };
  if (params.replicas) {
    deploymentSpec["replicas"] = *params.replicas;
  }
  return Json{
      {"apiVersion", "apps/v1"},
      {"kind", "Deployment"},
      {"metadata",
       {{"name", deploymentName(model, params.track)},
        {"namespace", ns},
        {"labels", std::move(labels)},
        {"ownerReferences", params.ownerReferences}}},
      {"spec", std::move(deploymentSpec)},
  };
}

Json renderService(const std::string& ns, const std::string& model, const Json& ownerRefs) {
  return Json{
      {"apiVersion", "v1"},
      {"kind", "Service"},
      {"metadata",
       {{"name", serviceName(model)},
        {"namespace", ns},
        {"labels",
         {{std::string(kLabelModel), model},
          {std::string(kLabelComponent), std::string(kComponentServing)},
          {std::string(kLabelManagedBy), std::string(kManagedBy)}}},
        {"ownerReferences", ownerRefs}}},
      {"spec",
       {{"selector",
         {{std::string(kLabelModel), model},
          {std::string(kLabelComponent), std::string(kComponentServing)}}},
        {"ports", Json::array({Json{{"name", "http"},
                                    {"port", kDefaultPort},
                                    {"targetPort", "http"},
                                    {"protocol", "TCP"}}})}}},
  };
}

bool isManagedByOperator(const Json& object) {
  return stringMember(member(member(object, "metadata"), "labels"),
                      std::string(kLabelManagedBy).c_str()) == kManagedBy;
}

std::optional<int64_t> servedVersion(const Json& deployment) {
  const std::string text = stringMember(
      member(member(member(member(deployment, "spec"), "template"), "metadata"), "labels"),
      std::string(kLabelVersion).c_str());
  if (text.empty() || text.size() > 18 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::stoll(text);
}

Availability availabilityOf(const Json& deployment) {
  Availability out;
  const Json& meta = member(deployment, "metadata");
  const Json& spec = member(deployment, "spec");
  const Json& status = member(deployment, "status");
  const Json& generation = member(meta, "generation");
  const Json& observed = member(status, "observedGeneration");
  const auto integer = [](const Json& v) { return v.is_number_integer() ? v.get<int64_t>() : 0; };
  const int64_t replicas =
      member(spec, "replicas").is_number_integer() ? member(spec, "replicas").get<int64_t>() : 1;
  if (integer(observed) < integer(generation)) {
    out.message = "the Deployment controller has not seen the current spec yet";
    return out;
  }
  bool availableCondition = false;
  const Json& conditions = member(status, "conditions");
  if (conditions.is_array()) {
    for (const Json& c : conditions) {
      const std::string type = stringMember(c, "type");
      if (type == "Available" && stringMember(c, "status") == "True") {
        availableCondition = true;
        out.availableSince = stringMember(c, "lastTransitionTime");
      }
      if (type == "Progressing" && stringMember(c, "status") == "False" &&
          stringMember(c, "reason") == "ProgressDeadlineExceeded") {
        out.deadlineExceeded = true;
        out.message = stringMember(c, "message");
      }
    }
  }
  const int64_t updated = integer(member(status, "updatedReplicas"));
  const int64_t available = integer(member(status, "availableReplicas"));
  const int64_t total = integer(member(status, "replicas"));
  out.available =
      availableCondition && updated >= replicas && available >= replicas && total == updated;
  if (!out.available && out.message.empty()) {
    out.message = std::to_string(available) + " of " + std::to_string(replicas) +
                  " replicas available, " + std::to_string(updated) + " updated";
  }
  return out;
}

}  // namespace mlops::rollout
