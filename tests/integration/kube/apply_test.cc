// Server-side apply against the real API server, including field-manager
// conflicts.
#include <gtest/gtest.h>

#include "support/plane.h"

namespace mlops::kube {
namespace {

class KubeApplyTest : public testing::PlaneTest {
 protected:
  std::string namespacePrefix() const override { return "kube-apply"; }

  Json cm(const std::string& value) const {
    return {{"apiVersion", "v1"},
            {"kind", "ConfigMap"},
            {"metadata", {{"name", "ssa"}, {"namespace", ns()}}},
            {"data", {{"key", value}}}};
  }
};

std::string managerOf(const Json& obj, const std::string& manager) {
  for (const auto& entry : obj.value("/metadata/managedFields"_json_pointer, Json::array())) {
    if (entry.value("manager", "") == manager) return entry.value("operation", "");
  }
  return "";
}

TEST_F(KubeApplyTest, CreatesThenIsIdempotent) {
  ApplyOptions first;
  first.fieldManager = "first";
  Result<Json> created = client().apply(resources::kConfigMaps, ns(), cm("a"), first);
  ASSERT_TRUE(created.ok()) << created.error().toString();
  EXPECT_EQ((*created)["data"]["key"], "a");
  EXPECT_EQ(managerOf(*created, "first"), "Apply");
  Result<Json> again = client().apply(resources::kConfigMaps, ns(), cm("a"), first);
  ASSERT_TRUE(again.ok()) << again.error().toString();
  EXPECT_EQ((*again)["metadata"]["resourceVersion"], (*created)["metadata"]["resourceVersion"]);
}

TEST_F(KubeApplyTest, SecondManagerConflictsUnlessForced) {
  ApplyOptions first;
  first.fieldManager = "first";
  ASSERT_TRUE(client().apply(resources::kConfigMaps, ns(), cm("a"), first).ok());

  ApplyOptions second;
  second.fieldManager = "second";
  Result<Json> conflict = client().apply(resources::kConfigMaps, ns(), cm("b"), second);
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().code, ErrorCode::kConflict);
  EXPECT_EQ(conflict.error().httpStatus, 409);
  // The server names the field and who owns it.
  EXPECT_NE(conflict.error().message.find(".data.key"), std::string::npos)
      << conflict.error().message;
  EXPECT_NE(conflict.error().message.find("first"), std::string::npos) << conflict.error().message;

  ApplyOptions dryForce = second;
  dryForce.force = true;
  dryForce.dryRun = true;
  Result<Json> dry = client().apply(resources::kConfigMaps, ns(), cm("b"), dryForce);
  ASSERT_TRUE(dry.ok()) << dry.error().toString();
  EXPECT_EQ((*dry)["data"]["key"], "b");
  EXPECT_EQ((*client().get(resources::kConfigMaps, ns(), "ssa"))["data"]["key"], "a");

  ApplyOptions forced = second;
  forced.force = true;
  Result<Json> taken = client().apply(resources::kConfigMaps, ns(), cm("b"), forced);
  ASSERT_TRUE(taken.ok()) << taken.error().toString();
  EXPECT_EQ((*taken)["data"]["key"], "b");
  EXPECT_EQ(managerOf(*taken, "second"), "Apply");
}

}  // namespace
}  // namespace mlops::kube
