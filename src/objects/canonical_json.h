// Canonical JSON per RFC 8785 (JSON Canonicalization Scheme, "JCS").
//
// canonicalJson() writes a JSON value so that equal values give equal bytes:
// - no whitespace;
// - object members sorted by their names compared as UTF-16 code units (so
//   U+1F600, a surrogate pair starting 0xD83D, sorts before U+FB33);
// - strings escaped as JCS prescribes: `"` and `\` escaped, U+0008, U+0009,
//   U+000A, U+000C, U+000D as \b \t \n \f \r, other controls below U+0020 as
//   \u00xx (lowercase hex), everything else (including '/', U+007F and all
//   non-ASCII) written as raw UTF-8;
// - floating-point numbers as ECMAScript's Number.prototype.toString does
//   (shortest round-trip digits; exponent form below 1e-6 and from 1e21 up;
//   -0 as 0).
//
// Integers. nlohmann::json keeps integers as int64/uint64. They are written as
// exact decimal integers. For |n| <= 2^53 that is byte-for-byte what JCS (which
// treats every number as an IEEE double) produces; beyond 2^53 JCS is
// undefined for I-JSON input, and we prefer exactness to rounding so that two
// different int64 seeds can never canonicalize to the same text.
//
// Errors (as values, never exceptions): a NaN or infinite double, or a string
// (member name or value) that is not valid UTF-8 — JCS has no text for them.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace mlops::objects {

// The RFC 8785 serialization of `value`.
Result<std::string> canonicalJson(const nlohmann::json& value);

// ECMAScript Number::toString(v): "0" for ±0, shortest round-trip digits,
// e.g. 1e+21, 0.000001, 1e-7, 333333333.3333333. Non-finite values give
// "NaN", "Infinity" and "-Infinity" (as JavaScript's String(v) does); callers
// that need valid JSON must reject them first. Also used to print numbers in
// human-readable messages, so bounds appear as the user wrote them.
std::string ecmaScriptNumber(double v);

}  // namespace mlops::objects
