// deploy/rbac.yaml and the Helm chart's RBAC grant exactly the permissions in
// src/main/required_permissions.cc: a rule the code does not use, or a use
// without its rule, fails here. (The end-to-end suites run the operator with
// deploy/rbac.yaml's role, and its startup check refuses a role that lacks a
// rule: see tests/e2e/operator_e2e_test.cc.)
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <tuple>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "main/required_permissions.h"

namespace mlops {
namespace {

// (group, resource[/subresource], verb, resourceName)
using Grant = std::tuple<std::string, std::string, std::string, std::string>;

std::string describe(const Grant& g) {
  const auto& [group, resource, verb, name] = g;
  return verb + " " + resource + (group.empty() ? "" : " (group " + group + ")") +
         (name.empty() ? "" : " named " + name);
}

std::string readRepoFile(const std::string& relative) {
  std::ifstream in(std::string(MLOPS_REPO_ROOT) + "/" + relative);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

// The grants of every ClusterRole or Role (by `kind`) in a manifest. Helm
// template lines ({{ ... }}) only name and label the objects; they are
// dropped so the rest parses as plain YAML.
std::set<Grant> grantsOf(const std::string& text, const std::string& kind) {
  std::stringstream in(text);
  std::string line;
  std::string plain;
  while (std::getline(in, line)) {
    if (line.find("{{") == std::string::npos) plain += line + "\n";
  }
  std::set<Grant> out;
  for (const YAML::Node& doc : YAML::LoadAll(plain)) {
    if (!doc.IsMap() || !doc["kind"] || doc["kind"].as<std::string>() != kind) continue;
    for (const YAML::Node& rule : doc["rules"]) {
      std::vector<std::string> names;
      if (rule["resourceNames"]) names = rule["resourceNames"].as<std::vector<std::string>>();
      if (names.empty()) names.push_back("");
      for (const auto& group : rule["apiGroups"].as<std::vector<std::string>>()) {
        for (const auto& resource : rule["resources"].as<std::vector<std::string>>()) {
          for (const auto& verb : rule["verbs"].as<std::vector<std::string>>()) {
            for (const auto& name : names) out.insert({group, resource, verb, name});
          }
        }
      }
    }
  }
  return out;
}

std::set<Grant> tableGrants(PermissionScope scope) {
  std::set<Grant> out;
  for (const RequiredPermission& p : requiredPermissions()) {
    if (p.scope != scope) continue;
    out.insert({p.group, p.subresource.empty() ? p.resource : p.resource + "/" + p.subresource,
                p.verb, p.name});
  }
  return out;
}

void expectSameGrants(const std::set<Grant>& manifest, const std::set<Grant>& table,
                      const std::string& where) {
  for (const Grant& g : manifest) {
    EXPECT_TRUE(table.count(g)) << where << " grants " << describe(g)
                                << ", which no code path in src/main/required_permissions.cc uses";
  }
  for (const Grant& g : table) {
    EXPECT_TRUE(manifest.count(g))
        << where << " lacks " << describe(g) << ", which the operator uses";
  }
}

TEST(RbacTest, DeployRbacGrantsExactlyWhatTheCodeUses) {
  const std::string text = readRepoFile("deploy/rbac.yaml");
  ASSERT_FALSE(text.empty());
  expectSameGrants(grantsOf(text, "ClusterRole"), tableGrants(PermissionScope::kWatched),
                   "deploy/rbac.yaml's ClusterRole");
  expectSameGrants(grantsOf(text, "Role"), tableGrants(PermissionScope::kLeaderElection),
                   "deploy/rbac.yaml's leader-election Role");
}

TEST(RbacTest, HelmChartGrantsTheSameAsDeploy) {
  const std::string text = readRepoFile("helm/mlops-operator/templates/rbac.yaml");
  ASSERT_FALSE(text.empty());
  expectSameGrants(grantsOf(text, "ClusterRole"), tableGrants(PermissionScope::kWatched),
                   "the Helm chart's ClusterRole");
  expectSameGrants(grantsOf(text, "Role"), tableGrants(PermissionScope::kLeaderElection),
                   "the Helm chart's leader-election Role");
}

TEST(RbacTest, EveryPermissionSaysWhyAndNamesItsResource) {
  for (const RequiredPermission& p : requiredPermissions()) {
    EXPECT_FALSE(p.why.empty()) << p.describe();
    EXPECT_FALSE(p.resource.empty());
    EXPECT_FALSE(p.verb.empty());
  }
  RequiredPermission jobs{"batch", "jobs", "", "create", "", PermissionScope::kWatched, "x"};
  EXPECT_EQ(jobs.describe(), "create jobs.batch");
  RequiredPermission status{
      "mlops.dev", "trainingruns", "status", "update", "", PermissionScope::kWatched, "x"};
  EXPECT_EQ(status.describe(), "update trainingruns.mlops.dev/status");
}

}  // namespace
}  // namespace mlops
