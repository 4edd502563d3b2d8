// Small accessors for Kubernetes objects held as JSON, and the cache key.
//
// Keys follow client-go's MetaNamespaceKeyFunc: "namespace/name" for
// namespaced objects, "name" for cluster-scoped ones. Every accessor
// tolerates missing or mistyped fields and returns "" instead of throwing,
// because objects come from the network.
#pragma once

#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "objects/metadata.h"

namespace mlops::runtime {

using Json = nlohmann::json;

// The accessors live in objects/metadata.h (pure, shared with the decision
// libraries); runtime code keeps calling them by these names.
using objects::labelsOf;
using objects::nameOf;
using objects::namespaceOf;
using objects::resourceVersionOf;
using objects::uidOf;

std::string makeKey(const std::string& ns, const std::string& name);
std::string objectKey(const Json& obj);
// Inverse of makeKey: ("ns", "name") or ("", "name") for a key without '/'.
std::pair<std::string, std::string> splitKey(const std::string& key);

// Drops metadata.managedFields: large, and never needed by a controller.
void stripManagedFields(Json& obj);
// Drops the kubectl.kubernetes.io/last-applied-configuration annotation: a
// second copy of the whole object that `kubectl apply` (and GitOps tools
// built on it) keeps; no controller reads it, and a cached object is never
// written back whole (status writes go to the status subresource, which
// ignores metadata).
void stripLastAppliedConfiguration(Json& obj);

}  // namespace mlops::runtime
