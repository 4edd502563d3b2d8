#include "main/options.h"

#include <map>

#include <gtest/gtest.h>

namespace mlops {
namespace {

EnvLookup envOf(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(Options, DefaultsMatchTheDesign) {
  auto parsed = parseCommandLine({}, envOf({}));
  ASSERT_TRUE(parsed.ok()) << parsed.error().toString();
  const Options& o = parsed->options;
  EXPECT_EQ(o.metricsBindAddress, ":8080");
  EXPECT_EQ(o.healthProbeBindAddress, ":8081");
  EXPECT_FALSE(o.leaderElect);
  EXPECT_EQ(o.retentionKeep, 10);
  EXPECT_EQ(o.logFormat, "json");
  EXPECT_EQ(o.watchNamespace, "");
}

TEST(Options, FlagsInBothFormsAndBareBooleans) {
  auto parsed = parseCommandLine({"--namespace", "team-a", "--workers=4", "--leader-elect",
                                  "--prometheus-url-allow=http://prom:9090,https://thanos/"},
                                 envOf({}));
  ASSERT_TRUE(parsed.ok()) << parsed.error().toString();
  EXPECT_EQ(parsed->options.watchNamespace, "team-a");
  EXPECT_EQ(parsed->options.workers, 4);
  EXPECT_TRUE(parsed->options.leaderElect);
  EXPECT_EQ(parsed->options.prometheusUrlAllow,
            (std::vector<std::string>{"http://prom:9090", "https://thanos/"}));
}

TEST(Options, EnvironmentFillsInAndCommandLineWins) {
  auto parsed = parseCommandLine(
      {"--log-level=debug"}, envOf({{"MLOPS_LOG_LEVEL", "warn"}, {"MLOPS_RETENTION_KEEP", "3"}}));
  ASSERT_TRUE(parsed.ok()) << parsed.error().toString();
  EXPECT_EQ(parsed->options.logLevel, "debug");
  EXPECT_EQ(parsed->options.retentionKeep, 3);
}

TEST(Options, BadInputNamesTheFlag) {
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  for (const auto& c : std::vector<Case>{
           {{"--workers=0"}, "--workers: must be at least 1"},
           {{"--workers=two"}, "--workers: not an integer"},
           {{"--log-format=xml"}, "--log-format: must be one of json, text"},
           {{"--leader-elect=maybe"}, "--leader-elect: expected true or false"},
           {{"--frobnicate"}, "unknown flag --frobnicate"},
           {{"--namespace"}, "--namespace needs a value"},
           {{"stray"}, "unexpected argument 'stray'"},
       }) {
    auto parsed = parseCommandLine(c.args, envOf({}));
    ASSERT_FALSE(parsed.ok()) << c.args[0];
    EXPECT_NE(parsed.error().message.find(c.expected), std::string::npos) << parsed.error().message;
  }
  auto fromEnv = parseCommandLine({}, envOf({{"MLOPS_WORKERS", "-1"}}));
  ASSERT_FALSE(fromEnv.ok());
  EXPECT_NE(fromEnv.error().message.find("MLOPS_WORKERS"), std::string::npos);
}

// Every flag is checked at startup with one line naming it: nothing is left
// to fail later (an uncaught std::system_error for a million worker threads,
// a 403 for a namespace that cannot exist, a bind error for a bad address).
TEST(Options, EveryFlagIsValidated) {
  struct Case {
    std::string arg;
    std::string expected;
  };
  for (const auto& c : std::vector<Case>{
           {"--workers=1000000", "--workers: must be at most 128, got 1000000"},
           {"--http-threads=0", "--http-threads: must be at least 1"},
           {"--http-threads=65", "--http-threads: must be at most 64, got 65"},
           {"--workers=99999999999999999999", "--workers: '99999999999999999999' is out of range"},
           {"--workers= 3", "--workers: not an integer"},
           {"--workers=", "--workers: not an integer"},
           {"--retention-keep=-1", "--retention-keep: must be at least 0"},
           {"--retention-keep=100000", "--retention-keep: must be at most 10000"},
           {"--pod-creation-timeout-seconds=0",
            "--pod-creation-timeout-seconds: must be at least 1"},
           {"--pod-creation-timeout-seconds=86401", "must be at most 86400"},
           {"--namespace=Team_A", "--namespace: 'Team_A' is not a valid namespace name"},
           {"--namespace=-a", "not a valid namespace name"},
           {"--namespace=" + std::string(64, 'a'), "not a valid namespace name"},
           {"--leader-election-namespace=a/b", "--leader-election-namespace: 'a/b'"},
           {"--leader-election-id=", "--leader-election-id: '' is not a valid Lease name"},
           {"--leader-election-id=Lease!", "not a valid Lease name"},
           {"--metrics-bind-address=8080", "--metrics-bind-address: invalid bind address '8080'"},
           {"--metrics-bind-address=:99999", "bad port"},
           {"--health-probe-bind-address=example.com:80", "--health-probe-bind-address"},
           {"--prometheus-url=prometheus:9090",
            "--prometheus-url: 'prometheus:9090' is not a "
            "usable URL: it must start with http://"},
           {"--prometheus-url=http://", "it has no host"},
           {"--prometheus-url=http://prom:port", "bad port 'port'"},
           {"--prometheus-url=http://user:pw@prom", "credentials in the URL"},
           {"--prometheus-url=http://prom /x", "a space"},
           {"--prometheus-url-allow=http://ok,ftp://no", "--prometheus-url-allow: 'ftp://no'"},
           {"--artifact-root=bucket", "--artifact-root: 'bucket' is not a URI"},
           {"--artifact-root=s3://", "is not a URI"},
           {"--log-level=loud", "--log-level: must be one of"},
       }) {
    auto parsed = parseCommandLine({c.arg}, envOf({}));
    ASSERT_FALSE(parsed.ok()) << c.arg;
    EXPECT_NE(parsed.error().message.find(c.expected), std::string::npos)
        << c.arg << " → " << parsed.error().message;
    EXPECT_EQ(parsed.error().message.find('\n'), std::string::npos);
  }
}

TEST(Options, GoodValuesOfEveryFlagAreAccepted) {
  auto parsed = parseCommandLine(
      {"--namespace=team-a", "--workers=128", "--http-threads=8", "--retention-keep=0",
       "--pod-creation-timeout-seconds=20", "--metrics-bind-address=127.0.0.1:0",
       "--health-probe-bind-address=localhost:9000", "--leader-election-namespace=mlops-system",
       "--leader-election-id=mlops.dev-leader", "--prometheus-url=https://[::1]:9090/prom",
       "--prometheus-url-allow=http://a:1,https://b/", "--artifact-root=gs://bucket/models",
       "--log-level=error", "--log-format=text"},
      envOf({}));
  ASSERT_TRUE(parsed.ok()) << parsed.error().toString();
  // Each value lands in its own field (the flag table maps names to fields).
  const Options& o = parsed->options;
  EXPECT_EQ(o.watchNamespace, "team-a");
  EXPECT_EQ(o.workers, 128);
  EXPECT_EQ(o.httpThreads, 8);
  EXPECT_EQ(o.retentionKeep, 0);
  EXPECT_EQ(o.podCreationTimeoutSeconds, 20);
  EXPECT_EQ(o.metricsBindAddress, "127.0.0.1:0");
  EXPECT_EQ(o.healthProbeBindAddress, "localhost:9000");
  EXPECT_EQ(o.leaderElectionNamespace, "mlops-system");
  EXPECT_EQ(o.leaderElectionId, "mlops.dev-leader");
  EXPECT_EQ(o.prometheusUrl, "https://[::1]:9090/prom");
  EXPECT_EQ(o.prometheusUrlAllow, (std::vector<std::string>{"http://a:1", "https://b/"}));
  EXPECT_EQ(o.artifactRoot, "gs://bucket/models");
  EXPECT_EQ(o.logLevel, "error");
  EXPECT_EQ(o.logFormat, "text");
}

TEST(Options, MetricsAndHealthNeedDifferentPorts) {
  auto same = parseCommandLine(
      {"--metrics-bind-address=127.0.0.1:9000", "--health-probe-bind-address=127.0.0.1:9000"},
      envOf({}));
  ASSERT_FALSE(same.ok());
  EXPECT_NE(same.error().message.find("need different ports"), std::string::npos);
  // Port 0 picks a free port for each; "0" disables.
  EXPECT_TRUE(parseCommandLine(
                  {"--metrics-bind-address=127.0.0.1:0", "--health-probe-bind-address=127.0.0.1:0"},
                  envOf({}))
                  .ok());
}

TEST(Options, HelpAndVersion) {
  auto help = parseCommandLine({"--help"}, envOf({}));
  ASSERT_TRUE(help.ok());
  EXPECT_EQ(help->action, ParsedCommandLine::Action::kHelp);
  EXPECT_NE(usageText().find("--prometheus-url-allow"), std::string::npos);
  EXPECT_NE(usageText().find("MLOPS_HEALTH_PROBE_BIND_ADDRESS"), std::string::npos);
  auto version = parseCommandLine({"--version"}, envOf({}));
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(version->action, ParsedCommandLine::Action::kVersion);
}

}  // namespace
}  // namespace mlops
