// Null-safe reads of API objects held as nlohmann::json: a missing key, or a
// parent that is not an object, reads as null (or "" for strings) instead of
// throwing, because objects from the API server omit empty fields.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace mlops {

// obj[key] when obj is an object holding key; otherwise a shared null.
inline const nlohmann::json& member(const nlohmann::json& obj, const char* key) {
  static const nlohmann::json kNull;
  if (!obj.is_object()) {
    return kNull;
  }
  const auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

// obj[key] when it is a string; otherwise "".
inline std::string stringMember(const nlohmann::json& obj, const char* key) {
  const nlohmann::json& v = member(obj, key);
  return v.is_string() ? v.get<std::string>() : "";
}

}  // namespace mlops
