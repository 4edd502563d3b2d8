#include "controllers/training/cache_projection.h"

#include <algorithm>
#include <initializer_list>
#include <iterator>
#include <string_view>

namespace mlops::training {
namespace {

using Json = nlohmann::json;

// The labels this operator sets on its Jobs and their pods; the informers
// select on two of them (app.kubernetes.io/managed-by, /component), and the
// cache filters by those selectors again when read.
constexpr std::string_view kOwnLabelPrefixes[] = {"mlops.dev/", "app.kubernetes.io/"};

bool isOwnLabel(const std::string& key) {
  return std::any_of(std::begin(kOwnLabelPrefixes), std::end(kOwnLabelPrefixes),
                     [&](std::string_view prefix) { return key.rfind(prefix, 0) == 0; });
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

// Of the metadata, the identity, the owners (the decision checks which Job
// controls a pod; the Job's owner maps it to its run) and this operator's
// own labels (a pod's run label is an index, and the informers' selectors
// are read again from the cache). Annotations, managedFields,
// finalizers, generateName and the labels the Job controller stamps on
// every pod (its UID twice, its name twice) are not read.
void keepWhatTrainingReadsOfMetadata(Json& obj) {
  auto meta = obj.find("metadata");
  if (meta == obj.end() || !meta->is_object()) {
    return;
  }
  keepOnly(*meta, {"name", "namespace", "uid", "resourceVersion", "creationTimestamp",
                   "deletionTimestamp", "ownerReferences", "labels"});
  auto labels = meta->find("labels");
  if (labels != meta->end() && labels->is_object()) {
    for (auto it = labels->begin(); it != labels->end();) {
      it = isOwnLabel(it.key()) ? std::next(it) : labels->erase(it);
    }
  }
}

}  // namespace

void keepWhatTrainingReadsOfJob(Json& job) {
  if (!job.is_object()) {
    return;
  }
  keepWhatTrainingReadsOfMetadata(job);
  auto spec = job.find("spec");
  if (spec != job.end() && spec->is_object()) {
    keepOnly(*spec, {"suspend"});
  }
  // The counts, the times and the conditions, without their probe times.
  auto status = job.find("status");
  if (status == job.end() || !status->is_object()) {
    return;
  }
  keepOnly(*status, {"conditions", "active", "failed", "succeeded", "terminating", "startTime",
                     "completionTime"});
  auto conditions = status->find("conditions");
  if (conditions != status->end() && conditions->is_array()) {
    for (Json& c : *conditions) {
      if (c.is_object()) {
        keepOnly(c, {"type", "status", "reason", "message", "lastTransitionTime"});
      }
    }
  }
}

void keepWhatTrainingReadsOfPod(Json& pod) {
  if (!pod.is_object()) {
    return;
  }
  keepWhatTrainingReadsOfMetadata(pod);
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
