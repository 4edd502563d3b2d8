#include "controllers/training/fingerprint.h"

#include "objects/canonical_json.h"
#include "objects/sha256.h"

namespace mlops::training {

using objects::canonicalJson;
using objects::sha256Hex;

namespace {

using Json = nlohmann::json;

Json withoutNulls(const Json& v) {
  if (v.is_object()) {
    Json out = Json::object();
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (!it.value().is_null()) {
        out[it.key()] = withoutNulls(it.value());
      }
    }
    return out;
  }
  if (v.is_array()) {
    Json out = Json::array();
    for (const auto& item : v) {
      out.push_back(withoutNulls(item));  // keep positions
    }
    return out;
  }
  return v;
}

Json objectOrEmpty(const Json& v) {
  return v.is_null() ? Json::object() : withoutNulls(v);
}

}  // namespace

Json fingerprintDocument(const FingerprintInputs& inputs) {
  Json digests = Json::object();
  for (const auto& [container, digest] : inputs.imageDigests) {
    digests[container] = digest;
  }
  return Json{{"code", objectOrEmpty(inputs.code)},
              {"dataset", objectOrEmpty(inputs.dataset)},
              {"hyperparameters", objectOrEmpty(inputs.hyperparameters)},
              {"imageDigests", std::move(digests)},
              {"model", inputs.model},
              {"resultsContainer", inputs.resultsContainer},
              {"seed", inputs.seed},
              {"templateSpec", objectOrEmpty(inputs.templateSpec)}};
}

Result<std::string> fingerprint(const FingerprintInputs& inputs) {
  auto canonical = canonicalJson(fingerprintDocument(inputs));
  if (!canonical) {
    Error e = canonical.error();
    e.message = "cannot fingerprint the run's inputs: " + e.message;
    return e;
  }
  return "v1:" + sha256Hex(*canonical);
}

}  // namespace mlops::training
