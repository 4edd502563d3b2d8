// Canonical JSON (controllers/training/canonical_json.h, RFC 8785) on
// arbitrary values.
//
// The first byte picks how the rest becomes a JSON value:
//   even: JSON text (nlohmann's parser; invalid text is skipped);
//   odd:  CBOR, which reaches values JSON text cannot hold: NaN, infinities,
//         and strings that are not UTF-8.
//
// Properties:
//   - canonicalJson never throws or crashes;
//   - it fails exactly for values JCS cannot write (NaN/infinity, invalid
//     UTF-8), so anything that came from JSON text succeeds;
//   - the output is JSON, and canonicalizing it again gives the same bytes:
//     canonicalJson(parse(canonicalJson(x))) == canonicalJson(x);
//   - ecmaScriptNumber round-trips every finite double through strtod.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controllers/training/canonical_json.h"
#include "fuzz/fuzz_check.h"

namespace {

using Json = nlohmann::json;

void checkNumberText(double v) {
  if (!std::isfinite(v)) {
    return;
  }
  const std::string text = mlops::training::ecmaScriptNumber(v);
  const double back = std::strtod(text.c_str(), nullptr);
  // -0 is written "0" by design (ECMAScript does the same).
  FUZZ_CHECK(back == v, text);
}

void checkNumbers(const Json& value) {
  if (value.is_number_float()) {
    checkNumberText(value.get<double>());
  } else if (value.is_structured()) {
    for (const auto& child : value) {
      checkNumbers(child);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const bool fromCbor = (data[0] & 1) != 0;
  const uint8_t* rest = data + 1;
  const size_t restSize = size - 1;

  if (restSize >= sizeof(double)) {
    double v;
    std::memcpy(&v, rest, sizeof v);
    checkNumberText(v);
  }

  Json value = fromCbor ? Json::from_cbor(rest, rest + restSize, /*strict=*/true,
                                          /*allow_exceptions=*/false)
                        : Json::parse(rest, rest + restSize, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    return 0;
  }
  checkNumbers(value);

  auto canonical = mlops::training::canonicalJson(value);
  if (!canonical.ok()) {
    FUZZ_CHECK(fromCbor, "JSON text could not be canonicalized: " + canonical.error().toString());
    return 0;
  }
  Json reparsed = Json::parse(*canonical, nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(!reparsed.is_discarded(), "canonical output is not JSON: " + *canonical);
  auto again = mlops::training::canonicalJson(reparsed);
  FUZZ_CHECK(again.ok(), *canonical + " -> " + again.error().toString());
  FUZZ_CHECK(*again == *canonical, *canonical + "\n  became\n  " + *again);
  return 0;
}
