// Naming a kind of Kubernetes object on the wire: group, version, plural
// resource, and whether it lives in a namespace. Pure; builds URL paths.
#pragma once

#include <string>

namespace mlops::kube {

struct Resource {
  std::string group;     // "" for the core group
  std::string version;   // "v1"
  std::string resource;  // plural, lower case: "pods"
  std::string kind;      // "Pod"
  bool namespaced = true;

  // "v1" or "batch/v1": the apiVersion field of objects of this resource.
  std::string apiVersion() const;
  // "/api/v1/namespaces/ns/pods/name" (name and namespace may be empty:
  // empty namespace on a namespaced resource means all namespaces).
  std::string path(const std::string& ns, const std::string& name = "") const;
  // "pods" or "jobs.batch": for messages and metrics.
  std::string groupResource() const;
};

// Well-known resources the operator and its tests use.
namespace resources {
extern const Resource kNamespaces;
extern const Resource kPods;
extern const Resource kServices;
extern const Resource kConfigMaps;
extern const Resource kSecrets;
extern const Resource kServiceAccounts;
extern const Resource kEvents;  // core/v1 events
extern const Resource kJobs;
extern const Resource kDeployments;
extern const Resource kHorizontalPodAutoscalers;  // autoscaling/v2
extern const Resource kLeases;
extern const Resource kCustomResourceDefinitions;
extern const Resource kTrainingRuns;
extern const Resource kModelVersions;
extern const Resource kDriftPolicies;
}  // namespace resources

// Percent-encodes a query parameter value (RFC 3986 unreserved kept).
std::string urlEncode(const std::string& value);

}  // namespace mlops::kube
