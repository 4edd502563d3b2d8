#include "controllers/training/effective_inputs.h"

#include <functional>

#include <gtest/gtest.h>

#include "training_fixtures.h"

namespace mlops::training {
namespace {

using namespace testing;

TEST(ResolveInputs, OrdinaryRunTakesItsOwnSpec) {
  const Json run = sampleRun();
  auto in = resolveInputs(run, std::nullopt, "s3://root");
  ASSERT_TRUE(in.ok()) << in.error().message;
  EXPECT_EQ(in->model, "iris");
  EXPECT_EQ(in->templateSpec, run["spec"]["template"]["spec"]);
  EXPECT_EQ(in->podMetadata, run["spec"]["template"]["metadata"]);
  EXPECT_EQ(in->resultsContainer, "trainer");
  EXPECT_EQ(in->dataset, run["spec"]["dataset"]);
  EXPECT_EQ(in->code, run["spec"]["code"]);
  EXPECT_EQ(in->hyperparameters, run["spec"]["hyperparameters"]);
  EXPECT_EQ(in->seed, 42);
  EXPECT_EQ(in->artifactURI, "s3://root/team-a/iris/iris-run-1-d7a9c1e0");
  EXPECT_EQ(in->datasetDigest, "");
  EXPECT_TRUE(in->pinnedImageDigests.empty());
  EXPECT_EQ(in->reproductionOf, "");
}

TEST(ResolveInputs, Defaults) {
  struct Case {
    const char* name;
    std::function<void(Json&)> mutate;
    std::function<void(const EffectiveInputs&)> check;
  };
  const Case cases[] = {
      {"results container defaults to the first",
       [](Json& r) { r["spec"].erase("resultsContainer"); },
       [](const EffectiveInputs& in) { EXPECT_EQ(in.resultsContainer, "trainer"); }},
      {"explicit second container", [](Json& r) { r["spec"]["resultsContainer"] = "sidecar"; },
       [](const EffectiveInputs& in) { EXPECT_EQ(in.resultsContainer, "sidecar"); }},
      {"seed derived from the UID", [](Json& r) { r["spec"].erase("seed"); },
       [](const EffectiveInputs& in) { EXPECT_EQ(in.seed, 3214496923303763183); }},
      {"recorded artifact URI is kept",
       [](Json& r) { r["status"]["artifactURI"] = "s3://old/place"; },
       [](const EffectiveInputs& in) { EXPECT_EQ(in.artifactURI, "s3://old/place"); }},
      {"dataset digest passed on", [](Json& r) { r["spec"]["dataset"]["digest"] = kDatasetDigest; },
       [](const EffectiveInputs& in) { EXPECT_EQ(in.datasetDigest, kDatasetDigest); }},
      {"optional inputs absent",
       [](Json& r) {
         r["spec"].erase("dataset");
         r["spec"].erase("code");
         r["spec"].erase("hyperparameters");
       },
       [](const EffectiveInputs& in) {
         EXPECT_TRUE(in.dataset.is_null());
         EXPECT_TRUE(in.code.is_null());
         EXPECT_TRUE(in.hyperparameters.is_null());
       }},
  };
  for (const auto& c : cases) {
    Json run = sampleRun();
    c.mutate(run);
    auto in = resolveInputs(run, std::nullopt, "s3://root");
    ASSERT_TRUE(in.ok()) << c.name << ": " << in.error().message;
    c.check(*in);
  }
}

struct FailureCase {
  const char* name;
  std::function<Json()> run;
  std::function<std::optional<Json>()> original;
  std::string reason;
  bool transient;
  std::string messagePart;
};

TEST(ResolveInputs, FailuresCarryTheStatusReason) {
  const auto none = [] { return std::optional<Json>(); };
  const auto repro = [] { return reproductionRun("iris-run-1"); };
  const FailureCase cases[] = {
      {"no containers",
       [] {
         Json r = sampleRun();
         r["spec"]["template"]["spec"]["containers"] = Json::array();
         return r;
       },
       none, "InvalidSpec", false, "spec has no template.spec.containers"},
      {"no template",
       [] {
         Json r = sampleRun();
         r["spec"].erase("template");
         return r;
       },
       none, "InvalidSpec", false, "no template.spec.containers"},
      {"unknown results container",
       [] {
         Json r = sampleRun();
         r["spec"]["resultsContainer"] = "nope";
         return r;
       },
       none, "InvalidSpec", false,
       "names resultsContainer \"nope\", which is not one of template.spec.containers"},
      {"original missing", repro, none, "OriginalNotFound", true,
       "the TrainingRun iris-run-1 to reproduce does not exist"},
      {"original running", repro,
       [] {
         Json o = sampleRun();
         o["status"] = {{"phase", "Running"}};
         return std::optional<Json>(o);
       },
       "WaitingForOriginal", true, "waiting for iris-run-1 to finish (phase Running)"},
      {"original without status", repro, [] { return std::optional<Json>(sampleRun()); },
       "WaitingForOriginal", true, "(phase unknown)"},
      {"original is a reproduction", repro,
       [] { return std::optional<Json>(reproductionRun("iris-run-0")); }, "OriginalNotReproducible",
       false, "is itself a reproduction (of iris-run-0); reproduce iris-run-0 instead"},
      {"original of another model", repro,
       [] {
         Json o = succeededOriginal();
         o["spec"]["model"] = "wine";
         return std::optional<Json>(o);
       },
       "InvalidSpec", false, "a run of model \"wine\", but this run is for model \"iris\""},
      {"original failed without results", repro,
       [] {
         Json o = succeededOriginal();
         o["status"] = {{"phase", "Failed"}, {"reason", "JobLost"}};
         return std::optional<Json>(o);
       },
       "OriginalNotReproducible", false,
       "iris-run-1 finished without results (Failed, reason JobLost)"},
      {"original lacks a digest", repro,
       [] {
         Json o = succeededOriginal();
         o["status"]["imageDigests"].erase("sidecar");
         return std::optional<Json>(o);
       },
       "OriginalNotReproducible", false, "recorded no image digest for container(s) sidecar"},
  };
  for (const auto& c : cases) {
    auto in = resolveInputs(c.run(), c.original(), "s3://root");
    ASSERT_FALSE(in.ok()) << c.name;
    EXPECT_EQ(in.error().reason, c.reason) << c.name;
    EXPECT_EQ(in.error().transient(), c.transient) << c.name;
    EXPECT_NE(in.error().message.find(c.messagePart), std::string::npos)
        << c.name << ": " << in.error().message;
  }
}

TEST(ResolveInputs, ReproductionCopiesTheOriginalsInputs) {
  const Json original = succeededOriginal();
  const Json run = reproductionRun("iris-run-1");
  auto in = resolveInputs(run, original, "s3://root");
  ASSERT_TRUE(in.ok()) << in.error().message;
  EXPECT_EQ(in->reproductionOf, "iris-run-1");
  EXPECT_EQ(in->templateSpec, original["spec"]["template"]["spec"]);
  EXPECT_EQ(in->resultsContainer, "trainer");
  EXPECT_EQ(in->dataset, original["spec"]["dataset"]);
  EXPECT_EQ(in->code, original["spec"]["code"]);
  EXPECT_EQ(in->hyperparameters, original["spec"]["hyperparameters"]);
  EXPECT_EQ(in->seed, 42);
  EXPECT_EQ(in->podMetadata, run["spec"]["template"]["metadata"]);
  EXPECT_EQ(in->artifactURI, "s3://root/team-a/iris/iris-repro-1-5e3c0a9b");
  EXPECT_EQ(in->datasetDigest, kDatasetDigest);  // recorded by the original
  const std::map<std::string, std::string> pinned{
      {"trainer", "sha256:2222222222222222222222222222222222222222222222222222222222222222"},
      {"sidecar", "sha256:3333333333333333333333333333333333333333333333333333333333333333"}};
  EXPECT_EQ(in->pinnedImageDigests, pinned);

  // The original's effective seed when its status lacks one (derived from its UID).
  Json noSeed = original;
  noSeed["spec"].erase("seed");
  noSeed["status"].erase("seed");
  auto derived = resolveInputs(run, noSeed, "s3://root");
  ASSERT_TRUE(derived.ok());
  EXPECT_EQ(derived->seed, 3214496923303763183);

  // A failed original with results (ValidationFailed) can be reproduced.
  Json validationFailed = original;
  validationFailed["status"]["phase"] = "Failed";
  validationFailed["status"]["reason"] = "ValidationFailed";
  EXPECT_TRUE(resolveInputs(run, validationFailed, "s3://root").ok());
}

TEST(ResolveInputs, NamesAndMetadataDoNotChangeTheFingerprint) {
  const Json a = sampleRun();
  Json b = sampleRun();
  b["metadata"]["name"] = "another-run";
  b["metadata"]["uid"] = "ffffffff-0000-0000-0000-000000000000";
  b["spec"]["template"]["metadata"] = {{"labels", {{"queue", "gpu"}}}};
  b["spec"]["artifactURI"] = "s3://elsewhere/{run}";
  b["spec"]["validation"] = Json::object();
  b["spec"]["promotion"] = "Automatic";
  auto ia = resolveInputs(a, std::nullopt, "s3://root");
  auto ib = resolveInputs(b, std::nullopt, "s3://other-root");
  ASSERT_TRUE(ia.ok() && ib.ok());
  const std::map<std::string, std::string> digests{{"trainer", kImageDigest},
                                                   {"sidecar", kImageDigest}};
  EXPECT_EQ(*fingerprint(ia->fingerprintInputs(digests)),
            *fingerprint(ib->fingerprintInputs(digests)));

  Json c = sampleRun();
  c["spec"]["hyperparameters"]["max_depth"] = "6";
  auto ic = resolveInputs(c, std::nullopt, "s3://root");
  ASSERT_TRUE(ic.ok());
  EXPECT_NE(*fingerprint(ia->fingerprintInputs(digests)),
            *fingerprint(ic->fingerprintInputs(digests)));
}

TEST(ContainerNames, ListsInitContainersFirst) {
  const Json spec = Json::parse(
      R"({"initContainers":[{"name":"fetch"}],"containers":[{"name":"a"},{"name":"b"}]})");
  EXPECT_EQ(containerNames(spec), (std::vector<std::string>{"fetch", "a", "b"}));
  EXPECT_TRUE(containerNames(Json()).empty());
}

}  // namespace
}  // namespace mlops::training
