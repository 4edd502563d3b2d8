#include "controllers/rollout/serving.h"

#include <gtest/gtest.h>

namespace mlops::rollout {
namespace {

using Json = nlohmann::json;

Json servingVersion() {
  return Json{
      {"metadata", {{"name", "iris-v7"}, {"namespace", "ml"}, {"uid", "u7"}}},
      {"spec",
       {{"model", "iris"},
        {"version", 7},
        {"artifact", {{"uri", "s3://m/7"}, {"digest", "sha256:77"}}},
        {"serving",
         {{"container", "server"},
          {"port", 9000},
          {"template",
           {{"metadata", {{"labels", {{"team", "a"}}}}},
            {"spec",
             {{"containers",
               Json::array(
                   {Json{{"name", "sidecar"}, {"image", "s:1"}},
                    Json{{"name", "server"},
                         {"image", "srv:1"},
                         {"env",
                          Json::array({Json{{"name", "MLOPS_MODEL_VERSION"}, {"value", "stale"}},
                                       Json{{"name", "KEEP"}, {"value", "1"}}})},
                         {"ports", Json::array({Json{{"containerPort", 9000}}})}}})}}}}}}}}},
  };
}

TEST(RenderDeployment, TheServingContainerGetsTheModelEnvironmentAndTheHttpPort) {
  auto d = renderDeployment(servingVersion(), {.track = kTrackCanary, .replicas = 1});
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ((*d)["metadata"]["name"], "iris-canary");
  const Json& containers = (*d)["spec"]["template"]["spec"]["containers"];
  EXPECT_FALSE(containers[0].contains("env")) << "only the serving container is changed";
  const Json& env = containers[1]["env"];
  Json byName;
  for (const Json& e : env) {
    byName[e["name"].get<std::string>()] = e["value"];
  }
  EXPECT_EQ(byName["MLOPS_MODEL"], "iris");
  EXPECT_EQ(byName["MLOPS_MODEL_VERSION"], "7");
  EXPECT_EQ(byName["MLOPS_MODEL_URI"], "s3://m/7");
  EXPECT_EQ(byName["MLOPS_MODEL_DIGEST"], "sha256:77");
  EXPECT_EQ(byName["KEEP"], "1");
  EXPECT_EQ(env.size(), 5u) << "the stale MLOPS_MODEL_VERSION is replaced, not duplicated";
  ASSERT_EQ(containers[1]["ports"].size(), 1u);
  EXPECT_EQ(containers[1]["ports"][0]["name"], "http");
  EXPECT_EQ(containers[1]["ports"][0]["containerPort"], 9000);
  const Json& labels = (*d)["spec"]["template"]["metadata"]["labels"];
  EXPECT_EQ(labels["team"], "a");
  EXPECT_EQ(labels["mlops.dev/track"], "canary");
  EXPECT_EQ(labels["app.kubernetes.io/component"], "serving");
  EXPECT_EQ(servedVersion(*d), 7);
}

TEST(RenderDeployment, WithoutReplicasTheFieldIsLeftOut) {
  auto d = renderDeployment(servingVersion(), {.track = kTrackStable, .replicas = std::nullopt});
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE((*d)["spec"].contains("replicas"));
  EXPECT_EQ((*d)["metadata"]["name"], "iris");
}

TEST(RenderDeployment, UnservableVersionsNameTheField) {
  Json v = servingVersion();
  v["spec"]["serving"].erase("template");
  auto d = renderDeployment(v, {.track = kTrackStable, .replicas = std::nullopt});
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("spec.serving.template"), std::string::npos);
  v = servingVersion();
  v["spec"]["serving"]["template"]["spec"]["containers"] = Json::array();
  d = renderDeployment(v, {.track = kTrackStable, .replicas = std::nullopt});
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("containers"), std::string::npos);
}

TEST(OwnerReferences, EveryOwnerWithOnlyTheNamedOneAsController) {
  const Json refs = ownerReferences(
      {servingVersion(), Json{{"metadata", {{"name", "iris-v8"}, {"uid", "u8"}}}}}, "iris-v8");
  ASSERT_EQ(refs.size(), 2u);
  EXPECT_FALSE(refs[0].contains("controller"));
  EXPECT_EQ(refs[1]["controller"], true);
  EXPECT_EQ(refs[1]["uid"], "u8");
  EXPECT_FALSE(refs[1].contains("blockOwnerDeletion"));
}

TEST(RenderService, SelectsServingPodsOfTheModelOnly) {
  const Json s = renderService("ml", "iris", Json::array());
  EXPECT_EQ(s["spec"]["selector"],
            (Json{{"mlops.dev/model", "iris"}, {"app.kubernetes.io/component", "serving"}}));
  EXPECT_EQ(s["spec"]["ports"][0]["targetPort"], "http");
}

TEST(Availability, NeedsTheCurrentGenerationAndEveryReplica) {
  Json d{{"metadata", {{"generation", 3}}},
         {"spec", {{"replicas", 2}}},
         {"status",
          {{"observedGeneration", 3},
           {"replicas", 2},
           {"updatedReplicas", 2},
           {"availableReplicas", 2},
           {"conditions", Json::array({Json{{"type", "Available"},
                                            {"status", "True"},
                                            {"lastTransitionTime", "2026-01-01T00:00:00Z"}}})}}}};
  EXPECT_TRUE(availabilityOf(d).available);
  EXPECT_EQ(availabilityOf(d).availableSince, "2026-01-01T00:00:00Z");
  d["status"]["observedGeneration"] = 2;
  EXPECT_FALSE(availabilityOf(d).available);
  d["status"]["observedGeneration"] = 3;
  d["status"]["replicas"] = 3;  // an old pod still running
  EXPECT_FALSE(availabilityOf(d).available);
  d["status"]["conditions"].push_back(Json{{"type", "Progressing"},
                                           {"status", "False"},
                                           {"reason", "ProgressDeadlineExceeded"},
                                           {"message", "timed out"}});
  EXPECT_TRUE(availabilityOf(d).deadlineExceeded);
}

}  // namespace
}  // namespace mlops::rollout
