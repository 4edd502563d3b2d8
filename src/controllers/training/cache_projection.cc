#include "controllers/training/cache_projection.h"

#include <algorithm>
#include <initializer_list>
#include <string_view>

namespace mlops::training {
namespace {

using Json = nlohmann::json;

void dropAnnotations(Json& obj) {
  auto meta = obj.find("metadata");
  if (meta != obj.end() && meta->is_object()) {
    meta->erase("annotations");
  }
}

// Erases every member of `obj` (an object) whose name is not in `keep`.
void keepOnly(Json& obj, std::initializer_list<std::string_view> keep) {
  for (auto it = obj.begin(); it != obj.end();) {
    if (std::find(keep.begin(), keep.end(), it.key()) == keep.end()) {
      it = obj.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace

void keepWhatTrainingReadsOfJob(Json& job) {
  if (!job.is_object()) {
    return;
  }
  dropAnnotations(job);
  auto spec = job.find("spec");
  if (spec != job.end() && spec->is_object()) {
    spec->erase("template");
    spec->erase("selector");
  }
}

void keepWhatTrainingReadsOfPod(Json& pod) {
  if (!pod.is_object()) {
    return;
  }
  dropAnnotations(pod);
  pod.erase("spec");
  // Of the status the decision reads the phase, reason and message, and of
  // each container's status its name, state and imageID. What else a status
  // holds is the node's view of the pod (conditions, addresses, QoS class)
  // and, from a kubelet, each container's mounts, resources, user and ids:
  // on a kwok pod about a quarter of what is left, on a real one more. A
  // list of what stays, so fields a newer kubelet adds are dropped too.
  auto status = pod.find("status");
  if (status == pod.end() || !status->is_object()) {
    return;
  }
  keepOnly(*status, {"phase", "reason", "message", "containerStatuses", "initContainerStatuses"});
  for (const char* list : {"containerStatuses", "initContainerStatuses"}) {
    auto statuses = status->find(list);
    if (statuses == status->end() || !statuses->is_array()) {
      continue;
    }
    for (Json& cs : *statuses) {
      if (cs.is_object()) {
        keepOnly(cs, {"name", "state", "imageID"});
      }
    }
  }
}

}  // namespace mlops::training
