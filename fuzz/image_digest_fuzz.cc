// Image-digest parsing and pinning (controllers/training/image_digest.h).
//
// Input: "<imageID>\n<image>\n<pod JSON>"; missing parts are empty.
//
// Properties:
//   - nothing throws or crashes, whatever the pod JSON holds;
//   - a digest taken from an imageID is "sha256:" + 64 lowercase hex and is
//     the imageID's tail, after '@' or the whole imageID;
//   - pinImage(image, d) ends in "@d", has no other '@', and
//     digestFromImageID reads d back from it;
//   - re-pinning a pinned image replaces only the digest;
//   - every digest imageDigestsOfPod returns is well formed and belongs to a
//     status that carries it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "controllers/training/image_digest.h"
#include "fuzz/fuzz_check.h"
#include "objects/sha256.h"

namespace {

using namespace mlops::training;  // NOLINT: a fuzz target of this namespace

constexpr std::string_view kDigestA =
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
constexpr std::string_view kDigestB =
    "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

std::string_view takeLine(std::string_view& rest) {
  const size_t nl = rest.find('\n');
  std::string_view line = rest.substr(0, nl);
  rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  return line;
}

bool endsWith(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  const std::string_view imageID = takeLine(rest);
  const std::string_view image = takeLine(rest);
  const std::string_view podText = rest;
  const std::string input(imageID);

  if (auto digest = digestFromImageID(imageID)) {
    FUZZ_CHECK(mlops::objects::isSha256Digest(*digest), input);
    FUZZ_CHECK(imageID == *digest || endsWith(imageID, "@" + *digest), input);
  }

  const std::string pinned = pinImage(image, kDigestA);
  const std::string_view name =
      std::string_view(pinned).substr(0, pinned.size() - kDigestA.size() - 1);
  FUZZ_CHECK(endsWith(pinned, "@" + std::string(kDigestA)), pinned);
  FUZZ_CHECK(name.find('@') == std::string_view::npos, pinned);
  if (!name.empty() && name.find("://") == std::string_view::npos) {
    auto back = digestFromImageID(pinned);
    FUZZ_CHECK(back && *back == kDigestA, pinned);
  }
  // Re-pinning replaces the digest only, unless the name still looks tagged
  // ("a:b:c" loses one tag per pin: such a reference is invalid anyway).
  const size_t lastSlash = name.rfind('/');
  const size_t colon = name.rfind(':');
  const bool stillTagged =
      colon != std::string_view::npos && (lastSlash == std::string_view::npos || colon > lastSlash);
  if (!stillTagged) {
    const std::string repinned = pinImage(pinned, kDigestB);
    FUZZ_CHECK(repinned == std::string(name) + "@" + std::string(kDigestB), repinned);
  }

  const nlohmann::json pod = nlohmann::json::parse(podText, nullptr, /*allow_exceptions=*/false);
  if (pod.is_discarded()) {
    return 0;
  }
  for (const auto& [container, digest] : imageDigestsOfPod(pod)) {
    FUZZ_CHECK(!container.empty(), "a digest for a container without a name");
    FUZZ_CHECK(mlops::objects::isSha256Digest(digest), digest);
  }
  return 0;
}
