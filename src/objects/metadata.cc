#include "objects/metadata.h"

#include <algorithm>

#include "core/json_access.h"

namespace mlops::objects {
namespace {

using Json = nlohmann::json;

const Json& metadataOf(const Json& obj) {
  return member(obj, "metadata");
}

const Json& mapOf(const Json& obj, const char* key) {
  static const Json kEmpty = Json::object();
  const Json& m = member(metadataOf(obj), key);
  return m.is_object() ? m : kEmpty;
}

OwnerReference referenceFrom(const Json& r) {
  OwnerReference out;
  out.apiVersion = stringMember(r, "apiVersion");
  out.kind = stringMember(r, "kind");
  out.name = stringMember(r, "name");
  out.uid = stringMember(r, "uid");
  const Json& controller = member(r, "controller");
  out.controller = controller.is_boolean() && controller.get<bool>();
  const Json& block = member(r, "blockOwnerDeletion");
  out.blockOwnerDeletion = block.is_boolean() && block.get<bool>();
  return out;
}

}  // namespace

std::string nameOf(const Json& obj) {
  return stringMember(metadataOf(obj), "name");
}

std::string namespaceOf(const Json& obj) {
  return stringMember(metadataOf(obj), "namespace");
}

std::string uidOf(const Json& obj) {
  return stringMember(metadataOf(obj), "uid");
}

std::string resourceVersionOf(const Json& obj) {
  return stringMember(metadataOf(obj), "resourceVersion");
}

int64_t generationOf(const Json& obj) {
  const Json& g = member(metadataOf(obj), "generation");
  return g.is_number_integer() ? g.get<int64_t>() : 0;
}

const Json& labelsOf(const Json& obj) {
  return mapOf(obj, "labels");
}

const Json& annotationsOf(const Json& obj) {
  return mapOf(obj, "annotations");
}

std::string labelOf(const Json& obj, const std::string& key) {
  return stringMember(labelsOf(obj), key.c_str());
}

std::string annotationOf(const Json& obj, const std::string& key) {
  return stringMember(annotationsOf(obj), key.c_str());
}

Json OwnerReference::toJson() const {
  return Json{{"apiVersion", apiVersion},
              {"kind", kind},
              {"name", name},
              {"uid", uid},
              {"controller", controller},
              {"blockOwnerDeletion", blockOwnerDeletion}};
}

std::optional<OwnerReference> controllerOf(const Json& obj) {
  const Json& refs = member(metadataOf(obj), "ownerReferences");
  if (!refs.is_array()) {
    return std::nullopt;
  }
  for (const auto& r : refs) {
    OwnerReference ref = referenceFrom(r);
    if (ref.controller) {
      return ref;
    }
  }
  return std::nullopt;
}

bool hasOwner(const Json& obj, const std::string& ownerUID) {
  const Json& refs = member(metadataOf(obj), "ownerReferences");
  if (!refs.is_array() || ownerUID.empty()) {
    return false;
  }
  return std::any_of(refs.begin(), refs.end(),
                     [&](const Json& r) { return stringMember(r, "uid") == ownerUID; });
}

bool isControlledBy(const Json& obj, const std::string& ownerUID) {
  const Json& refs = member(metadataOf(obj), "ownerReferences");
  if (!refs.is_array() || ownerUID.empty()) {
    return false;
  }
  return std::any_of(refs.begin(), refs.end(), [&](const Json& r) {
    const OwnerReference ref = referenceFrom(r);
    return ref.controller && ref.uid == ownerUID;
  });
}

OwnerReference makeOwnerReference(const Json& owner, bool controller) {
  OwnerReference ref;
  ref.apiVersion = stringMember(owner, "apiVersion");
  ref.kind = stringMember(owner, "kind");
  ref.name = nameOf(owner);
  ref.uid = uidOf(owner);
  ref.controller = controller;
  ref.blockOwnerDeletion = controller;
  return ref;
}

}  // namespace mlops::objects
