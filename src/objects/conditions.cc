#include "objects/conditions.h"

namespace mlops::objects {

const nlohmann::json* findCondition(const nlohmann::json& conditions, std::string_view type) {
  if (!conditions.is_array()) {
    return nullptr;
  }
  for (const auto& c : conditions) {
    if (c.is_object() && c.contains("type") && c["type"].is_string() &&
        c["type"].get<std::string>() == type) {
      return &c;
    }
  }
  return nullptr;
}

void setCondition(nlohmann::json& conditions, const Condition& condition,
                  int64_t observedGeneration, const std::string& now) {
  if (!conditions.is_array()) {
    conditions = nlohmann::json::array();
  }
  nlohmann::json updated{{"type", condition.type},
                         {"status", condition.status},
                         {"reason", condition.reason},
                         {"message", condition.message},
                         {"observedGeneration", observedGeneration},
                         {"lastTransitionTime", now}};
  for (auto& c : conditions) {
    if (!c.is_object() || c.value("type", "") != condition.type) {
      continue;
    }
    if (c.value("status", "") == condition.status && c.contains("lastTransitionTime")) {
      updated["lastTransitionTime"] = c["lastTransitionTime"];
    }
    c = std::move(updated);
    return;
  }
  conditions.push_back(std::move(updated));
}

}  // namespace mlops::objects
