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
  auto parsed = parseCommandLine({"--log-level=debug"},
                                 envOf({{"MLOPS_LOG_LEVEL", "warn"}, {"MLOPS_RETENTION_KEEP", "3"}}));
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
