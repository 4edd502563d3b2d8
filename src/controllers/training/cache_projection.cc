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
}

}  // namespace mlops::training
