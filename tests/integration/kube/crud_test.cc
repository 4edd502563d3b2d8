// Reads and writes against the real API server: ConfigMaps end to end, and a
// custom resource with a status subresource.
#include <gtest/gtest.h>

#include <thread>

#include "support/plane.h"

namespace mlops::kube {
namespace {

using namespace std::chrono_literals;

class KubeCrudTest : public testing::PlaneTest {
 protected:
  std::string namespacePrefix() const override { return "kube-crud"; }
};

Json configMap(const std::string& name, Json data) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"labels", {{"suite", "crud"}}}}},
          {"data", std::move(data)}};
}

TEST_F(KubeCrudTest, ConfigMapLifecycle) {
  const Resource& cm = resources::kConfigMaps;

  WriteOptions dry;
  dry.dryRun = true;
  Result<Json> dryRun = client().create(cm, ns(), configMap("cfg", {{"a", "1"}}), dry);
  ASSERT_TRUE(dryRun.ok()) << dryRun.error().toString();
  EXPECT_EQ(client().get(cm, ns(), "cfg").error().code, ErrorCode::kNotFound);

  Result<Json> created = client().create(cm, ns(), configMap("cfg", {{"a", "1"}}));
  ASSERT_TRUE(created.ok()) << created.error().toString();
  const std::string uid = (*created)["metadata"]["uid"];
  const std::string rv1 = (*created)["metadata"]["resourceVersion"];

  Result<Json> again = client().create(cm, ns(), configMap("cfg", {{"a", "1"}}));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(again.error().reason, "AlreadyExists");
  EXPECT_NE(again.error().message.find("already exists"), std::string::npos);

  Result<Json> got = client().get(cm, ns(), "cfg");
  ASSERT_TRUE(got.ok()) << got.error().toString();
  EXPECT_EQ((*got)["data"]["a"], "1");

  Json changed = *got;
  changed["data"]["a"] = "2";
  Result<Json> updated = client().update(cm, ns(), changed);
  ASSERT_TRUE(updated.ok()) << updated.error().toString();
  EXPECT_NE((*updated)["metadata"]["resourceVersion"], rv1);

  // The copy we read first is stale now: optimistic concurrency says no.
  Json stale = *got;
  stale["data"]["a"] = "3";
  Result<Json> conflict = client().update(cm, ns(), stale);
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().code, ErrorCode::kConflict);
  EXPECT_NE(conflict.error().message.find("the object has been modified"), std::string::npos)
      << conflict.error().message;

  Result<Json> patched = client().mergePatch(cm, ns(), "cfg", {{"data", {{"b", "3"}}}});
  ASSERT_TRUE(patched.ok()) << patched.error().toString();
  EXPECT_EQ((*patched)["data"]["a"], "2");
  EXPECT_EQ((*patched)["data"]["b"], "3");

  ListOptions byLabel;
  byLabel.labelSelector = "suite=crud";
  Result<ListPage> listed = client().list(cm, ns(), byLabel);
  ASSERT_TRUE(listed.ok()) << listed.error().toString();
  ASSERT_EQ(listed->items.size(), 1u);
  EXPECT_EQ(listed->items[0]["kind"], "ConfigMap");
  EXPECT_FALSE(listed->resourceVersion.empty());

  DeleteOptions wrongUid;
  wrongUid.preconditionUID = "00000000-0000-0000-0000-000000000000";
  Result<Json> refused = client().remove(cm, ns(), "cfg", wrongUid);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kConflict);
  EXPECT_NE(refused.error().message.find("the UID in the precondition"), std::string::npos)
      << refused.error().message;

  DeleteOptions rightUid;
  rightUid.preconditionUID = uid;
  rightUid.propagation = PropagationPolicy::kBackground;
  Result<Json> removed = client().remove(cm, ns(), "cfg", rightUid);
  ASSERT_TRUE(removed.ok()) << removed.error().toString();
  EXPECT_EQ(client().get(cm, ns(), "cfg").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(client().remove(cm, ns(), "cfg").error().code, ErrorCode::kNotFound);
}

TEST_F(KubeCrudTest, InvalidObjectIsRejectedWithTheServersReason) {
  Result<Json> bad = client().create(resources::kConfigMaps, ns(), configMap("Bad_Name", {}));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalid);
  EXPECT_EQ(bad.error().httpStatus, 422);
  EXPECT_NE(bad.error().message.find("metadata.name"), std::string::npos) << bad.error().message;
}

TEST_F(KubeCrudTest, DryRunDeleteKeepsTheObject) {
  ASSERT_TRUE(client().create(resources::kConfigMaps, ns(), configMap("keep", {})).ok());
  // DeleteOptions has no dryRun field in our API; a merge patch dry run
  // proves the query parameter reaches the server.
  WriteOptions dry;
  dry.dryRun = true;
  Result<Json> patched =
      client().mergePatch(resources::kConfigMaps, ns(), "keep", {{"data", {{"x", "y"}}}}, "", dry);
  ASSERT_TRUE(patched.ok()) << patched.error().toString();
  EXPECT_EQ((*patched)["data"]["x"], "y");
  Result<Json> stored = client().get(resources::kConfigMaps, ns(), "keep");
  ASSERT_TRUE(stored.ok());
  EXPECT_FALSE(stored->contains("data"));
}

// A test-only CRD (applied idempotently, left installed) with a status
// subresource: writes through /status change only status.
const Resource kWidgets{"kubetest.mlops.dev", "v1", "widgets", "Widget", true};

Json widgetCrd() {
  Json schema = {
      {"type", "object"},
      {"properties",
       {{"spec", {{"type", "object"}, {"x-kubernetes-preserve-unknown-fields", true}}},
        {"status", {{"type", "object"}, {"x-kubernetes-preserve-unknown-fields", true}}}}}};
  return {{"apiVersion", "apiextensions.k8s.io/v1"},
          {"kind", "CustomResourceDefinition"},
          {"metadata", {{"name", "widgets.kubetest.mlops.dev"}}},
          {"spec",
           {{"group", "kubetest.mlops.dev"},
            {"scope", "Namespaced"},
            {"names",
             {{"plural", "widgets"},
              {"singular", "widget"},
              {"kind", "Widget"},
              {"listKind", "WidgetList"}}},
            {"versions", Json::array({{{"name", "v1"},
                                       {"served", true},
                                       {"storage", true},
                                       {"subresources", {{"status", Json::object()}}},
                                       {"schema", {{"openAPIV3Schema", schema}}}}})}}}};
}

bool established(const Json& crd) {
  for (const auto& c : crd.value("/status/conditions"_json_pointer, Json::array())) {
    if (c.value("type", "") == "Established" && c.value("status", "") == "True") return true;
  }
  return false;
}

TEST_F(KubeCrudTest, CustomResourceWithStatusSubresource) {
  ApplyOptions apply;
  apply.fieldManager = "kube-integration-tests";
  apply.force = true;
  Result<Json> crd = client().apply(resources::kCustomResourceDefinitions, "", widgetCrd(), apply);
  ASSERT_TRUE(crd.ok()) << crd.error().toString();
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!established(*crd) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(200ms);
    crd = client().get(resources::kCustomResourceDefinitions, "", "widgets.kubetest.mlops.dev");
    ASSERT_TRUE(crd.ok()) << crd.error().toString();
  }
  ASSERT_TRUE(established(*crd)) << crd->dump();

  Json widget = {{"apiVersion", "kubetest.mlops.dev/v1"},
                 {"kind", "Widget"},
                 {"metadata", {{"name", "w"}}},
                 {"spec", {{"size", 1}}},
                 {"status", {{"phase", "ignored-on-create"}}}};
  Result<Json> created = client().create(kWidgets, ns(), widget);
  // Discovery of a fresh CRD can lag its Established condition briefly.
  for (int i = 0; i < 50 && !created.ok() && created.error().code == ErrorCode::kNotFound; ++i) {
    std::this_thread::sleep_for(200ms);
    created = client().create(kWidgets, ns(), widget);
  }
  ASSERT_TRUE(created.ok()) << created.error().toString();
  EXPECT_FALSE(created->contains("status"));  // status is not written through the main resource

  Json withStatus = *created;
  withStatus["status"] = {{"phase", "Ready"}};
  withStatus["spec"]["size"] = 99;  // ignored by the status subresource
  Result<Json> statusUpdated = client().updateStatus(kWidgets, ns(), withStatus);
  ASSERT_TRUE(statusUpdated.ok()) << statusUpdated.error().toString();
  EXPECT_EQ((*statusUpdated)["status"]["phase"], "Ready");
  EXPECT_EQ((*statusUpdated)["spec"]["size"], 1);

  // A stale status write conflicts like any other.
  Result<Json> stale = client().updateStatus(kWidgets, ns(), withStatus);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, ErrorCode::kConflict);

  Result<Json> patched =
      client().mergePatch(kWidgets, ns(), "w", {{"status", {{"count", 3}}}}, "status");
  ASSERT_TRUE(patched.ok()) << patched.error().toString();

  ApplyOptions statusApply;
  statusApply.fieldManager = "kube-integration-tests";
  Json statusPatch = {{"apiVersion", "kubetest.mlops.dev/v1"},
                      {"kind", "Widget"},
                      {"metadata", {{"name", "w"}}},
                      {"status", {{"applied", true}}}};
  Result<Json> applied = client().apply(kWidgets, ns(), statusPatch, statusApply, "status");
  ASSERT_TRUE(applied.ok()) << applied.error().toString();

  Result<Json> got = client().get(kWidgets, ns(), "w");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)["status"]["phase"], "Ready");
  EXPECT_EQ((*got)["status"]["count"], 3);
  EXPECT_EQ((*got)["status"]["applied"], true);
  EXPECT_EQ((*got)["spec"]["size"], 1);
}

}  // namespace
}  // namespace mlops::kube
