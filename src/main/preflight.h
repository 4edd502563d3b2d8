// Startup checks that turn a misconfiguration into one clear line and a
// non-zero exit instead of a crash, a hang, or a retry loop: the API server
// must answer and accept our credentials before anything else starts.
#pragma once

#include <chrono>

#include "core/result.h"
#include "kube/client.h"

namespace mlops {

// Asks the API server who we are (a SelfSubjectReview, which every
// authenticated identity may create). Transient failures (connection refused,
// timeouts, 5xx) are retried until `budget` is spent; a rejected credential
// fails at once. The error message says what to fix.
Status checkApiServerAccess(kube::Client& client, const std::string& server,
                            std::chrono::milliseconds budget);

}  // namespace mlops
