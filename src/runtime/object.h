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

namespace mlops::runtime {

using Json = nlohmann::json;

std::string namespaceOf(const Json& obj);
std::string nameOf(const Json& obj);
std::string uidOf(const Json& obj);
std::string resourceVersionOf(const Json& obj);
// metadata.labels as an object (an empty object when absent).
const Json& labelsOf(const Json& obj);

std::string makeKey(const std::string& ns, const std::string& name);
std::string objectKey(const Json& obj);
// Inverse of makeKey: ("ns", "name") or ("", "name") for a key without '/'.
std::pair<std::string, std::string> splitKey(const std::string& key);

// Drops metadata.managedFields: large, and never needed by a controller.
void stripManagedFields(Json& obj);

}  // namespace mlops::runtime
