// Every Kubernetes permission the operator uses, with the code path that
// needs it. This table is the single source of truth for RBAC:
//
//   - at startup, preflight asks the API server about each entry (one
//     SelfSubjectAccessReview per entry) and refuses to start, naming every
//     permission missing, instead of retrying 403s forever;
//   - a unit test checks that deploy/rbac.yaml (and the Helm chart) grant
//     exactly these rules: nothing more, nothing less.
//
// Adding an API call means adding its row here, and its rule to
// deploy/rbac.yaml and helm/mlops-operator/templates/rbac.yaml.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/result.h"
#include "kube/client.h"

namespace mlops {

enum class PermissionScope {
  kWatched,         // the watched namespace(s): cluster-wide, or --namespace
  kLeaderElection,  // the leader-election namespace, only with --leader-elect
};

struct RequiredPermission {
  std::string group;        // "" for the core API group
  std::string resource;     // "jobs"
  std::string subresource;  // "status", or ""
  std::string verb;         // "get", "list", "watch", "create", "update", "patch"
  std::string name;         // restricts to one object (resourceNames), or ""
  PermissionScope scope = PermissionScope::kWatched;
  std::string why;  // the code path that needs it

  // "create jobs.batch", "update trainingruns.mlops.dev/status",
  // "update configmaps/mlops-version-registry": kubectl auth can-i's words.
  std::string describe() const;
};

// The whole table, in the order deploy/rbac.yaml lists it.
const std::vector<RequiredPermission>& requiredPermissions();

struct PermissionContext {
  std::string watchNamespace;  // "" = all namespaces
  bool leaderElection = false;
  std::string leaderElectionNamespace;  // with leaderElection
};

// One SelfSubjectAccessReview per permission that applies in `context`,
// asked of `client`. Transient failures are retried until `budget` is spent.
// An error names every permission denied, in one line, e.g.
//   "the operator's credentials lack permissions it needs: create jobs.batch
//    (creates the training Job of a TrainingRun); ... Apply deploy/rbac.yaml"
Status checkPermissions(kube::Client& client, const PermissionContext& context,
                        std::chrono::milliseconds budget);

}  // namespace mlops
