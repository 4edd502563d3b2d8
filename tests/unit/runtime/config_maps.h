// The resource the runtime's unit and integration tests use most: ConfigMaps
// need no CRD, so every plane and fake serves them.
#pragma once

#include "kube/resource.h"

namespace mlops::runtime {

inline const kube::Resource& cms() {
  return kube::resources::kConfigMaps;
}

}  // namespace mlops::runtime
