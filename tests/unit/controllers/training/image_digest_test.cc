#include "controllers/training/image_digest.h"

#include <gtest/gtest.h>

namespace mlops::training {
namespace {

using Json = nlohmann::json;

const std::string kHex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string kImageDigest = "sha256:" + kHex;

TEST(DigestFromImageID, ParsesTheThreeForms) {
  const std::pair<std::string, std::optional<std::string>> cases[] = {
      {"docker.io/library/python@" + kImageDigest, kImageDigest},
      {"registry.example.com:5000/ml/iris-trainer@" + kImageDigest, kImageDigest},
      {"registry.example.com/ml/iris-trainer:1.4.0@" + kImageDigest,
       kImageDigest},  // the test plane's form
      {"docker-pullable://python@" + kImageDigest, kImageDigest},
      {"docker-pullable://reg:5000/a/b@" + kImageDigest, kImageDigest},
      {kImageDigest, kImageDigest},
      {"", std::nullopt},
      {"python:3.11", std::nullopt},
      {"docker://" + kImageDigest, std::nullopt},
      {"docker://python@" + kImageDigest, std::nullopt},
      {"@" + kImageDigest, std::nullopt},
      {"python@sha256:" + std::string(63, 'a'), std::nullopt},
      {"python@sha256:" + std::string(64, 'A'), std::nullopt},
      {"python@" + kImageDigest + "x", std::nullopt},
      {"python@sha512:" + kHex + kHex, std::nullopt},
      {"sha256:" + std::string(64, 'A'), std::nullopt},
  };
  for (const auto& [imageID, digest] : cases)
    EXPECT_EQ(digestFromImageID(imageID), digest) << imageID;
}

TEST(PinImage, ReplacesTagAndDigest) {
  const std::pair<const char*, std::string> cases[] = {
      {"python", "python@" + kImageDigest},
      {"python:3.11", "python@" + kImageDigest},
      {"reg.example.com:5000/ml/trainer", "reg.example.com:5000/ml/trainer@" + kImageDigest},
      {"reg.example.com:5000/ml/trainer:1.4", "reg.example.com:5000/ml/trainer@" + kImageDigest},
      {"reg/ml/trainer:1.4@sha256:aaaa", "reg/ml/trainer@" + kImageDigest},
      {"reg/ml/trainer@sha256:aaaa", "reg/ml/trainer@" + kImageDigest},
  };
  for (const auto& [image, pinned] : cases)
    EXPECT_EQ(pinImage(image, kImageDigest), pinned) << image;
}

TEST(ImageDigestsOfPod, ReadsContainerAndInitContainerStatuses) {
  const Json pod = {
      {"status",
       {{"initContainerStatuses", {{{"name", "fetch"}, {"imageID", "busybox@" + kImageDigest}}}},
        {"containerStatuses",
         {{{"name", "trainer"}, {"imageID", "docker-pullable://t@" + kImageDigest}},
          {{"name", "sidecar"}, {"imageID", ""}},
          {{"name", "weird"}, {"imageID", "docker://abc"}},
          {{"name", "nostatus"}}}}}}};
  const std::map<std::string, std::string> expected{{"fetch", kImageDigest},
                                                    {"trainer", kImageDigest}};
  EXPECT_EQ(imageDigestsOfPod(pod), expected);
  EXPECT_TRUE(imageDigestsOfPod(Json::object()).empty());
  EXPECT_TRUE(imageDigestsOfPod(Json{{"status", {{"containerStatuses", "x"}}}}).empty());
}

// Found by fuzz/image_digest_fuzz: a status whose name is not a string made
// nlohmann's value("name", "") throw type_error 302 out of imageDigestsOfPod.
TEST(ImageDigestsOfPod, IgnoresStatusesWithMistypedFieldsInsteadOfThrowing) {
  const Json pod = {{"status",
                     {{"containerStatuses",
                       {{{"name", 5}, {"imageID", "busybox@" + kImageDigest}},
                        {{"name", "ok"}, {"imageID", 7}},
                        "not an object",
                        nullptr,
                        {{"name", "trainer"}, {"imageID", "t@" + kImageDigest}}}}}}};
  std::map<std::string, std::string> digests;
  ASSERT_NO_THROW(digests = imageDigestsOfPod(pod));
  const std::map<std::string, std::string> expected{{"trainer", kImageDigest}};
  EXPECT_EQ(digests, expected);
}

}  // namespace
}  // namespace mlops::training
