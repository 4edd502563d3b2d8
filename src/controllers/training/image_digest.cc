#include "controllers/training/image_digest.h"

#include "core/json_access.h"
#include "objects/sha256.h"

namespace mlops::training {

using objects::isSha256Digest;

std::optional<std::string> digestFromImageID(std::string_view imageID) {
  if (isSha256Digest(imageID)) {
    return std::string(imageID);
  }
  constexpr std::string_view kDockerPullable = "docker-pullable://";
  if (imageID.substr(0, kDockerPullable.size()) == kDockerPullable) {
    imageID.remove_prefix(kDockerPullable.size());
  }
  const size_t at = imageID.rfind('@');
  if (at == std::string_view::npos || at == 0) {
    return std::nullopt;
  }
  const auto repo = imageID.substr(0, at);
  if (repo.find("://") != std::string_view::npos) {
    return std::nullopt;  // another scheme
  }
  const auto digest = imageID.substr(at + 1);
  if (!isSha256Digest(digest)) {
    return std::nullopt;
  }
  return std::string(digest);
}

std::string pinImage(std::string_view image, std::string_view digest) {
  std::string_view name = image.substr(0, image.find('@'));
  const size_t lastSlash = name.rfind('/');
  const size_t colon = name.rfind(':');
  if (colon != std::string_view::npos &&
      (lastSlash == std::string_view::npos || colon > lastSlash)) {
    name = name.substr(0, colon);
  }
  return std::string(name) + "@" + std::string(digest);
}

std::map<std::string, std::string> imageDigestsOfPod(const nlohmann::json& pod) {
  std::map<std::string, std::string> digests;
  if (!pod.is_object() || !pod.contains("status") || !pod["status"].is_object()) {
    return digests;
  }
  for (const char* field : {"initContainerStatuses", "containerStatuses"}) {
    const auto& status = pod["status"];
    if (!status.contains(field) || !status[field].is_array()) {
      continue;
    }
    for (const auto& cs : status[field]) {
      if (!cs.is_object()) {
        continue;
      }
      // stringMember, not value("name", ""): value() throws when the member
      // exists with another type.
      const std::string name = stringMember(cs, "name");
      const std::string imageID = stringMember(cs, "imageID");
      if (name.empty()) {
        continue;
      }
      if (auto digest = digestFromImageID(imageID)) {
        digests[name] = *digest;
      }
    }
  }
  return digests;
}

}  // namespace mlops::training
