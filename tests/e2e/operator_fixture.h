// The fixture shared by the end-to-end suites: the CRDs, the operator's
// namespace and least-privilege RBAC installed as a user would, and a
// kubeconfig carrying a token of the operator's own ServiceAccount, so the
// binary under test has exactly the permissions deploy/rbac.yaml grants.
#pragma once

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e_wait.h"
#include "kube/resource.h"
#include "support/plane.h"

namespace mlops::e2e {

inline constexpr const char* kOperatorNamespace = "mlops-system";

inline std::string writeFile(const std::string& path, const std::string& content) {
  std::ofstream(path) << content;
  return path;
}

inline std::string kubeconfigYaml(const std::string& server, const std::string& caFile,
                                  const std::string& token) {
  return "apiVersion: v1\nkind: Config\ncurrent-context: op\n"
         "clusters:\n- name: c\n  cluster:\n    server: " +
         server + "\n    certificate-authority: " + caFile +
         "\ncontexts:\n- name: op\n  context:\n    cluster: c\n    user: u\n"
         "users:\n- name: u\n  user:\n    token: " +
         token + "\n";
}

class OperatorFixture : public testing::PlaneTest {
 protected:
  std::string namespacePrefix() const override { return "e2e"; }

  void SetUp() override {
    PlaneTest::SetUp();
    if (HasFatalFailure()) return;
    // What a user installs: CRDs, then the operator's namespace and RBAC.
    for (const char* path : {"crds/", "deploy/namespace.yaml", "deploy/rbac.yaml"}) {
      auto r = testing::kubectl(env(), {"apply", "-f", testing::repoRoot() + "/" + path});
      ASSERT_EQ(r.exitCode, 0) << r.describe();
    }
    auto token = testing::kubectl(
        env(), {"create", "token", "mlops-operator", "-n", kOperatorNamespace, "--duration=1h"});
    ASSERT_EQ(token.exitCode, 0) << token.describe();
    std::string tokenValue = token.out.substr(0, token.out.find_last_not_of("\n") + 1);
    dir_ = testing::repoRoot() + "/.cluster/e2e-" + ns();
    std::filesystem::create_directories(dir_);
    operatorKubeconfig_ = writeFile(
        dir_ + "/operator.kubeconfig",
        kubeconfigYaml(env().get("APISERVER_URL"), env().get("CLUSTER_CA_FILE"), tokenValue));
  }

  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
    PlaneTest::TearDown();
  }

  // Flags of an operator that serves on free loopback ports; with a lease id,
  // it elects a leader on that Lease. `extra` is appended.
  std::vector<std::string> operatorArgs(int metricsPort, int healthPort,
                                        const std::string& leaseId = "",
                                        const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {
        "--kubeconfig=" + operatorKubeconfig_,
        "--metrics-bind-address=127.0.0.1:" + std::to_string(metricsPort),
        "--health-probe-bind-address=127.0.0.1:" + std::to_string(healthPort), "--log-format=text"};
    if (!leaseId.empty()) {
      args.push_back("--leader-elect");
      args.push_back(std::string("--leader-election-namespace=") + kOperatorNamespace);
      args.push_back("--leader-election-id=" + leaseId);
    }
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  const std::string& operatorKubeconfig() const { return operatorKubeconfig_; }

  // Creates `obj` in this test's namespace; a refusal fails the test.
  nlohmann::json create(const kube::Resource& r, const nlohmann::json& obj) {
    auto created = client().create(r, ns(), obj);
    EXPECT_TRUE(created.ok()) << created.error().toString();
    return created.ok() ? *created : nlohmann::json();
  }

  std::optional<nlohmann::json> get(const kube::Resource& r, const std::string& name) {
    auto obj = client().get(r, ns(), name);
    if (obj) return *obj;
    return std::nullopt;
  }

  // The Events of this namespace about the object `involvedName`.
  // (a JSON array; empty when the list failed).
  nlohmann::json eventsAbout(const std::string& involvedName) {
    kube::ListOptions opts;
    opts.fieldSelector = "involvedObject.name=" + involvedName;
    auto page = client().list(kube::resources::kEvents, ns(), opts);
    return page ? page->items : nlohmann::json::array();
  }

  // Whether an Event with `reason` about `involvedName` appears within
  // `timeout`; its message goes to `message` when asked.
  bool eventuallyHasEvent(const std::string& involvedName, const std::string& reason,
                          std::string* message = nullptr,
                          std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
    return eventually(timeout, [&] {
      for (const auto& e : eventsAbout(involvedName)) {
        if (e.value("reason", "") == reason) {
          if (message != nullptr) *message = e.value("message", "");
          return true;
        }
      }
      return false;
    });
  }

  std::string dir_;
  std::string operatorKubeconfig_;
};

}  // namespace mlops::e2e
