#include "kube/resource.h"

#include <gtest/gtest.h>

namespace mlops::kube {
namespace {

TEST(ResourceTest, CoreNamespacedPaths) {
  const Resource& cm = resources::kConfigMaps;
  EXPECT_EQ(cm.apiVersion(), "v1");
  EXPECT_EQ(cm.groupResource(), "configmaps");
  EXPECT_EQ(cm.path("ns1"), "/api/v1/namespaces/ns1/configmaps");
  EXPECT_EQ(cm.path("ns1", "cfg"), "/api/v1/namespaces/ns1/configmaps/cfg");
  EXPECT_EQ(cm.path(""), "/api/v1/configmaps");  // all namespaces
}

TEST(ResourceTest, GroupedAndClusterScopedPaths) {
  EXPECT_EQ(resources::kDeployments.apiVersion(), "apps/v1");
  EXPECT_EQ(resources::kDeployments.groupResource(), "deployments.apps");
  EXPECT_EQ(resources::kJobs.path("a", "b"), "/apis/batch/v1/namespaces/a/jobs/b");
  EXPECT_EQ(resources::kLeases.path("kube-system", "x"),
            "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/x");
  EXPECT_EQ(resources::kNamespaces.path("", "team"), "/api/v1/namespaces/team");
  // A namespace passed for a cluster-scoped resource is ignored.
  EXPECT_EQ(resources::kCustomResourceDefinitions.path("ignored", "a.b.c"),
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/a.b.c");
}

TEST(ResourceTest, ProjectKinds) {
  EXPECT_EQ(resources::kTrainingRuns.apiVersion(), "mlops.dev/v1alpha1");
  EXPECT_EQ(resources::kTrainingRuns.kind, "TrainingRun");
  EXPECT_EQ(resources::kModelVersions.path("ml", "m-v1"),
            "/apis/mlops.dev/v1alpha1/namespaces/ml/modelversions/m-v1");
  EXPECT_EQ(resources::kDriftPolicies.groupResource(), "driftpolicies.mlops.dev");
}

TEST(ResourceTest, NamesAreEncodedInPaths) {
  EXPECT_EQ(resources::kConfigMaps.path("ns", "a/b?c"),
            "/api/v1/namespaces/ns/configmaps/a%2Fb%3Fc");
}

TEST(UrlEncodeTest, KeepsUnreservedEncodesTheRest) {
  EXPECT_EQ(urlEncode("abcXYZ019-_.~"), "abcXYZ019-_.~");
  EXPECT_EQ(urlEncode("app=web,tier!=db"), "app%3Dweb%2Ctier%21%3Ddb");
  EXPECT_EQ(urlEncode("a b&c/d"), "a%20b%26c%2Fd");
  EXPECT_EQ(urlEncode("x in (a,b)"), "x%20in%20%28a%2Cb%29");
  EXPECT_EQ(urlEncode(""), "");
  EXPECT_EQ(urlEncode("\xC3\xA9"), "%C3%A9");  // UTF-8 bytes one by one
}

}  // namespace
}  // namespace mlops::kube
