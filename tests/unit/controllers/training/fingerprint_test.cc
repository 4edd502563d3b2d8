#include "controllers/training/fingerprint.h"

#include <functional>

#include <gtest/gtest.h>

namespace mlops::training {
namespace {

using Json = nlohmann::json;

const std::string kDigest = "sha256:" + std::string(32, 'a') + std::string(32, 'b');

FingerprintInputs sample() {
  FingerprintInputs in;
  in.model = "iris";
  in.templateSpec = Json::parse(R"({"containers":[{"name":"trainer","image":"t:1"}]})");
  in.resultsContainer = "trainer";
  in.dataset = Json{{"uri", "s3://d"}};
  in.hyperparameters = Json{{"lr", "0.1"}};
  in.seed = 42;
  in.imageDigests = {{"trainer", "sha256:" + std::string(64, 'a')}};
  return in;
}

TEST(Fingerprint, HashesTheDocumentedDocument) {
  FingerprintInputs in = sample();
  in.imageDigests = {
      {"trainer", "sha256:abababababababababababababababababababababababababababababababab"}};
  // Golden value from Python: json.dumps(doc, sort_keys=True, separators=(",", ":")).
  EXPECT_EQ(
      fingerprintDocument(in).dump(),
      R"({"code":{},"dataset":{"uri":"s3://d"},"hyperparameters":{"lr":"0.1"},)"
      R"("imageDigests":{"trainer":"sha256:abababababababababababababababababababababababababababababababab"},)"
      R"("model":"iris","resultsContainer":"trainer","seed":42,)"
      R"("templateSpec":{"containers":[{"image":"t:1","name":"trainer"}]}})");
  auto fp = fingerprint(in);
  ASSERT_TRUE(fp.ok());
  EXPECT_EQ(*fp, "v1:97d12a08a6fc3e142b8b892cdf4d53c8f30d4178fb7feb59886f0a8efd0ed615");
}

TEST(Fingerprint, AbsentAndNullAreTheSame) {
  const auto base = fingerprint(sample());
  ASSERT_TRUE(base.ok());
  const std::vector<std::pair<const char*, std::function<void(FingerprintInputs&)>>> sameCases = {
      {"code null vs {}", [](FingerprintInputs& in) { in.code = Json::object(); }},
      {"null member in dataset", [](FingerprintInputs& in) { in.dataset["version"] = nullptr; }},
      {"null member in template spec",
       [](FingerprintInputs& in) { in.templateSpec["nodeSelector"] = nullptr; }},
      {"member order",
       [](FingerprintInputs& in) {
         in.templateSpec = Json::parse(R"({"containers":[{"image":"t:1","name":"trainer"}]})");
       }},
  };
  for (const auto& [name, mutate] : sameCases) {
    FingerprintInputs in = sample();
    mutate(in);
    auto fp = fingerprint(in);
    ASSERT_TRUE(fp.ok()) << name;
    EXPECT_EQ(*fp, *base) << name;
  }
  FingerprintInputs empty;
  EXPECT_EQ(fingerprintDocument(empty).size(), 8u);
  EXPECT_EQ(fingerprintDocument(empty)["templateSpec"], Json::object());
  EXPECT_EQ(fingerprintDocument(empty)["imageDigests"], Json::object());
}

TEST(Fingerprint, EveryInputCounts) {
  const auto base = fingerprint(sample());
  ASSERT_TRUE(base.ok());
  const std::vector<std::pair<const char*, std::function<void(FingerprintInputs&)>>> cases = {
      {"model", [](FingerprintInputs& in) { in.model = "iris2"; }},
      {"template spec",
       [](FingerprintInputs& in) { in.templateSpec["containers"][0]["image"] = "t:2"; }},
      {"template spec field",
       [](FingerprintInputs& in) {
         in.templateSpec["nodeSelector"] = {{"gpu", "a100"}};
       }},
      {"results container", [](FingerprintInputs& in) { in.resultsContainer = "other"; }},
      {"dataset", [](FingerprintInputs& in) { in.dataset["digest"] = kDigest; }},
      {"code",
       [](FingerprintInputs& in) {
         in.code = {{"revision", "abc"}};
       }},
      {"hyperparameters", [](FingerprintInputs& in) { in.hyperparameters["lr"] = "0.2"; }},
      {"seed", [](FingerprintInputs& in) { in.seed = 43; }},
      {"seed beyond 2^53", [](FingerprintInputs& in) { in.seed = 9007199254740993; }},
      {"image digest", [](FingerprintInputs& in) { in.imageDigests["trainer"] = kDigest; }},
      {"extra image", [](FingerprintInputs& in) { in.imageDigests["sidecar"] = kDigest; }},
  };
  for (const auto& [name, mutate] : cases) {
    FingerprintInputs in = sample();
    mutate(in);
    auto fp = fingerprint(in);
    ASSERT_TRUE(fp.ok()) << name;
    EXPECT_NE(*fp, *base) << name;
    EXPECT_EQ(fp->rfind("v1:", 0), 0u);
    EXPECT_EQ(fp->size(), 3u + 64u);
  }
  // Seeds that a double would round together stay apart.
  FingerprintInputs a = sample(), b = sample();
  a.seed = 9007199254740992;
  b.seed = 9007199254740993;
  EXPECT_NE(*fingerprint(a), *fingerprint(b));
}

TEST(Fingerprint, ReportsUncanonicalizableInput) {
  FingerprintInputs in = sample();
  in.hyperparameters["bad"] = std::string("\xFF");
  auto fp = fingerprint(in);
  ASSERT_FALSE(fp.ok());
  EXPECT_NE(fp.error().message.find("cannot fingerprint"), std::string::npos);
}

}  // namespace
}  // namespace mlops::training
