// Image digests: reading them from pod status, pinning images to them.
//
// A container status's imageID yields a digest ("sha256:" + 64 lowercase hex)
// in exactly three forms:
//   <repo>@sha256:<hex>                      (containerd, CRI-O)
//   docker-pullable://<repo>@sha256:<hex>     (dockershim / cri-dockerd)
//   sha256:<hex>                              (a bare image config digest)
// Anything else — empty, a tag only, "docker://sha256:…", uppercase or short
// hex, text after the digest — yields no digest.
//
// A bare config digest identifies the image but is not a registry manifest
// digest; pinning "repo@<config digest>" then fails to pull. We record it
// anyway (it is what the node ran) and let the pull error show in status.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace mlops::training {

std::optional<std::string> digestFromImageID(std::string_view imageID);

// `image` with any tag and any digest removed and `digest` appended:
// pinImage("reg:5000/ml/trainer:1.4@sha256:old", "sha256:new")
//   == "reg:5000/ml/trainer@sha256:new". (A ':' before the last '/' is a
// registry port, not a tag.)
std::string pinImage(std::string_view image, std::string_view digest);

// Container name → digest for every status in pod.status.containerStatuses
// and initContainerStatuses whose imageID parses. Containers that have not
// started yet (no imageID) or whose imageID is in another form are absent.
std::map<std::string, std::string> imageDigestsOfPod(const nlohmann::json& pod);

}  // namespace mlops::training
