#include "controllers/training/artifact_uri.h"

#include <optional>

namespace mlops::training {
namespace {

std::string stringAt(const nlohmann::json& obj, const char* section, const char* field) {
  if (!obj.is_object() || !obj.contains(section) || !obj[section].is_object()) {
    return "";
  }
  const auto& s = obj[section];
  if (!s.contains(field) || !s[field].is_string()) {
    return "";
  }
  return s[field].get<std::string>();
}

std::optional<std::string> placeholderValue(std::string_view name, const ArtifactURIValues& v) {
  if (name == "namespace") {
    return v.ns;
  }
  if (name == "model") {
    return v.model;
  }
  if (name == "run") {
    return v.run;
  }
  if (name == "uid") {
    return v.uid;
  }
  if (name == "uid8") {
    return v.uid.substr(0, 8);
  }
  if (name == "root") {
    std::string root = v.root;
    while (!root.empty() && root.back() == '/') {
      root.pop_back();
    }
    return root;
  }
  return std::nullopt;
}

}  // namespace

std::string expandArtifactURI(std::string_view uriTemplate, const ArtifactURIValues& values) {
  std::string out;
  size_t i = 0;
  while (i < uriTemplate.size()) {
    const size_t open = uriTemplate.find('{', i);
    if (open == std::string_view::npos) {
      break;
    }
    const size_t close = uriTemplate.find('}', open + 1);
    if (close == std::string_view::npos) {
      break;
    }
    out.append(uriTemplate.substr(i, open - i));
    const auto name = uriTemplate.substr(open + 1, close - open - 1);
    if (auto value = placeholderValue(name, values)) {
      out += *value;
      i = close + 1;
    } else {
      out.push_back('{');  // not a placeholder: keep it and rescan after the brace
      i = open + 1;
    }
  }
  out.append(uriTemplate.substr(i));
  return out;
}

std::string artifactURIFor(const nlohmann::json& run, std::string_view artifactRoot) {
  ArtifactURIValues values{stringAt(run, "metadata", "namespace"), stringAt(run, "spec", "model"),
                           stringAt(run, "metadata", "name"), stringAt(run, "metadata", "uid"),
                           std::string(artifactRoot)};
  std::string uriTemplate = stringAt(run, "spec", "artifactURI");
  if (uriTemplate.empty()) {
    uriTemplate = kDefaultArtifactURITemplate;
  }
  return expandArtifactURI(uriTemplate, values);
}

}  // namespace mlops::training
