// Canonical JSON (objects/canonical_json.h, RFC 8785) on
// arbitrary values.
//
// The first byte picks how the rest becomes a JSON value:
//   even: JSON text (nlohmann's parser; invalid text is skipped);
//   odd:  CBOR, which reaches values JSON text cannot hold: NaN, infinities,
//         and strings that are not UTF-8.
//
// Properties:
//   - canonicalJson never throws or crashes;
//   - it fails exactly for values JCS cannot write: a non-finite number
//     (JSON text like 1e400 parses to infinity), a CBOR byte string, or a
//     string that is not UTF-8 (nlohmann's strict dump() is the independent
//     judge of that);
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

#include "fuzz/fuzz_check.h"
#include "objects/canonical_json.h"

namespace {

using Json = nlohmann::json;

void checkNumberText(double v) {
  if (!std::isfinite(v)) {
    return;
  }
  const std::string text = mlops::objects::ecmaScriptNumber(v);
  const double back = std::strtod(text.c_str(), nullptr);
  // -0 is written "0" by design (ECMAScript does the same).
  FUZZ_CHECK(back == v, text);
}

// Checks every double's text and tells whether the value holds something
// JSON has no text for: NaN, an infinity, or a CBOR byte string (nlohmann's
// binary type).
bool checkNumbers(const Json& value) {
  if (value.is_number_float()) {
    checkNumberText(value.get<double>());
    return !std::isfinite(value.get<double>());
  }
  if (value.is_binary()) {
    return true;
  }
  bool unwritable = false;
  if (value.is_structured()) {
    for (const auto& child : value) {
      unwritable = checkNumbers(child) || unwritable;
    }
  }
  return unwritable;
}

bool validUtf8(const Json& value) {
  try {
    (void)value.dump();  // strict: throws type_error 316 on invalid UTF-8
    return true;
  } catch (const Json::type_error&) {
    return false;
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

  Json value;
  try {
    value = fromCbor ? Json::from_cbor(rest, rest + restSize, /*strict=*/true,
                                       /*allow_exceptions=*/false)
                     : Json::parse(rest, rest + restSize, nullptr, /*allow_exceptions=*/false);
  } catch (const Json::exception&) {
    // nlohmann 3.11.2's from_cbor throws out_of_range 408 ("excessive array
    // size") even with allow_exceptions=false. Not our code (the operator
    // never reads CBOR), and such input yields no value to canonicalize.
    return 0;
  }
  if (value.is_discarded()) {
    return 0;
  }
  const bool unwritable = checkNumbers(value);
  const bool utf8 = validUtf8(value);

  auto canonical = mlops::objects::canonicalJson(value);
  FUZZ_CHECK(
      canonical.ok() == (!unwritable && utf8),
      std::string(canonical.ok() ? "accepted" : "rejected: " + canonical.error().toString()) +
          (unwritable ? " (has a non-finite number or binary)" : "") +
          (utf8 ? "" : " (has invalid UTF-8)"));
  if (!canonical.ok()) {
    return 0;
  }
  Json reparsed = Json::parse(*canonical, nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(!reparsed.is_discarded(), "canonical output is not JSON: " + *canonical);
  auto again = mlops::objects::canonicalJson(reparsed);
  FUZZ_CHECK(again.ok(), *canonical + " -> " + again.error().toString());
  FUZZ_CHECK(*again == *canonical, *canonical + "\n  became\n  " + *again);
  return 0;
}
