// Pure accessors for Kubernetes object metadata held as JSON, shared by
// every controller: identity (name, namespace, uid, generation), labels and
// annotations, and owner references.
//
// Objects come from the network, so every reader tolerates missing or
// mistyped fields: a string reads as "", a number as 0, a map as an empty
// object, an absent owner as nullopt. Nothing here throws or does I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace mlops::objects {

std::string nameOf(const nlohmann::json& obj);
std::string namespaceOf(const nlohmann::json& obj);
std::string uidOf(const nlohmann::json& obj);
std::string resourceVersionOf(const nlohmann::json& obj);
// metadata.generation; 0 when absent.
int64_t generationOf(const nlohmann::json& obj);
// metadata.labels / metadata.annotations; an empty object when absent.
const nlohmann::json& labelsOf(const nlohmann::json& obj);
const nlohmann::json& annotationsOf(const nlohmann::json& obj);
// One label's or annotation's value; "" when absent.
std::string labelOf(const nlohmann::json& obj, const std::string& key);
std::string annotationOf(const nlohmann::json& obj, const std::string& key);

// One entry of metadata.ownerReferences.
struct OwnerReference {
  std::string apiVersion;
  std::string kind;
  std::string name;
  std::string uid;
  bool controller = false;
  bool blockOwnerDeletion = false;

  nlohmann::json toJson() const;
  bool operator==(const OwnerReference&) const = default;
};

// The owner reference with controller: true, if any.
std::optional<OwnerReference> controllerOf(const nlohmann::json& obj);
// Whether any owner reference (controlling or not) names `ownerUID`.
bool hasOwner(const nlohmann::json& obj, const std::string& ownerUID);
// Whether the controlling owner reference names `ownerUID`.
bool isControlledBy(const nlohmann::json& obj, const std::string& ownerUID);

// A reference to `owner` (its apiVersion, kind, name, uid) for an object it
// owns; `controller` also sets blockOwnerDeletion, as controllers do so that
// foreground deletion waits for the owned object.
OwnerReference makeOwnerReference(const nlohmann::json& owner, bool controller = true);

}  // namespace mlops::objects
