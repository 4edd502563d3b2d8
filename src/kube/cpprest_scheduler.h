// cpprestsdk's task scheduler, created once before any concurrent use.
//
// cpprestsdk creates its process-wide default scheduler lazily, on the first
// task any thread starts, behind a spin lock inside the (uninstrumented)
// library. Two threads sending their first requests at once race on it as
// ThreadSanitizer sees it (prometheus.PrometheusHttpClient.
// ManyConcurrentQueriesWithSlowBodies: 64 threads, the process's first
// requests). Each client factory calls this from the thread that builds the
// client, before that client sends anything, so the scheduler exists before
// the threads that use it start.
#pragma once

namespace mlops::kube {

// Idempotent and thread-safe (a function-local static); never throws.
void ensureCpprestScheduler();

}  // namespace mlops::kube
