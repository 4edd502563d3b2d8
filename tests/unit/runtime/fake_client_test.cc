// The in-memory API server must behave like the real one where controllers
// depend on it, or controller tests prove nothing: these pin it down.
#include "fake_client.h"

#include <gtest/gtest.h>

#include "runtime/object.h"

namespace mlops::runtime::testing {
namespace {

using nlohmann::json;

const kube::Resource& deployments() {
  static const kube::Resource r{"apps", "v1", "deployments", "Deployment", true};
  return r;
}

kube::ApplyOptions by(const std::string& manager, bool force = false) {
  kube::ApplyOptions o;
  o.fieldManager = manager;
  o.force = force;
  return o;
}

kube::WriteOptions writtenBy(const std::string& manager) {
  kube::WriteOptions o;
  o.fieldManager = manager;
  return o;
}

kube::DeleteOptions ifUid(const std::string& uid) {
  kube::DeleteOptions o;
  o.preconditionUID = uid;
  return o;
}

json deployment(int replicas = 1) {
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata", {{"name", "iris"}, {"namespace", "ns"}}},
          {"spec", {{"replicas", replicas}, {"paused", false}}}};
}

TEST(FakeClientTest, StatusIsASubresourceSeparateFromSpec) {
  FakeClient api;
  json withStatus = deployment();
  withStatus["status"] = {{"readyReplicas", 5}};
  auto created = api.create(deployments(), "ns", withStatus);
  ASSERT_TRUE(created.ok());
  EXPECT_FALSE(created->contains("status")) << "create ignores status";

  json status = *created;
  status["status"] = {{"readyReplicas", 1}};
  status["spec"]["replicas"] = 9;               // ignored by updateStatus
  status["metadata"]["labels"] = {{"x", "y"}};  // ignored too
  auto st = api.updateStatus(deployments(), "ns", status);
  ASSERT_TRUE(st.ok()) << st.error().toString();
  EXPECT_EQ((*st)["status"]["readyReplicas"], 1);
  EXPECT_EQ((*st)["spec"]["replicas"], 1);
  EXPECT_FALSE((*st)["metadata"].contains("labels"));

  json update = *st;
  update["spec"]["replicas"] = 3;
  update["status"] = {{"readyReplicas", 42}};  // ignored by update
  auto up = api.update(deployments(), "ns", update);
  ASSERT_TRUE(up.ok());
  EXPECT_EQ((*up)["spec"]["replicas"], 3);
  EXPECT_EQ((*up)["status"]["readyReplicas"], 1);

  auto patched =
      api.mergePatch(deployments(), "ns", "iris", {{"status", {{"readyReplicas", 3}}}}, "status");
  ASSERT_TRUE(patched.ok());
  EXPECT_EQ((*patched)["status"]["readyReplicas"], 3);
  auto mainPatch =
      api.mergePatch(deployments(), "ns", "iris",
                     {{"spec", {{"paused", true}}}, {"status", {{"readyReplicas", 0}}}});
  ASSERT_TRUE(mainPatch.ok());
  EXPECT_EQ((*mainPatch)["spec"]["paused"], true);
  EXPECT_EQ((*mainPatch)["status"]["readyReplicas"], 3);

  // A ConfigMap has no status subresource.
  json cm = {{"apiVersion", "v1"},
             {"kind", "ConfigMap"},
             {"metadata", {{"name", "c"}, {"namespace", "ns"}}}};
  ASSERT_TRUE(api.create(kube::resources::kConfigMaps, "ns", cm).ok());
  EXPECT_EQ(api.updateStatus(kube::resources::kConfigMaps, "ns", cm).error().code,
            ErrorCode::kNotFound);
}

TEST(FakeClientTest, GenerationStartsAtOneAndGrowsOnSpecChangesOnly) {
  FakeClient api;
  json d = deployment();
  d["metadata"]["generation"] = 7;  // not the client's to set
  auto created = api.create(deployments(), "ns", d);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ((*created)["metadata"]["generation"], 1);

  json s = *created;
  s["status"] = {{"observedGeneration", 1}};
  auto st = api.updateStatus(deployments(), "ns", s);
  EXPECT_EQ((*st)["metadata"]["generation"], 1) << "status is not spec";

  json labelled = *st;
  labelled["metadata"]["labels"] = {{"a", "b"}};
  auto up = api.update(deployments(), "ns", labelled);
  EXPECT_EQ((*up)["metadata"]["generation"], 1) << "metadata is not spec";

  json changed = *up;
  changed["spec"]["replicas"] = 2;
  up = api.update(deployments(), "ns", changed);
  EXPECT_EQ((*up)["metadata"]["generation"], 2);
  auto patched = api.mergePatch(deployments(), "ns", "iris", {{"spec", {{"replicas", 4}}}});
  EXPECT_EQ((*patched)["metadata"]["generation"], 3);
}

TEST(FakeClientTest, StaleResourceVersionsConflict) {
  FakeClient api;
  json v1 = *api.create(deployments(), "ns", deployment());
  json v2 = v1;
  v2["spec"]["replicas"] = 2;
  ASSERT_TRUE(api.update(deployments(), "ns", v2).ok());
  json stale = v1;
  stale["spec"]["replicas"] = 5;
  EXPECT_EQ(api.update(deployments(), "ns", stale).error().code, ErrorCode::kConflict);
  stale["status"] = {{"readyReplicas", 1}};
  EXPECT_EQ(api.updateStatus(deployments(), "ns", stale).error().code, ErrorCode::kConflict);
  EXPECT_EQ(api.mergePatch(deployments(), "ns", "iris",
                           {{"metadata", {{"resourceVersion", resourceVersionOf(v1)}}},
                            {"spec", {{"replicas", 7}}}})
                .error()
                .code,
            ErrorCode::kConflict);
  EXPECT_EQ((*api.object(deployments(), "ns", "iris"))["spec"]["replicas"], 2);
}

TEST(FakeClientTest, ServerSideApplyOwnsFieldsPerManagerAndConflicts) {
  FakeClient api;
  const kube::ApplyOptions a = by("mlops-operator");
  json mine = deployment(1);
  mine["metadata"]["labels"] = {{"mlops.dev/model", "iris"}};
  ASSERT_TRUE(api.apply(deployments(), "ns", mine, a).ok());
  EXPECT_EQ(
      api.fieldOwners(deployments(), "ns", "iris")["mlops-operator"],
      (std::set<std::string>{"metadata.labels.mlops.dev/model", "spec.paused", "spec.replicas"}));

  // Another manager (an HPA, a person with kubectl) changes a field we own.
  kube::ApplyOptions hpa = by("hpa");
  json scale = {{"apiVersion", "apps/v1"},
                {"kind", "Deployment"},
                {"metadata", {{"name", "iris"}}},
                {"spec", {{"replicas", 4}}}};
  auto refused = api.apply(deployments(), "ns", scale, hpa);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kConflict);
  EXPECT_NE(refused.error().message.find("conflict with \"mlops-operator\": .spec.replicas"),
            std::string::npos)
      << refused.error().message;
  EXPECT_EQ((*api.object(deployments(), "ns", "iris"))["spec"]["replicas"], 1);

  // The same value is shared, not a conflict.
  scale["spec"]["replicas"] = 1;
  ASSERT_TRUE(api.apply(deployments(), "ns", scale, hpa).ok());
  // Forced, the other manager takes the field over.
  scale["spec"]["replicas"] = 4;
  hpa.force = true;
  auto forced = api.apply(deployments(), "ns", scale, hpa);
  ASSERT_TRUE(forced.ok()) << forced.error().toString();
  EXPECT_EQ((*forced)["spec"]["replicas"], 4);
  auto owners = api.fieldOwners(deployments(), "ns", "iris");
  EXPECT_EQ(owners["hpa"], std::set<std::string>{"spec.replicas"});
  EXPECT_EQ(owners["mlops-operator"].count("spec.replicas"), 0u);

  // Leaving out a field one owns alone removes it; one owned by another
  // manager stays.
  json less = deployment(1);
  less["spec"].erase("paused");
  less["spec"].erase("replicas");
  auto applied = api.apply(deployments(), "ns", less, a);
  ASSERT_TRUE(applied.ok()) << applied.error().toString();
  EXPECT_FALSE((*applied)["spec"].contains("paused"));
  EXPECT_FALSE((*applied)["metadata"].contains("labels") &&
               (*applied)["metadata"]["labels"].contains("mlops.dev/model"));
  EXPECT_EQ((*applied)["spec"]["replicas"], 4) << "owned by the hpa";

  EXPECT_EQ(api.apply(deployments(), "ns", less, kube::ApplyOptions{}).error().code,
            ErrorCode::kBadRequest)
      << "apply needs a field manager";
}

TEST(FakeClientTest, ApplyCreatesAndANonApplyWriteTakesOwnershipWithoutConflict) {
  FakeClient api;
  ASSERT_TRUE(api.apply(deployments(), "ns", deployment(1), by("op")).ok());
  json edited = *api.object(deployments(), "ns", "iris");
  edited["spec"]["replicas"] = 3;
  ASSERT_TRUE(api.update(deployments(), "ns", edited, writtenBy("kubectl-edit")).ok());
  auto owners = api.fieldOwners(deployments(), "ns", "iris");
  EXPECT_EQ(owners["kubectl-edit"], std::set<std::string>{"spec.replicas"});
  EXPECT_EQ(owners["op"], std::set<std::string>{"spec.paused"});
  // Now applying our old value conflicts with the editor.
  EXPECT_EQ(api.apply(deployments(), "ns", deployment(1), by("op")).error().code,
            ErrorCode::kConflict);
}

TEST(FakeClientTest, FinalizersHoldADeletionUntilTheLastOneIsRemoved) {
  FakeClient api;
  json d = deployment();
  d["metadata"]["finalizers"] = {"mlops.dev/production"};
  ASSERT_TRUE(api.create(deployments(), "ns", d).ok());
  auto marked = api.remove(deployments(), "ns", "iris");
  ASSERT_TRUE(marked.ok());
  EXPECT_TRUE((*marked)["metadata"].contains("deletionTimestamp"));
  auto still = api.object(deployments(), "ns", "iris");
  ASSERT_TRUE(still.has_value()) << "held by its finalizer";
  EXPECT_TRUE((*still)["metadata"].contains("deletionTimestamp"));

  json released = *still;
  released["metadata"]["finalizers"] = json::array();
  ASSERT_TRUE(api.update(deployments(), "ns", released).ok());
  EXPECT_FALSE(api.object(deployments(), "ns", "iris").has_value()) << "deleted with the last";

  // Without finalizers, remove() deletes at once.
  ASSERT_TRUE(api.create(deployments(), "ns", deployment()).ok());
  ASSERT_TRUE(api.remove(deployments(), "ns", "iris").ok());
  EXPECT_FALSE(api.object(deployments(), "ns", "iris").has_value());
}

TEST(FakeClientTest, DeletePreconditionsOnUid) {
  FakeClient api;
  json created = *api.create(deployments(), "ns", deployment());
  auto refused = api.remove(deployments(), "ns", "iris", ifUid("someone-else"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kConflict);
  EXPECT_TRUE(api.object(deployments(), "ns", "iris").has_value());
  ASSERT_TRUE(api.remove(deployments(), "ns", "iris", ifUid(uidOf(created))).ok());
  EXPECT_FALSE(api.object(deployments(), "ns", "iris").has_value());
}

}  // namespace
}  // namespace mlops::runtime::testing
