// UTF-8 hygiene for text that crosses into JSON or logs.
//
// nlohmann::json throws when it serialises a string that is not valid UTF-8,
// and text from the outside (a container's termination message, a server's
// error body, a file) may be anything. These helpers make such text safe
// without throwing, and cut it without splitting a character.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mlops::kube {

// True when `text` is well-formed UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF).
bool isValidUtf8(std::string_view text);

// `text` with every byte that does not start or continue a well-formed
// sequence replaced by U+FFFD, the way nlohmann's error_handler_t::replace
// does. Valid text comes back unchanged.
std::string toValidUtf8(std::string_view text);

// The longest prefix of `text` of at most `maxBytes` bytes that does not end
// inside a UTF-8 sequence (a malformed tail is treated like a character).
std::string_view utf8Prefix(std::string_view text, size_t maxBytes);

}  // namespace mlops::kube
