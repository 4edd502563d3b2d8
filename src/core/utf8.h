// UTF-8 safe text cutting and repair for messages built from external text
// (termination messages, parser messages, Events of other controllers).
//
// Why: a status or Event message must be valid UTF-8, or the JSON encoder
// refuses it and the write never happens. Cutting text at a byte count can
// split a multi-byte character, and text from a trainer may not be UTF-8 at
// all; both are repaired here, never by the caller.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mlops {

// `text` with every byte that is not part of a well-formed UTF-8 sequence
// (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF) replaced by
// U+FFFD. Valid text is returned unchanged.
std::string sanitizeUtf8(std::string_view text);

// True when `text` is well-formed UTF-8.
bool isValidUtf8(std::string_view text);

// The longest prefix of `text` of at most `maxBytes` bytes that does not end
// inside a UTF-8 sequence (a malformed byte counts as a character of its own).
// Nothing is repaired: the prefix is a view into `text`.
std::string_view utf8Prefix(std::string_view text, size_t maxBytes);

// The longest prefix of sanitizeUtf8(text) of at most `maxBytes` bytes that
// ends at a character boundary; when anything was cut, `ellipsis` is appended
// (the result may then be up to maxBytes + ellipsis.size() bytes).
std::string truncateUtf8(std::string_view text, size_t maxBytes, std::string_view ellipsis = "...");

}  // namespace mlops
