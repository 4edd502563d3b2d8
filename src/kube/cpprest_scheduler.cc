#include "kube/cpprest_scheduler.h"

#include <pplx/pplx.h>

namespace mlops::kube {

void ensureCpprestScheduler() {
  try {
    static const std::shared_ptr<pplx::scheduler_interface> scheduler =
        pplx::get_ambient_scheduler();
    (void)scheduler;
  } catch (...) {
    // Out of memory creating it: cpprestsdk will try again on first use,
    // where a failure becomes that request's error.
  }
}

}  // namespace mlops::kube
