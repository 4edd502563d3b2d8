#include "controllers/training/training_job.h"

#include <functional>

#include <gtest/gtest.h>

#include "controllers/training/names.h"
#include "training_fixtures.h"

namespace mlops::training {
namespace {

using namespace testing;

Json render(const Json& run, const std::optional<Json>& original = std::nullopt) {
  auto in = resolveInputs(run, original, "s3://mlops-artifacts");
  EXPECT_TRUE(in.ok()) << in.error().message;
  return renderJob(run, *in);
}

const Json kOperatorLabels = {{"mlops.dev/model", "iris"},
                              {"mlops.dev/training-run", "iris-run-1"},
                              {"app.kubernetes.io/component", "training"},
                              {"app.kubernetes.io/managed-by", "mlops-operator"}};

TEST(RenderJob, JobMetadataHasOnlyOperatorLabelsAndTheOwner) {
  const Json job = render(sampleRun());
  EXPECT_EQ(job["apiVersion"], "batch/v1");
  EXPECT_EQ(job["kind"], "Job");
  EXPECT_EQ(job["metadata"]["name"], "iris-run-1");
  EXPECT_EQ(job["metadata"]["namespace"], "team-a");
  EXPECT_EQ(job["metadata"]["labels"], kOperatorLabels);
  EXPECT_FALSE(job["metadata"].contains("annotations"));
  EXPECT_EQ(
      job["metadata"]["ownerReferences"],
      Json::parse(R"([{"apiVersion":"mlops.dev/v1alpha1","kind":"TrainingRun","name":"iris-run-1",
                             "uid":"d7a9c1e0-5a4b-4c61-9f2e-0b8f3a6e1c42","controller":true,"blockOwnerDeletion":true}])"));
}

TEST(RenderJob, JobSettingsComeFromTheSpec) {
  struct Case {
    const char* name;
    std::function<void(Json&)> mutate;
    Json expected;  // spec minus template
  };
  const Case cases[] = {
      {"sample",
       [](Json&) {},
       {{"completions", 1},
        {"parallelism", 1},
        {"backoffLimit", 2},
        {"activeDeadlineSeconds", 3600}}},
      {"defaults",
       [](Json& r) {
         r["spec"].erase("backoffLimit");
         r["spec"].erase("activeDeadlineSeconds");
       },
       {{"completions", 1}, {"parallelism", 1}, {"backoffLimit", 1}}},
      {"ttl",
       [](Json& r) {
         r["spec"]["ttlSecondsAfterFinished"] = 86400;
         r["spec"]["backoffLimit"] = 0;
       },
       {{"completions", 1},
        {"parallelism", 1},
        {"backoffLimit", 0},
        {"activeDeadlineSeconds", 3600},
        {"ttlSecondsAfterFinished", 86400}}},
  };
  for (const auto& c : cases) {
    Json run = sampleRun();
    c.mutate(run);
    Json spec = render(run)["spec"];
    spec.erase("template");
    EXPECT_EQ(spec, c.expected) << c.name;
  }
}

TEST(RenderJob, PodTemplateCarriesUserMetadataAndOperatorLabels) {
  const Json tmpl = render(sampleRun())["spec"]["template"];
  Json labels = kOperatorLabels;
  labels["team"] = "data-science";  // the user's; their "mlops.dev/model" is overridden
  EXPECT_EQ(tmpl["metadata"]["labels"], labels);
  EXPECT_EQ(tmpl["metadata"]["annotations"], Json({{"test.mlops.dev/results", "{}"}}));
  EXPECT_EQ(tmpl["spec"]["restartPolicy"], "Never");
  EXPECT_EQ(tmpl["spec"]["containers"][0]["terminationMessagePolicy"], "File");
  EXPECT_FALSE(tmpl["spec"]["containers"][1].contains("terminationMessagePolicy"));
  EXPECT_EQ(tmpl["spec"]["containers"][0]["args"],
            Json::array({"--model-dir", "$(MLOPS_ARTIFACT_URI)"}));
  EXPECT_EQ(tmpl["spec"]["containers"][0]["image"], "registry.example.com/ml/iris-trainer:1.4.0");

  Json noMeta = sampleRun();
  noMeta["spec"]["template"].erase("metadata");
  const Json bare = render(noMeta)["spec"]["template"]["metadata"];
  EXPECT_EQ(bare["labels"], kOperatorLabels);
  EXPECT_FALSE(bare.contains("annotations"));
}

TEST(RenderJob, EveryContainerGetsTheTrainerEnvironmentFirst) {
  Json run = sampleRun();
  run["spec"]["template"]["spec"]["initContainers"] = {{{"name", "fetch"}, {"image", "busybox"}}};
  run["spec"]["dataset"]["digest"] = kDatasetDigest;
  const Json podSpec = render(run)["spec"]["template"]["spec"];
  const Json expected = Json::parse(R"([
    {"name":"MLOPS_MODEL","value":"iris"},
    {"name":"MLOPS_RUN","value":"iris-run-1"},
    {"name":"MLOPS_NAMESPACE","value":"team-a"},
    {"name":"MLOPS_SEED","value":"42"},
    {"name":"MLOPS_ARTIFACT_URI","value":"s3://mlops-artifacts/team-a/iris/iris-run-1-d7a9c1e0"},
    {"name":"MLOPS_DATASET_URI","value":"s3://datasets/iris/2024-05"},
    {"name":"MLOPS_DATASET_DIGEST","value":"sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"},
    {"name":"MLOPS_CODE_REVISION","value":"3f9c2a1d"},
    {"name":"MLOPS_HYPERPARAMETERS","value":"{\"max_depth\":\"5\",\"n_estimators\":\"200\"}"}])");
  Json trainerEnv = expected;
  trainerEnv.push_back({{"name", "EXTRA"}, {"value", "kept"}});  // the user's MLOPS_SEED is gone
  EXPECT_EQ(podSpec["containers"][0]["env"], trainerEnv);
  EXPECT_EQ(podSpec["containers"][1]["env"], expected);
  EXPECT_EQ(podSpec["initContainers"][0]["env"], expected);
}

TEST(TrainerEnvironment, UnknownValuesAreEmpty) {
  Json run = sampleRun();
  run["spec"].erase("dataset");
  run["spec"].erase("code");
  run["spec"].erase("hyperparameters");
  run["spec"].erase("seed");
  auto in = resolveInputs(run, std::nullopt, "s3://r");
  ASSERT_TRUE(in.ok());
  const std::vector<std::pair<std::string, std::string>> expected{
      {"MLOPS_MODEL", "iris"},
      {"MLOPS_RUN", "iris-run-1"},
      {"MLOPS_NAMESPACE", "team-a"},
      {"MLOPS_SEED", "3214496923303763183"},
      {"MLOPS_ARTIFACT_URI", "s3://r/team-a/iris/iris-run-1-d7a9c1e0"},
      {"MLOPS_DATASET_URI", ""},
      {"MLOPS_DATASET_DIGEST", ""},
      {"MLOPS_CODE_REVISION", ""},
      {"MLOPS_HYPERPARAMETERS", "{}"}};
  EXPECT_EQ(trainerEnvironment(run, *in), expected);
  ASSERT_EQ(expected.size(), kTrainerEnvNames.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(expected[i].first, kTrainerEnvNames[i]);
}

TEST(RenderJob, ReproductionPinsImagesAndTakesOnlyMetadataFromItself) {
  const Json original = succeededOriginal();
  const Json job = render(reproductionRun("iris-run-1"), original);
  EXPECT_EQ(job["metadata"]["name"], "iris-repro-1");
  const Json& tmpl = job["spec"]["template"];
  EXPECT_EQ(tmpl["metadata"]["labels"]["purpose"], "reproduce");
  EXPECT_FALSE(tmpl["metadata"]["labels"].contains("team"));
  EXPECT_FALSE(tmpl["metadata"].contains("annotations"));
  EXPECT_EQ(tmpl["spec"]["containers"][0]["image"],
            "registry.example.com/ml/"
            "iris-trainer@sha256:2222222222222222222222222222222222222222222222222222222222222222");
  EXPECT_EQ(tmpl["spec"]["containers"][1]["image"],
            "busybox@sha256:3333333333333333333333333333333333333333333333333333333333333333");
  EXPECT_EQ(tmpl["spec"]["containers"][0]["args"],
            original["spec"]["template"]["spec"]["containers"][0]["args"]);
  const Json& env = tmpl["spec"]["containers"][0]["env"];
  EXPECT_EQ(env[1], Json({{"name", "MLOPS_RUN"}, {"value", "iris-repro-1"}}));
  EXPECT_EQ(env[3], Json({{"name", "MLOPS_SEED"}, {"value", "42"}}));
  EXPECT_EQ(env[4], Json({{"name", "MLOPS_ARTIFACT_URI"},
                          {"value", "s3://mlops-artifacts/team-a/iris/iris-repro-1-5e3c0a9b"}}));
  EXPECT_EQ(env[6], Json({{"name", "MLOPS_DATASET_DIGEST"}, {"value", kDatasetDigest}}));
  // Job settings are the reproduction's own (its spec has none: defaults).
  EXPECT_EQ(job["spec"]["backoffLimit"], 1);
  EXPECT_FALSE(job["spec"].contains("activeDeadlineSeconds"));
}

TEST(RenderJob, IsDeterministic) {
  EXPECT_EQ(render(sampleRun()).dump(), render(sampleRun()).dump());
}

}  // namespace
}  // namespace mlops::training
