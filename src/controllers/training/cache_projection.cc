#include "controllers/training/cache_projection.h"

namespace mlops::training {
namespace {

using Json = nlohmann::json;

void dropAnnotations(Json& obj) {
  auto meta = obj.find("metadata");
  if (meta != obj.end() && meta->is_object()) {
    meta->erase("annotations");
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
  // Of the status the decision reads the phase, reason, message and the
  // container statuses; the rest is the node's view of the pod (its
  // conditions, addresses and QoS class), about a quarter of what is left.
  auto status = pod.find("status");
  if (status != pod.end() && status->is_object()) {
    for (const char* field : {"conditions", "hostIP", "hostIPs", "podIP", "podIPs", "qosClass"}) {
      status->erase(field);
    }
  }
}

}  // namespace mlops::training
