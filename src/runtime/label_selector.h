// Kubernetes label selectors in their string form, parsed and matched.
//
// Supports the syntax the API server accepts for `labelSelector`:
// `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k` (exists) and
// `!k` (does not exist), joined by commas (a logical AND). The empty selector
// matches everything. Used by the cache reader to answer filtered lists the
// way the API server would. Immutable after parse; safe to share.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace mlops::runtime {

class LabelSelector {
 public:
  enum class Op { kEquals, kNotEquals, kIn, kNotIn, kExists, kDoesNotExist };
  struct Requirement {
    std::string key;
    Op op = Op::kExists;
    std::vector<std::string> values;
  };

  LabelSelector() = default;  // matches everything
  static Result<LabelSelector> parse(std::string_view text);

  bool empty() const { return requirements_.empty(); }
  // `labels` is a JSON object of string values (metadata.labels); anything
  // else is treated as no labels.
  bool matches(const nlohmann::json& labels) const;
  const std::vector<Requirement>& requirements() const { return requirements_; }

 private:
  std::vector<Requirement> requirements_;
};

}  // namespace mlops::runtime
