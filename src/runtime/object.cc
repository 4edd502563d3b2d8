#include "runtime/object.h"

namespace mlops::runtime {
namespace {

std::string metadataString(const Json& obj, const char* field) {
  if (!obj.is_object()) {
    return "";
  }
  auto meta = obj.find("metadata");
  if (meta == obj.end() || !meta->is_object()) {
    return "";
  }
  auto it = meta->find(field);
  if (it == meta->end() || !it->is_string()) {
    return "";
  }
  return it->get<std::string>();
}

}  // namespace

std::string namespaceOf(const Json& obj) {
  return metadataString(obj, "namespace");
}
std::string nameOf(const Json& obj) {
  return metadataString(obj, "name");
}
std::string uidOf(const Json& obj) {
  return metadataString(obj, "uid");
}
std::string resourceVersionOf(const Json& obj) {
  return metadataString(obj, "resourceVersion");
}

const Json& labelsOf(const Json& obj) {
  static const Json kEmpty = Json::object();
  if (!obj.is_object()) {
    return kEmpty;
  }
  auto meta = obj.find("metadata");
  if (meta == obj.end() || !meta->is_object()) {
    return kEmpty;
  }
  auto labels = meta->find("labels");
  if (labels == meta->end() || !labels->is_object()) {
    return kEmpty;
  }
  return *labels;
}

std::string makeKey(const std::string& ns, const std::string& name) {
  return ns.empty() ? name : ns + "/" + name;
}

std::string objectKey(const Json& obj) {
  return makeKey(namespaceOf(obj), nameOf(obj));
}

std::pair<std::string, std::string> splitKey(const std::string& key) {
  auto slash = key.find('/');
  if (slash == std::string::npos) {
    return {"", key};
  }
  return {key.substr(0, slash), key.substr(slash + 1)};
}

void stripManagedFields(Json& obj) {
  if (!obj.is_object()) {
    return;
  }
  auto meta = obj.find("metadata");
  if (meta == obj.end() || !meta->is_object()) {
    return;
  }
  meta->erase("managedFields");
}

}  // namespace mlops::runtime
