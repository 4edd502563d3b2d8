// RFC 3339 timestamps as the API server writes them (metav1.Time): UTC,
// whole seconds, "2024-05-01T12:00:00Z".
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace mlops::objects {

std::string formatTimestamp(std::chrono::system_clock::time_point t);

// Accepts "YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)"; nullopt for anything else.
std::optional<std::chrono::system_clock::time_point> parseTimestamp(std::string_view text);

}  // namespace mlops::objects
