#include "objects/sha256.h"

#include <gtest/gtest.h>

namespace mlops::objects {
namespace {

TEST(Sha256, MatchesKnownVectors) {
  const std::pair<std::string, const char*> cases[] = {
      {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
      {std::string("a\0b", 3), nullptr},  // embedded NUL counts: differs from "ab"
  };
  for (const auto& [data, hex] : cases) {
    if (hex != nullptr) {
      EXPECT_EQ(sha256Hex(data), hex);
    }
  }
  EXPECT_NE(sha256Hex(std::string("a\0b", 3)), sha256Hex("ab"));
  EXPECT_EQ(sha256("abc")[0], 0xba);
  EXPECT_EQ(sha256("abc")[31], 0xad);
}

TEST(IsSha256Digest, AcceptsOnlyTheApiFormat) {
  const std::string hex64(64, 'a');
  const std::pair<std::string, bool> cases[] = {
      {"sha256:" + hex64, true},
      {"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true},
      {"sha256:" + std::string(64, 'A'), false},  // uppercase
      {"sha256:" + std::string(63, 'a'), false},
      {"sha256:" + std::string(65, 'a'), false},
      {"sha256:" + std::string(63, 'a') + "g", false},
      {"sha512:" + hex64, false},
      {hex64, false},
      {"", false},
  };
  for (const auto& [digest, ok] : cases) EXPECT_EQ(isSha256Digest(digest), ok) << digest;
}

}  // namespace
}  // namespace mlops::objects
