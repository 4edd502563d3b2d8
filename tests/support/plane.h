// Helpers for tests that run against the local control plane (`make
// cluster-up`), shared by every integration and end-to-end suite.
//
// - `loadPlaneEnv()` reads the plane's env file: $MLOPS_CLUSTER_ENV, else
//   <repo root>/.cluster/env. Shell syntax, KEY=value per line, values
//   optionally quoted, `export` prefixes and comments allowed.
// - `PlaneTest` is a gtest fixture that FAILS (never skips) with "control
//   plane not running: run make cluster-up" when the file is missing, and
//   otherwise gives each test an admin client and a fresh namespace that is
//   deleted afterwards.
// - `runCommand` / `kubectl` run a program and capture its output.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/result.h"
#include "kube/client.h"
#include "kube/config.h"

namespace mlops::testing {

// The repository root: the MLOPS_REPO_ROOT compile definition.
std::string repoRoot();

struct PlaneEnv {
  std::string file;  // the env file that was read
  std::map<std::string, std::string> vars;

  // The variable's value, or "" when unset.
  std::string get(const std::string& key) const;
  std::string kubeconfig() const { return get("KUBECONFIG"); }
  std::string kubectl() const { return get("KUBECTL"); }
  std::string prometheusUrl() const { return get("PROMETHEUS_URL"); }
  std::string metricsExporterUrl() const { return get("METRICS_EXPORTER_URL"); }
  // An API server on the same etcd without the watch cache (410 tests).
  std::string kubeconfigNoWatchCache() const { return get("KUBECONFIG_NO_WATCH_CACHE"); }
  std::string etcdctl() const { return get("ETCDCTL"); }
  std::string etcdEndpoints() const { return get("ETCD_ENDPOINTS"); }
  std::string clusterDir() const { return get("CLUSTER_DIR"); }
  std::string repoRoot() const { return testing::repoRoot(); }
};

// Parses KEY=value lines (shell syntax subset: export, '…', "…" with \" \\ \$
// escapes, # comments). Pure; exposed for its unit test.
std::map<std::string, std::string> parseEnvFile(const std::string& text);

// The plane's env file, or an Error saying "control plane not running: run
// make cluster-up" and which file is missing.
Result<PlaneEnv> loadPlaneEnv();

// The admin ClientConfig / Client from the plane's KUBECONFIG.
Result<kube::ClientConfig> adminConfig(const PlaneEnv& env);
Result<std::unique_ptr<kube::Client>> adminClient(const PlaneEnv& env);

struct CommandResult {
  int exitCode = -1;  // -1 when it could not run or timed out
  std::string out;
  std::string err;
  bool timedOut = false;
  std::string describe() const;  // exit code and output, for failure messages
};

// Runs argv[0] (looked up in PATH) with `input` on stdin; kills it after
// `timeout`.
CommandResult runCommand(const std::vector<std::string>& argv, const std::string& input = "",
                         std::chrono::seconds timeout = std::chrono::seconds(120));

// `$KUBECTL --kubeconfig $KUBECONFIG <args>`.
CommandResult kubectl(const PlaneEnv& env, const std::vector<std::string>& args,
                      const std::string& input = "");

// A namespace with a unique name ("<prefix>-<random>"), deleted (in the
// background) by the destructor.
class TestNamespace {
 public:
  static Result<std::unique_ptr<TestNamespace>> create(kube::Client& client,
                                                       const std::string& prefix);
  ~TestNamespace();
  const std::string& name() const { return name_; }

 private:
  TestNamespace(kube::Client& client, std::string name) : client_(client), name_(std::move(name)) {}
  kube::Client& client_;
  std::string name_;
};

// A lower-case random suffix of `n` characters, valid in object names.
std::string randomSuffix(size_t n = 6);

// Fixture: SetUp fails the test when the plane is not running; provides
// env(), client() (admin) and ns() (a fresh namespace for this test).
class PlaneTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  const PlaneEnv& env() const { return env_; }
  kube::Client& client() { return *client_; }
  const std::string& ns() const { return namespace_->name(); }
  // Override to change the namespace prefix.
  virtual std::string namespacePrefix() const { return "it"; }

 private:
  PlaneEnv env_;
  std::unique_ptr<kube::Client> client_;
  std::unique_ptr<TestNamespace> namespace_;
};

}  // namespace mlops::testing
