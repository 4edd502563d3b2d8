// The label-selector parser (runtime/label_selector.h) on arbitrary text.
//
// Properties:
//   - parse never throws or crashes;
//   - a parsed selector can be written back in the API server's syntax
//     (printed here: the class has no printer) and parses to the same
//     requirements: parse(print(parse(x))) == parse(x);
//   - matching agrees with the requirements: labels built to satisfy every
//     requirement match, and a selector matches exactly when each of its
//     requirements does on its own.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz/fuzz_check.h"
#include "runtime/label_selector.h"

namespace {

using mlops::runtime::LabelSelector;
using Op = LabelSelector::Op;

std::string valueSet(const std::vector<std::string>& values) {
  std::string out = "(";
  for (size_t i = 0; i < values.size(); ++i) {
    out += (i == 0 ? "" : ",") + values[i];
  }
  return out + ")";
}

std::string print(const LabelSelector::Requirement& r) {
  switch (r.op) {
    case Op::kEquals:
      return r.key + "=" + r.values.at(0);
    case Op::kNotEquals:
      return r.key + "!=" + r.values.at(0);
    case Op::kIn:
      return r.key + " in " + valueSet(r.values);
    case Op::kNotIn:
      return r.key + " notin " + valueSet(r.values);
    case Op::kExists:
      return r.key;
    case Op::kDoesNotExist:
      return "!" + r.key;
  }
  return "?";
}

std::string print(const LabelSelector& s) {
  std::string out;
  for (const auto& r : s.requirements()) {
    out += (out.empty() ? "" : ",") + print(r);
  }
  return out;
}

bool sameRequirements(const LabelSelector& a, const LabelSelector& b) {
  const auto& ra = a.requirements();
  const auto& rb = b.requirements();
  if (ra.size() != rb.size()) {
    return false;
  }
  for (size_t i = 0; i < ra.size(); ++i) {
    if (ra[i].key != rb[i].key || ra[i].op != rb[i].op || ra[i].values != rb[i].values) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto selector = LabelSelector::parse(text);
  if (!selector.ok()) {
    FUZZ_CHECK(!selector.error().message.empty(), "empty error message");
    return 0;
  }
  for (const auto& r : selector->requirements()) {
    const bool single = r.op == Op::kEquals || r.op == Op::kNotEquals;
    const bool set = r.op == Op::kIn || r.op == Op::kNotIn;
    FUZZ_CHECK(!r.key.empty(), "empty key accepted");
    FUZZ_CHECK(!single || r.values.size() == 1, print(r));
    FUZZ_CHECK(!set || !r.values.empty(), print(r));
    FUZZ_CHECK(single || set || r.values.empty(), print(r));
  }

  const std::string printed = print(*selector);
  auto again = LabelSelector::parse(printed);
  FUZZ_CHECK(again.ok(), printed + ": " + again.error().toString());
  FUZZ_CHECK(sameRequirements(*selector, *again), printed);

  // Labels that satisfy each requirement when taken alone (later ones may
  // overwrite earlier ones, so the whole selector need not match them).
  nlohmann::json labels = nlohmann::json::object();
  for (const auto& r : selector->requirements()) {
    if (r.op == Op::kEquals || r.op == Op::kIn || r.op == Op::kExists) {
      labels[r.key] = r.values.empty() ? std::string("x") : r.values.front();
    }
  }
  bool all = true;
  for (const auto& r : selector->requirements()) {
    auto one = LabelSelector::parse(print(r));
    FUZZ_CHECK(one.ok(), print(r));
    all = all && one->matches(labels);
  }
  FUZZ_CHECK(selector->matches(labels) == all, printed + " on " + labels.dump());
  // Non-object labels are "no labels": only absence-tolerant requirements match.
  bool onlyAbsence = true;
  for (const auto& r : selector->requirements()) {
    onlyAbsence =
        onlyAbsence && (r.op == Op::kNotEquals || r.op == Op::kNotIn || r.op == Op::kDoesNotExist);
  }
  FUZZ_CHECK(selector->matches(nlohmann::json::array()) == onlyAbsence, printed);
  return 0;
}
