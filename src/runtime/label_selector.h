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

  // True when every label set `narrower` matches is sure to match this
  // selector too, judged requirement by requirement (so it can answer false
  // for selectors that happen to be equivalent in a roundabout way; never
  // true wrongly). The cache uses it to pick an informer whose selection
  // holds every object a read asks for. The empty selector covers everything.
  bool covers(const LabelSelector& narrower) const;

 private:
  std::vector<Requirement> requirements_;
};

}  // namespace mlops::runtime
