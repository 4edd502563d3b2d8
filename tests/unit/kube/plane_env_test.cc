// The env-file parser of tests/support (shared by every integration suite).
#include <gtest/gtest.h>

#include "support/plane.h"

namespace mlops::testing {
namespace {

TEST(PlaneEnvTest, ParsesShellAssignments) {
  auto vars = parseEnvFile(
      "# written by hack/cluster-up.sh\n"
      "KUBECONFIG=/repo/.cluster/admin.kubeconfig\n"
      "export KUBECTL='/cache/bin/kubectl'\n"
      "PROMETHEUS_URL=\"http://127.0.0.1:9090\"\n"
      "  METRICS_EXPORTER_URL=http://127.0.0.1:9100 # trailing comment\n"
      "QUOTED=\"a \\\"b\\\" $c\"\n"
      "MIXED=pre'fix 'post\n"
      "EMPTY=\n"
      "not a line\n"
      "=novalue\n");
  EXPECT_EQ(vars["KUBECONFIG"], "/repo/.cluster/admin.kubeconfig");
  EXPECT_EQ(vars["KUBECTL"], "/cache/bin/kubectl");
  EXPECT_EQ(vars["PROMETHEUS_URL"], "http://127.0.0.1:9090");
  EXPECT_EQ(vars["METRICS_EXPORTER_URL"], "http://127.0.0.1:9100");
  EXPECT_EQ(vars["QUOTED"], "a \"b\" $c");
  EXPECT_EQ(vars["MIXED"], "prefix post");
  EXPECT_EQ(vars["EMPTY"], "");
  EXPECT_EQ(vars.count("not a line"), 0u);
  EXPECT_EQ(vars.size(), 7u);
}

TEST(PlaneEnvTest, MissingFileSaysHowToStartThePlane) {
  setenv("MLOPS_CLUSTER_ENV", "/nonexistent/env", 1);
  Result<PlaneEnv> env = loadPlaneEnv();
  unsetenv("MLOPS_CLUSTER_ENV");
  ASSERT_FALSE(env.ok());
  EXPECT_NE(env.error().message.find("control plane not running: run make cluster-up"),
            std::string::npos);
  EXPECT_NE(env.error().message.find("/nonexistent/env"), std::string::npos);
}

TEST(PlaneEnvTest, RunCommandCapturesOutputAndExitCode) {
  CommandResult r = runCommand({"sh", "-c", "cat; echo err >&2; exit 3"}, "hello");
  EXPECT_EQ(r.exitCode, 3);
  EXPECT_EQ(r.out, "hello");
  EXPECT_EQ(r.err, "err\n");
  CommandResult missing = runCommand({"/nonexistent/tool"});
  EXPECT_EQ(missing.exitCode, 127);
  CommandResult slow = runCommand({"sleep", "10"}, "", std::chrono::seconds(1));
  EXPECT_TRUE(slow.timedOut);
}

}  // namespace
}  // namespace mlops::testing
