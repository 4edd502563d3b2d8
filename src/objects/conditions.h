// status.conditions in the shape of metav1.Condition.
//
// setCondition() upserts one condition by type. lastTransitionTime changes
// only when the status (True/False/Unknown) changes — a new reason or message
// alone keeps it — so re-deciding an unchanged run writes identical
// conditions. observedGeneration is always the generation decided on.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace mlops::objects {

struct Condition {
  std::string type;
  std::string status;  // "True", "False", "Unknown"
  std::string reason;  // CamelCase, non-empty
  std::string message;
};

// `conditions` is status.conditions (an array; null is treated as empty and
// becomes an array). `now` is an RFC 3339 timestamp.
void setCondition(nlohmann::json& conditions, const Condition& condition,
                  int64_t observedGeneration, const std::string& now);

// The condition of `type`, or nullptr.
const nlohmann::json* findCondition(const nlohmann::json& conditions, std::string_view type);

}  // namespace mlops::objects
