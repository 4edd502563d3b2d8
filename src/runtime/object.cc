#include "runtime/object.h"

namespace mlops::runtime {

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

void stripLastAppliedConfiguration(Json& obj) {
  if (!obj.is_object()) {
    return;
  }
  auto meta = obj.find("metadata");
  if (meta == obj.end() || !meta->is_object()) {
    return;
  }
  auto annotations = meta->find("annotations");
  if (annotations == meta->end() || !annotations->is_object()) {
    return;
  }
  annotations->erase("kubectl.kubernetes.io/last-applied-configuration");
  if (annotations->empty()) {
    meta->erase("annotations");
  }
}

}  // namespace mlops::runtime
