#include "main/required_permissions.h"

#include <algorithm>
#include <thread>

namespace mlops {
namespace {

const kube::Resource kSelfSubjectAccessReviews{
    "authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", false};

constexpr const char* kInformer = "informer";

std::vector<RequiredPermission> buildTable() {
  std::vector<RequiredPermission> t;
  const auto add = [&](const char* group, const char* resource, const char* subresource,
                       std::initializer_list<const char*> verbs, const std::string& why,
                       const char* name = "", PermissionScope scope = PermissionScope::kWatched) {
    for (const char* verb : verbs) {
      t.push_back({group, resource, subresource, verb, name, scope, why});
    }
  };
  // The project's kinds.
  add("mlops.dev", "trainingruns", "", {"list", "watch"},
      std::string(kInformer) + " of TrainingRuns (main, TrainingRun controller)");
  add("mlops.dev", "trainingruns", "", {"get"},
      "TrainingRun controller re-reads a run from the API server when its version claim "
      "conflicts with another writer's; drift controller reads a retraining run it created "
      "that the cache does not show yet, and one whose name its create found taken");
  add("mlops.dev", "trainingruns", "", {"create"},
      "drift controller creates a retraining TrainingRun when a drift check reaches breachAfter");
  add("mlops.dev", "trainingruns", "status", {"update"},
      "TrainingRun controller writes a run's status (updateStatus)");
  add("mlops.dev", "trainingruns", "finalizers", {"update"},
      "training Jobs are owned by their TrainingRun with blockOwnerDeletion, which the "
      "OwnerReferencesPermissionEnforcement admission plugin only allows with this");
  add("mlops.dev", "modelversions", "", {"get"},
      "version registry re-reads a ModelVersion after a conflict or a taken name");
  add("mlops.dev", "modelversions", "", {"list", "watch"},
      std::string(kInformer) +
          " of ModelVersions (main, TrainingRun controller); the version registry lists a "
          "model's versions");
  add("mlops.dev", "modelversions", "", {"create"},
      "version registry registers a run's ModelVersion");
  add("mlops.dev", "modelversions", "status", {"update"},
      "version registry marks a new ModelVersion Registered");
  add("mlops.dev", "modelversions", "", {"patch"},
      "rollout controller adds and removes the production version's finalizer "
      "(mlops.dev/production-protection)");
  add("mlops.dev", "driftpolicies", "", {"list", "watch"},
      std::string(kInformer) + " of DriftPolicies (main, rollout and drift controllers)");
  add("mlops.dev", "driftpolicies", "status", {"update"},
      "drift controller writes a DriftPolicy's status (updateStatus)");
  add("mlops.dev", "driftpolicies", "", {"get"},
      "rollout controller confirms on the API server that a model has no DriftPolicy before a "
      "rolling update");
  // Serving: the stable and canary Deployments and the Service of each model.
  add("apps", "deployments", "", {"list", "watch"},
      std::string(kInformer) + " of serving Deployments (rollout controller)");
  add("apps", "deployments", "", {"get"},
      "rollout controller checks that a serving name is not held by an unmanaged Deployment");
  add("apps", "deployments", "", {"create", "patch"},
      "rollout controller applies the stable and canary Deployments (server-side apply: a "
      "PATCH that creates the object the first time)");
  add("apps", "deployments", "", {"delete"},
      "rollout controller removes a decided canary and a decommissioned model's Deployment");
  add("", "services", "", {"list", "watch"},
      std::string(kInformer) + " of serving Services (rollout controller)");
  add("", "services", "", {"get"},
      "rollout controller checks that a serving name is not held by an unmanaged Service");
  add("", "services", "", {"create", "patch"},
      "rollout controller applies a model's Service (server-side apply: a PATCH that creates "
      "the object the first time)");
  add("", "services", "", {"delete"},
      "rollout controller removes a decommissioned model's Service");
  add("autoscaling", "horizontalpodautoscalers", "", {"list", "watch"},
      std::string(kInformer) +
          " of HorizontalPodAutoscalers (rollout controller: a stable Deployment an autoscaler "
          "targets is applied without spec.replicas)");
  add("", "secrets", "", {"get"},
      "rollout and drift controllers read a DriftPolicy's Prometheus bearer token (only Secrets "
      "labelled "
      "mlops.dev/prometheus-credentials=true are used)");
  add("", "namespaces", "", {"get"},
      "rollout controller drops the production version's finalizer when its namespace is "
      "terminating");
  // Training Jobs and their pods.
  add("batch", "jobs", "", {"get"},
      "TrainingRun controller reads a run's Job from the API server before creating one");
  add("batch", "jobs", "", {"list", "watch"},
      std::string(kInformer) + " of training Jobs (TrainingRun controller)");
  add("batch", "jobs", "", {"create"}, "TrainingRun controller creates a run's training Job");
  add("", "pods", "", {"list", "watch"},
      std::string(kInformer) +
          " of training pods: results and image digests (TrainingRun controller)");
  // The version registry's high-water marks.
  add("", "configmaps", "", {"get"}, "version registry reads ConfigMap mlops-version-registry");
  add("", "configmaps", "", {"create"},
      "version registry creates ConfigMap mlops-version-registry in a namespace's first "
      "registration");
  add("", "configmaps", "", {"update"},
      "version registry raises the high-water mark in ConfigMap mlops-version-registry",
      "mlops-version-registry");
  // Events about the objects the operator handles.
  add("", "events", "", {"create", "patch"},
      "event recorder: creates Events and patches repeated ones (count)");
  add("", "events", "", {"list", "watch"},
      "TrainingRun controller caches the Job controller's FailedCreate events (why a training "
      "Job has no pod)");
  // Leader election.
  add("coordination.k8s.io", "leases", "", {"get", "create", "update"},
      "leader election holds and renews its Lease (--leader-elect)", "",
      PermissionScope::kLeaderElection);
  return t;
}

bool transient(const Error& e) {
  return e.transient();
}

}  // namespace

std::string RequiredPermission::describe() const {
  std::string out = verb + " " + resource;
  if (!group.empty()) {
    out += "." + group;
  }
  if (!subresource.empty()) {
    out += "/" + subresource;
  }
  if (!name.empty()) {
    out += "/" + name;
  }
  return out;
}

const std::vector<RequiredPermission>& requiredPermissions() {
  static const std::vector<RequiredPermission> table = buildTable();
  return table;
}

Status checkPermissions(kube::Client& client, const PermissionContext& context,
                        std::chrono::milliseconds budget) {
  const auto deadline = std::chrono::steady_clock::now() + budget;
  std::vector<std::string> missing;
  for (const RequiredPermission& p : requiredPermissions()) {
    std::string ns;
    if (p.scope == PermissionScope::kLeaderElection) {
      if (!context.leaderElection) {
        continue;
      }
      ns = context.leaderElectionNamespace;
    } else {
      ns = context.watchNamespace;
    }
    kube::Json attributes = {{"verb", p.verb}, {"group", p.group}, {"resource", p.resource}};
    if (!p.subresource.empty()) {
      attributes["subresource"] = p.subresource;
    }
    if (!p.name.empty()) {
      attributes["name"] = p.name;
    }
    if (!ns.empty()) {
      attributes["namespace"] = ns;
    }
    const kube::Json review = {{"apiVersion", "authorization.k8s.io/v1"},
                               {"kind", "SelfSubjectAccessReview"},
                               {"spec", {{"resourceAttributes", attributes}}}};
    auto pause = std::chrono::milliseconds(250);
    while (true) {
      auto reply = client.create(kSelfSubjectAccessReviews, "", review);
      if (reply.ok()) {
        const kube::Json* status = nullptr;
        if (reply->is_object()) {
          auto it = reply->find("status");
          if (it != reply->end() && it->is_object()) {
            status = &*it;
          }
        }
        if (status == nullptr) {
          return makeError(ErrorCode::kInternal,
                           "cannot check the operator's permissions: the API server's "
                           "SelfSubjectAccessReview answer has no status");
        }
        auto allowed = status->find("allowed");
        if (allowed == status->end() || !allowed->is_boolean() || !allowed->get<bool>()) {
          missing.push_back(p.describe() + (ns.empty() ? "" : " in namespace " + ns) + " (" +
                            p.why + ")");
        }
        break;
      }
      const Error& e = reply.error();
      if (!transient(e) || std::chrono::steady_clock::now() + pause > deadline) {
        Error out = e;
        out.message = "cannot check the operator's permissions: " + e.message;
        return out;
      }
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds(2000));
    }
  }
  if (missing.empty()) {
    return okStatus();
  }
  std::string list;
  for (const std::string& m : missing) {
    list += (list.empty() ? "" : "; ") + m;
  }
  return makeError(ErrorCode::kForbidden,
                   "the operator's credentials lack " + std::to_string(missing.size()) +
                       " permission(s) it needs: " + list +
                       ". Grant them (deploy/rbac.yaml lists every rule the operator needs)");
}

}  // namespace mlops
