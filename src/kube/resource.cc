#include "kube/resource.h"

namespace mlops::kube {

std::string Resource::apiVersion() const {
  return group.empty() ? version : group + "/" + version;
}

std::string Resource::path(const std::string& ns, const std::string& name) const {
  std::string out = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  if (namespaced && !ns.empty()) {
    out += "/namespaces/" + urlEncode(ns);
  }
  out += "/" + resource;
  // Names are validated by the API server; encoding them keeps a stray '/'
  // or '?' from changing which URL we ask for.
  if (!name.empty()) {
    out += "/" + urlEncode(name);
  }
  return out;
}

std::string Resource::groupResource() const {
  return group.empty() ? resource : resource + "." + group;
}

namespace resources {

// These constants are read by other translation units' static initializers
// (tables of watched kinds, for example). init_priority makes sure they are
// constructed before any default-priority static object, whatever the link
// order.
#define MLOPS_EARLY_INIT __attribute__((init_priority(200)))

const Resource kNamespaces MLOPS_EARLY_INIT{"", "v1", "namespaces", "Namespace", false};
const Resource kPods MLOPS_EARLY_INIT{"", "v1", "pods", "Pod", true};
const Resource kServices MLOPS_EARLY_INIT{"", "v1", "services", "Service", true};
const Resource kConfigMaps MLOPS_EARLY_INIT{"", "v1", "configmaps", "ConfigMap", true};
const Resource kSecrets MLOPS_EARLY_INIT{"", "v1", "secrets", "Secret", true};
const Resource kServiceAccounts MLOPS_EARLY_INIT{"", "v1", "serviceaccounts", "ServiceAccount",
                                                 true};
const Resource kEvents MLOPS_EARLY_INIT{"", "v1", "events", "Event", true};
const Resource kJobs MLOPS_EARLY_INIT{"batch", "v1", "jobs", "Job", true};
const Resource kDeployments MLOPS_EARLY_INIT{"apps", "v1", "deployments", "Deployment", true};
const Resource kHorizontalPodAutoscalers MLOPS_EARLY_INIT{
    "autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", true};
const Resource kLeases MLOPS_EARLY_INIT{"coordination.k8s.io", "v1", "leases", "Lease", true};
const Resource kCustomResourceDefinitions MLOPS_EARLY_INIT{
    "apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", false};
const Resource kTrainingRuns MLOPS_EARLY_INIT{"mlops.dev", "v1alpha1", "trainingruns",
                                              "TrainingRun", true};
const Resource kModelVersions MLOPS_EARLY_INIT{"mlops.dev", "v1alpha1", "modelversions",
                                               "ModelVersion", true};
const Resource kDriftPolicies MLOPS_EARLY_INIT{"mlops.dev", "v1alpha1", "driftpolicies",
                                               "DriftPolicy", true};

#undef MLOPS_EARLY_INIT

}  // namespace resources

std::string urlEncode(const std::string& value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (unsigned char c : value) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0x0F];
    }
  }
  return out;
}

}  // namespace mlops::kube
