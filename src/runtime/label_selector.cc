#include "runtime/label_selector.h"

#include <algorithm>
#include <cctype>

namespace mlops::runtime {
namespace {

bool isSpace(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && isSpace(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

// Label keys and values: letters, digits and "-_./"; validation of the exact
// lengths and prefixes is left to the API server.
bool isLabelChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.' ||
         c == '/';
}

bool isValidToken(std::string_view s, bool allowEmpty) {
  if (s.empty()) {
    return allowEmpty;
  }
  return std::all_of(s.begin(), s.end(), isLabelChar);
}

// Splits on commas that are not inside parentheses.
Result<std::vector<std::string_view>> splitRequirements(std::string_view text) {
  std::vector<std::string_view> parts;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '(') {
      if (++depth > 1) {
        return makeError(ErrorCode::kInvalidArgument, "nested '(' in selector");
      }
    } else if (c == ')') {
      if (--depth < 0) {
        return makeError(ErrorCode::kInvalidArgument, "unbalanced ')' in selector");
      }
    } else if (c == ',' && depth == 0) {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  if (depth != 0) {
    return makeError(ErrorCode::kInvalidArgument, "unbalanced '(' in selector");
  }
  parts.push_back(text.substr(start));
  return parts;
}

Result<std::vector<std::string>> parseValueSet(std::string_view text) {
  text = trim(text);
  if (text.size() < 2 || text.front() != '(' || text.back() != ')') {
    return makeError(ErrorCode::kInvalidArgument, "expected '(values)' in selector");
  }
  text = text.substr(1, text.size() - 2);
  if (trim(text).empty()) {
    return makeError(ErrorCode::kInvalidArgument, "empty value set");
  }
  std::vector<std::string> values;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == ',') {
      auto v = trim(text.substr(start, i - start));
      if (!isValidToken(v, true)) {
        return makeError(ErrorCode::kInvalidArgument, "invalid value '" + std::string(v) + "'");
      }
      values.emplace_back(v);
      start = i + 1;
    }
  }
  return values;
}

// Finds a word operator (" in ", " notin ") separated by whitespace.
size_t findWordOp(std::string_view s, std::string_view word) {
  for (size_t pos = s.find(word); pos != std::string_view::npos; pos = s.find(word, pos + 1)) {
    bool spaceBefore = pos > 0 && isSpace(s[pos - 1]);
    size_t after = pos + word.size();
    bool boundaryAfter = after < s.size() && (isSpace(s[after]) || s[after] == '(');
    if (spaceBefore && boundaryAfter) {
      return pos;
    }
  }
  return std::string_view::npos;
}

Result<LabelSelector::Requirement> parseRequirement(std::string_view text) {
  using Op = LabelSelector::Op;
  text = trim(text);
  LabelSelector::Requirement req;
  auto fail = [&](const std::string& why) {
    return makeError(ErrorCode::kInvalidArgument,
                     "invalid selector requirement '" + std::string(text) + "': " + why);
  };
  if (text.empty()) {
    return fail("empty");
  }

  if (size_t pos = findWordOp(text, "notin"); pos != std::string_view::npos) {
    req.key = std::string(trim(text.substr(0, pos)));
    req.op = Op::kNotIn;
    auto values = parseValueSet(text.substr(pos + 5));
    if (!values) {
      return values.error();
    }
    req.values = std::move(*values);
  } else if (size_t pos2 = findWordOp(text, "in"); pos2 != std::string_view::npos) {
    req.key = std::string(trim(text.substr(0, pos2)));
    req.op = Op::kIn;
    auto values = parseValueSet(text.substr(pos2 + 2));
    if (!values) {
      return values.error();
    }
    req.values = std::move(*values);
  } else if (size_t ne = text.find("!="); ne != std::string_view::npos) {
    req.key = std::string(trim(text.substr(0, ne)));
    req.op = Op::kNotEquals;
    req.values = {std::string(trim(text.substr(ne + 2)))};
  } else if (size_t eq = text.find('='); eq != std::string_view::npos) {
    req.key = std::string(trim(text.substr(0, eq)));
    req.op = Op::kEquals;
    size_t valueStart = eq + 1;
    if (valueStart < text.size() && text[valueStart] == '=') {
      ++valueStart;
    }
    req.values = {std::string(trim(text.substr(valueStart)))};
  } else if (text.front() == '!') {
    req.key = std::string(trim(text.substr(1)));
    req.op = Op::kDoesNotExist;
  } else {
    req.key = std::string(text);
    req.op = Op::kExists;
  }
  if (!isValidToken(req.key, false)) {
    return fail("invalid key");
  }
  for (const auto& v : req.values) {
    if (!isValidToken(v, true)) {
      return fail("invalid value '" + v + "'");
    }
  }
  if ((req.op == Op::kIn || req.op == Op::kNotIn) && req.values.empty()) {
    return fail("empty value set");
  }
  return req;
}

}  // namespace

Result<LabelSelector> LabelSelector::parse(std::string_view text) {
  LabelSelector selector;
  if (trim(text).empty()) {
    return selector;
  }
  auto parts = splitRequirements(text);
  if (!parts) {
    return parts.error();
  }
  for (auto part : *parts) {
    auto req = parseRequirement(part);
    if (!req) {
      return req.error();
    }
    selector.requirements_.push_back(std::move(*req));
  }
  return selector;
}

bool LabelSelector::matches(const nlohmann::json& labels) const {
  auto lookup = [&](const std::string& key) -> const nlohmann::json* {
    if (!labels.is_object()) {
      return nullptr;
    }
    auto it = labels.find(key);
    if (it == labels.end() || !it->is_string()) {
      return nullptr;
    }
    return &*it;
  };
  for (const auto& req : requirements_) {
    const nlohmann::json* value = lookup(req.key);
    auto inValues = [&] {
      if (value == nullptr) {
        return false;
      }
      const auto& s = value->get_ref<const std::string&>();
      return std::find(req.values.begin(), req.values.end(), s) != req.values.end();
    };
    switch (req.op) {
      case Op::kEquals:
      case Op::kIn:
        if (!inValues()) {
          return false;
        }
        break;
      case Op::kNotEquals:
      case Op::kNotIn:
        // As in the API server, a missing label satisfies != and notin.
        if (inValues()) {
          return false;
        }
        break;
      case Op::kExists:
        if (value == nullptr) {
          return false;
        }
        break;
      case Op::kDoesNotExist:
        if (value != nullptr) {
          return false;
        }
        break;
    }
  }
  return true;
}

namespace {

bool isPositive(LabelSelector::Op op) {
  return op == LabelSelector::Op::kEquals || op == LabelSelector::Op::kIn;
}
bool isNegative(LabelSelector::Op op) {
  return op == LabelSelector::Op::kNotEquals || op == LabelSelector::Op::kNotIn;
}
bool contains(const std::vector<std::string>& values, const std::string& v) {
  return std::find(values.begin(), values.end(), v) != values.end();
}

// Whether requirement `mine` holds for every label set that satisfies `other`.
bool implies(const LabelSelector::Requirement& other, const LabelSelector::Requirement& mine) {
  using Op = LabelSelector::Op;
  if (other.key != mine.key) {
    return false;
  }
  switch (mine.op) {
    case Op::kExists:
      return isPositive(other.op) || other.op == Op::kExists;
    case Op::kDoesNotExist:
      return other.op == Op::kDoesNotExist;
    case Op::kEquals:
    case Op::kIn:
      // other's allowed values must all be allowed by mine.
      return isPositive(other.op) &&
             std::all_of(other.values.begin(), other.values.end(),
                         [&](const std::string& v) { return contains(mine.values, v); });
    case Op::kNotEquals:
    case Op::kNotIn:
      if (isNegative(other.op)) {
        // other excludes at least what mine excludes.
        return std::all_of(mine.values.begin(), mine.values.end(),
                           [&](const std::string& v) { return contains(other.values, v); });
      }
      if (isPositive(other.op)) {
        return std::none_of(other.values.begin(), other.values.end(),
                            [&](const std::string& v) { return contains(mine.values, v); });
      }
      return other.op == Op::kDoesNotExist;
  }
  return false;
}

}  // namespace

bool LabelSelector::covers(const LabelSelector& narrower) const {
  return std::all_of(requirements_.begin(), requirements_.end(), [&](const Requirement& mine) {
    return std::any_of(narrower.requirements_.begin(), narrower.requirements_.end(),
                       [&](const Requirement& other) { return implies(other, mine); });
  });
}

}  // namespace mlops::runtime
