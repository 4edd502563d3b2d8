// The operator's command-line flags. Every flag can also come from an
// environment variable: `--metrics-bind-address` ↔ `MLOPS_METRICS_BIND_ADDRESS`
// (a flag on the command line wins). Parsing is pure: it takes argv and an
// environment lookup and returns Options or an Error naming the bad flag.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace mlops {

// Upper bounds of the numeric flags: far above any sensible setting, low
// enough that a typo cannot exhaust threads or memory.
inline constexpr int kMaxWorkers = 128;
inline constexpr int kMaxHttpThreads = 64;
inline constexpr int kMaxRetentionKeep = 10000;
// A day: a Job that cannot create its pod for longer is not waiting on a quota.
inline constexpr int kMaxPodCreationTimeoutSeconds = 86400;

struct Options {
  std::string kubeconfig;      // "" → KUBECONFIG, in-cluster, ~/.kube/config
  std::string watchNamespace;  // "" → all namespaces
  std::string metricsBindAddress = ":8080";
  std::string healthProbeBindAddress = ":8081";
  bool leaderElect = false;
  std::string leaderElectionNamespace;  // "" → the operator's own namespace
  std::string leaderElectionId = "mlops-operator-leader";
  std::string prometheusUrl;
  std::vector<std::string> prometheusUrlAllow;  // URL prefixes; empty → any
  std::string artifactRoot = "s3://mlops-artifacts";
  int retentionKeep = 10;
  int podCreationTimeoutSeconds = 300;  // a Job without a pod fails the run after this
  int workers = 2;
  int httpThreads = 2;             // the HTTP client's I/O threads (kube and Prometheus)
  std::string logFormat = "json";  // json | text
  std::string logLevel = "info";   // debug | info | warn | error
};

// What parsing asked for: run with options, or print help/version and exit 0.
struct ParsedCommandLine {
  enum class Action { kRun, kHelp, kVersion };
  Action action = Action::kRun;
  Options options;
};

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// Parses `--flag=value`, `--flag value`, and `--bool-flag[=true|false]`.
Result<ParsedCommandLine> parseCommandLine(const std::vector<std::string>& args,
                                           const EnvLookup& env);

// The text of --help: every flag, its environment variable and default.
std::string usageText();

// The environment of this process, for parseCommandLine.
std::optional<std::string> processEnv(const std::string& name);

}  // namespace mlops
