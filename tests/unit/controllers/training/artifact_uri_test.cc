#include "controllers/training/artifact_uri.h"

#include <gtest/gtest.h>

namespace mlops::training {
namespace {

using Json = nlohmann::json;

TEST(ExpandArtifactURI, ReplacesEveryPlaceholder) {
  const ArtifactURIValues v{"team-a", "iris", "iris-run-1", "d7a9c1e0-5a4b-4c61-9f2e-0b8f3a6e1c42",
                            "s3://bucket/"};
  const std::pair<const char*, const char*> cases[] = {
      {"{root}/{namespace}/{model}/{run}-{uid8}", "s3://bucket/team-a/iris/iris-run-1-d7a9c1e0"},
      {"gs://x/{model}/{uid}", "gs://x/iris/d7a9c1e0-5a4b-4c61-9f2e-0b8f3a6e1c42"},
      {"{model}{model}", "irisiris"},
      {"no placeholders", "no placeholders"},
      {"{unknown}/{model}", "{unknown}/iris"},
      {"{{model}}", "{iris}"},
      {"{model", "{model"},
      {"}{run}{", "}iris-run-1{"},
      {"", ""},
  };
  for (const auto& [tmpl, expected] : cases)
    EXPECT_EQ(expandArtifactURI(tmpl, v), expected) << tmpl;
}

TEST(ExpandArtifactURI, NeverExpandsSubstitutedValues) {
  const ArtifactURIValues v{"ns", "m", "{model}", "uid", "root"};
  EXPECT_EQ(expandArtifactURI("{run}/{model}", v), "{model}/m");
}

TEST(ArtifactURIFor, DefaultsUnderTheArtifactRoot) {
  const Json run{
      {"metadata", {{"name", "iris-run-1"}, {"namespace", "team-a"}, {"uid", "0123456789abcdef"}}},
      {"spec", {{"model", "iris"}}}};
  EXPECT_EQ(artifactURIFor(run, "s3://mlops-artifacts"),
            "s3://mlops-artifacts/team-a/iris/iris-run-1-01234567");
  EXPECT_EQ(artifactURIFor(run, "file:///data//"), "file:///data/team-a/iris/iris-run-1-01234567");

  Json custom = run;
  custom["spec"]["artifactURI"] = "s3://models/{namespace}/{model}/{run}";
  EXPECT_EQ(artifactURIFor(custom, "ignored"), "s3://models/team-a/iris/iris-run-1");
}

}  // namespace
}  // namespace mlops::training
