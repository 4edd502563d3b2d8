// UTF-8 hygiene for text that crosses into JSON or logs, under the names the
// client and the logger use. nlohmann::json throws when it serialises a string
// that is not valid UTF-8, and text from the outside (a server's error body, a
// file) may be anything. The implementation is core/utf8.h's, shared with the
// controllers.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/utf8.h"

namespace mlops::kube {

using ::mlops::isValidUtf8;
using ::mlops::utf8Prefix;

// `text` with every byte that does not start or continue a well-formed
// sequence replaced by U+FFFD; valid text comes back unchanged.
inline std::string toValidUtf8(std::string_view text) {
  return sanitizeUtf8(text);
}

}  // namespace mlops::kube
