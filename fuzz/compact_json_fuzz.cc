// The informer cache's compact encoding (runtime/compact_json.h) on
// arbitrary values, and its decoder on arbitrary bytes.
//
// The first byte picks what the rest is:
//   even: JSON text (nlohmann's parser; invalid text is skipped), the
//         values the cache stores;
//   odd:  CBOR, which also reaches NaN, infinities, byte strings and
//         strings that are not UTF-8.
// Then the same bytes are decoded as if they were an encoding.
//
// Properties:
//   - encoding then decoding with the same table gives the value back, equal
//     and with the same text, also through a small table that runs out of
//     room (keys written inline);
//   - encoding the value again with the grown table gives what decodes to
//     it too (numbered keys);
//   - decoding arbitrary bytes never crashes or throws: a value or nothing.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz/fuzz_check.h"
#include "runtime/compact_json.h"

namespace {

using Json = nlohmann::json;
using mlops::runtime::decodeCompact;
using mlops::runtime::encodeCompact;
using mlops::runtime::KeyTable;

// nlohmann's == says NaN differs from itself; compare those by position.
bool sameValue(const Json& a, const Json& b) {
  if (a.is_number_float() && b.is_number_float()) {
    const double x = a.get<double>();
    const double y = b.get<double>();
    return (std::isnan(x) && std::isnan(y)) || (x == y && std::signbit(x) == std::signbit(y));
  }
  if (a.type() != b.type() && !(a.is_number_integer() && b.is_number_integer())) {
    return false;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) {
      return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!sameValue(a[i], b[i])) {
        return false;
      }
    }
    return true;
  }
  if (a.is_object()) {
    if (a.size() != b.size()) {
      return false;
    }
    for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib) {
      if (ia.key() != ib.key() || !sameValue(*ia, *ib)) {
        return false;
      }
    }
    return true;
  }
  if (a.is_binary()) {
    // The subtype is not kept.
    return std::vector<std::uint8_t>(a.get_binary()) == std::vector<std::uint8_t>(b.get_binary());
  }
  return a == b;
}

void roundTrip(const Json& value, KeyTable& keys) {
  const std::string bytes = encodeCompact(value, keys);
  std::optional<Json> back = decodeCompact(bytes, keys);
  FUZZ_CHECK(back.has_value(), "an encoding did not decode");
  FUZZ_CHECK(sameValue(*back, value), "decoded to another value");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const uint8_t* rest = data + 1;
  const size_t restSize = size - 1;
  Json value;
  try {
    value = (data[0] & 1) != 0
                ? Json::from_cbor(rest, rest + restSize, /*strict=*/true,
                                  /*allow_exceptions=*/false)
                : Json::parse(rest, rest + restSize, nullptr, /*allow_exceptions=*/false);
  } catch (const Json::exception&) {
    value = Json::value_t::discarded;  // nlohmann's from_cbor can throw anyway
  }
  if (!value.is_discarded()) {
    KeyTable keys;
    roundTrip(value, keys);
    roundTrip(value, keys);  // every key numbered now
    KeyTable small(2);
    roundTrip(value, small);
  }
  KeyTable keys;
  (void)encodeCompact(Json{{"metadata", 1}, {"spec", 2}}, keys);  // numbers 0 and 1 exist
  (void)decodeCompact(std::string_view(reinterpret_cast<const char*>(rest), restSize), keys);
  return 0;
}
