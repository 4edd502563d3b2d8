// Reading objects in the end-to-end tests without asserting on their shape:
// a missing field reads as null or "", so a test's own expectation says
// what was wrong.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace mlops::e2e {

// The value at a JSON pointer, or null (never inserts, never asserts).
inline nlohmann::json field(const nlohmann::json& obj, const std::string& pointer) {
  const nlohmann::json::json_pointer p(pointer);
  return obj.contains(p) ? obj.at(p) : nlohmann::json();
}

// The string at a JSON pointer, or "".
inline std::string str(const nlohmann::json& obj, const std::string& pointer) {
  const nlohmann::json v = field(obj, pointer);
  return v.is_string() ? v.get<std::string>() : "";
}

// The status of the condition `type` in status.conditions, or "".
inline std::string conditionStatus(const nlohmann::json& obj, const std::string& type) {
  const nlohmann::json conditions = field(obj, "/status/conditions");
  if (conditions.is_array()) {
    for (const auto& c : conditions) {
      if (c.value("type", "") == type) return c.value("status", "");
    }
  }
  return "";
}

}  // namespace mlops::e2e
