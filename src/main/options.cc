#include "main/options.h"

#include <cctype>
#include <cstdlib>
#include <sstream>

namespace mlops {
namespace {

enum class Kind { kString, kBool, kInt, kList };

struct FlagSpec {
  const char* name;
  Kind kind;
  const char* help;
  std::function<Status(Options&, const std::string&)> set;
};

Result<int> parseInt(const std::string& flag, const std::string& value, int min) {
  try {
    size_t used = 0;
    int v = std::stoi(value, &used);
    if (used != value.size()) throw std::invalid_argument(value);
    if (v < min) {
      return makeError(ErrorCode::kInvalidArgument,
                       "--" + flag + ": must be at least " + std::to_string(min) + ", got " + value);
    }
    return v;
  } catch (const std::exception&) {
    return makeError(ErrorCode::kInvalidArgument, "--" + flag + ": not an integer: '" + value + "'");
  }
}

Result<bool> parseBool(const std::string& flag, const std::string& value) {
  if (value == "true" || value == "1") return true;
  if (value == "false" || value == "0") return false;
  return makeError(ErrorCode::kInvalidArgument,
                   "--" + flag + ": expected true or false, got '" + value + "'");
}

Status oneOf(const std::string& flag, const std::string& value,
             std::initializer_list<const char*> allowed) {
  std::string list;
  for (const char* a : allowed) {
    if (value == a) return okStatus();
    list += list.empty() ? a : std::string(", ") + a;
  }
  return makeError(ErrorCode::kInvalidArgument,
                   "--" + flag + ": must be one of " + list + ", got '" + value + "'");
}

std::vector<std::string> splitList(const std::string& value) {
  std::vector<std::string> out;
  std::stringstream in(value);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

const std::vector<FlagSpec>& flagSpecs() {
  static const std::vector<FlagSpec> specs = {
      {"kubeconfig", Kind::kString,
       "Path to a kubeconfig. Default: $KUBECONFIG, then in-cluster, then ~/.kube/config.",
       [](Options& o, const std::string& v) { o.kubeconfig = v; return okStatus(); }},
      {"namespace", Kind::kString, "Watch only this namespace. Default: all namespaces.",
       [](Options& o, const std::string& v) { o.watchNamespace = v; return okStatus(); }},
      {"metrics-bind-address", Kind::kString, "Address of /metrics. Default :8080.",
       [](Options& o, const std::string& v) { o.metricsBindAddress = v; return okStatus(); }},
      {"health-probe-bind-address", Kind::kString, "Address of /healthz and /readyz. Default :8081.",
       [](Options& o, const std::string& v) { o.healthProbeBindAddress = v; return okStatus(); }},
      {"leader-elect", Kind::kBool, "Elect a leader on a Lease so only one replica acts. Default false.",
       [](Options& o, const std::string& v) -> Status {
         auto b = parseBool("leader-elect", v);
         if (!b) return b.error();
         o.leaderElect = *b;
         return okStatus();
       }},
      {"leader-election-namespace", Kind::kString,
       "Namespace of the leader-election Lease. Default: the operator's namespace.",
       [](Options& o, const std::string& v) { o.leaderElectionNamespace = v; return okStatus(); }},
      {"leader-election-id", Kind::kString, "Name of the leader-election Lease.",
       [](Options& o, const std::string& v) { o.leaderElectionId = v; return okStatus(); }},
      {"prometheus-url", Kind::kString, "Default Prometheus URL for DriftPolicies that name none.",
       [](Options& o, const std::string& v) { o.prometheusUrl = v; return okStatus(); }},
      {"prometheus-url-allow", Kind::kList,
       "Comma-separated URL prefixes a DriftPolicy's Prometheus URL must match. Default: any.",
       [](Options& o, const std::string& v) { o.prometheusUrlAllow = splitList(v); return okStatus(); }},
      {"artifact-root", Kind::kString, "Root of default artifact URIs. Default s3://mlops-artifacts.",
       [](Options& o, const std::string& v) { o.artifactRoot = v; return okStatus(); }},
      {"retention-keep", Kind::kInt, "Superseded/rolled-back versions kept before archiving. Default 10.",
       [](Options& o, const std::string& v) -> Status {
         auto n = parseInt("retention-keep", v, 0);
         if (!n) return n.error();
         o.retentionKeep = *n;
         return okStatus();
       }},
      {"workers", Kind::kInt, "Concurrent reconciles per controller. Default 2.",
       [](Options& o, const std::string& v) -> Status {
         auto n = parseInt("workers", v, 1);
         if (!n) return n.error();
         o.workers = *n;
         return okStatus();
       }},
      {"log-format", Kind::kString, "json or text. Default json.",
       [](Options& o, const std::string& v) -> Status {
         auto s = oneOf("log-format", v, {"json", "text"});
         if (!s) return s;
         o.logFormat = v;
         return okStatus();
       }},
      {"log-level", Kind::kString, "debug, info, warn or error. Default info.",
       [](Options& o, const std::string& v) -> Status {
         auto s = oneOf("log-level", v, {"debug", "info", "warn", "error"});
         if (!s) return s;
         o.logLevel = v;
         return okStatus();
       }},
  };
  return specs;
}

std::string envName(const std::string& flag) {
  std::string out = "MLOPS_";
  for (char c : flag) out += c == '-' ? '_' : static_cast<char>(std::toupper(c));
  return out;
}

const FlagSpec* findFlag(const std::string& name) {
  for (const auto& spec : flagSpecs()) {
    if (name == spec.name) return &spec;
  }
  return nullptr;
}

}  // namespace

Result<ParsedCommandLine> parseCommandLine(const std::vector<std::string>& args,
                                           const EnvLookup& env) {
  ParsedCommandLine parsed;
  // Environment first, so that flags given on the command line win.
  for (const auto& spec : flagSpecs()) {
    if (auto value = env(envName(spec.name))) {
      auto s = spec.set(parsed.options, *value);
      if (!s) {
        Error e = s.error();
        e.message = "environment variable " + envName(spec.name) + ": " + e.message;
        return e;
      }
    }
  }
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") {
      parsed.action = ParsedCommandLine::Action::kHelp;
      return parsed;
    }
    if (arg == "--version") {
      parsed.action = ParsedCommandLine::Action::kVersion;
      return parsed;
    }
    if (arg.rfind("--", 0) != 0) {
      return makeError(ErrorCode::kInvalidArgument, "unexpected argument '" + arg + "' (see --help)");
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const FlagSpec* spec = findFlag(name);
    if (spec == nullptr) {
      return makeError(ErrorCode::kInvalidArgument, "unknown flag --" + name + " (see --help)");
    }
    if (!value) {
      if (spec->kind == Kind::kBool) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return makeError(ErrorCode::kInvalidArgument, "--" + name + " needs a value");
      }
    }
    auto s = spec->set(parsed.options, *value);
    if (!s) return s.error();
  }
  return parsed;
}

std::string usageText() {
  std::ostringstream out;
  out << "mlops-operator: trains, versions, serves, judges and retrains ML models on Kubernetes.\n\n"
      << "Usage: mlops-operator [flags]\n\nFlags (each also an environment variable):\n";
  for (const auto& spec : flagSpecs()) {
    std::string flag = std::string("--") + spec.name;
    if (spec.kind != Kind::kBool) flag += "=VALUE";
    out << "  " << flag << "\n      " << spec.help << "  [$" << envName(spec.name) << "]\n";
  }
  out << "  --help\n      Show this text.\n  --version\n      Print the version.\n";
  return out.str();
}

std::optional<std::string> processEnv(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

}  // namespace mlops
