// RFC 3339 timestamps in UTC, as the Kubernetes API writes them:
// metav1.Time has whole seconds ("2024-05-01T12:00:00Z"), metav1.MicroTime
// six fractional digits; logs use milliseconds.
#pragma once

#include <chrono>
#include <string>

namespace mlops::runtime {

// `fractionalDigits` is 0 (seconds), 3 (milliseconds) or 6 (microseconds).
std::string formatRfc3339(std::chrono::system_clock::time_point t, int fractionalDigits = 0);

}  // namespace mlops::runtime
