// RFC 3339 timestamps as the API server writes them: UTC, whole seconds for
// metav1.Time ("2024-05-01T12:00:00Z"), six fractional digits for
// metav1.MicroTime (Leases, events.k8s.io); logs use milliseconds. The one
// formatter of the operator: nothing else formats time.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace mlops::objects {

enum class TimePrecision { kSeconds, kMilliseconds, kMicroseconds };

std::string formatTimestamp(std::chrono::system_clock::time_point t,
                            TimePrecision precision = TimePrecision::kSeconds);

// Accepts "YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)"; nullopt for anything else.
std::optional<std::chrono::system_clock::time_point> parseTimestamp(std::string_view text);

}  // namespace mlops::objects
