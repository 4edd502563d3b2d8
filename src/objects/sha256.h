// SHA-256 through OpenSSL's EVP interface.
//
// sha256() returns the 32-byte digest, sha256Hex() its 64 lowercase hex
// digits. Both are pure and thread-safe. OpenSSL's one-shot digest can only
// fail when it cannot allocate memory; that is reported as std::bad_alloc, as
// any other allocation failure would be.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace mlops::objects {

std::array<uint8_t, 32> sha256(std::string_view data);
std::string sha256Hex(std::string_view data);

// True when `digest` is "sha256:" followed by exactly 64 lowercase hex digits
// (the format of every digest in the API: dataset, artifact, image).
bool isSha256Digest(std::string_view digest);

}  // namespace mlops::objects
