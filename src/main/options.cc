#include "main/options.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <sstream>

#include "server/bind_address.h"

namespace mlops {
namespace {

enum class Kind { kString, kBool, kInt, kList };

// Checks a flag's value and stores it in the options; `flag` is the flag's
// name, for the error message.
using Setter = std::function<Status(Options&, const std::string& flag, const std::string& value)>;

struct FlagSpec {
  const char* name;
  Kind kind;
  const char* help;
  Setter set;
};

Error invalidFlag(const std::string& flag, const std::string& why) {
  return makeError(ErrorCode::kInvalidArgument, "--" + flag + ": " + why);
}

// An integer in [min, max]; anything else (text, overflow) names the range.
Result<int> parseInt(const std::string& flag, const std::string& value, int min, int max) {
  const std::string range =
      " (allowed: " + std::to_string(min) + " to " + std::to_string(max) + ")";
  long long v = 0;
  try {
    size_t used = 0;
    v = std::stoll(value, &used);
    if (used != value.size() || value.empty() ||
        std::isspace(static_cast<unsigned char>(value[0]))) {
      throw std::invalid_argument(value);
    }
  } catch (const std::out_of_range&) {
    return invalidFlag(flag, "'" + value + "' is out of range" + range);
  } catch (const std::exception&) {
    return invalidFlag(flag, "not an integer: '" + value + "'" + range);
  }
  if (v < min) {
    return invalidFlag(flag, "must be at least " + std::to_string(min) + ", got " + value);
  }
  if (v > max) {
    return invalidFlag(flag, "must be at most " + std::to_string(max) + ", got " + value);
  }
  return static_cast<int>(v);
}

bool isLowerAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// RFC 1123 label: what Kubernetes accepts as a namespace name.
bool isDnsLabel(const std::string& s) {
  if (s.empty() || s.size() > 63 || !isLowerAlnum(s.front()) || !isLowerAlnum(s.back())) {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [](char c) { return isLowerAlnum(c) || c == '-'; });
}

// RFC 1123 subdomain: what Kubernetes accepts as most object names (a Lease).
bool isDnsSubdomain(const std::string& s) {
  if (s.empty() || s.size() > 253) {
    return false;
  }
  std::stringstream in(s);
  std::string label;
  size_t labels = 0;
  while (std::getline(in, label, '.')) {
    if (!isDnsLabel(label)) {
      return false;
    }
    ++labels;
  }
  return labels > 0 && s.back() != '.';
}

Status namespaceName(const std::string& flag, const std::string& value) {
  if (value.empty() || isDnsLabel(value)) {
    return okStatus();
  }
  return invalidFlag(flag, "'" + value +
                               "' is not a valid namespace name (lower-case letters, digits and "
                               "'-', starting and ending with a letter or digit, at most 63)");
}

// An http(s) URL with a host, as the Prometheus client will need it.
Status httpUrl(const std::string& flag, const std::string& value) {
  const auto fail = [&](const std::string& why) {
    return invalidFlag(flag, "'" + value + "' is not a usable URL: " + why);
  };
  std::string rest;
  if (value.rfind("http://", 0) == 0) {
    rest = value.substr(7);
  } else if (value.rfind("https://", 0) == 0) {
    rest = value.substr(8);
  } else {
    return fail("it must start with http:// or https://");
  }
  for (unsigned char c : value) {
    if (c <= 0x20 || c >= 0x7F) {
      return fail("it contains a space or a control or non-ASCII byte");
    }
  }
  const std::string authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string::npos) {
    return fail("credentials in the URL are not supported");
  }
  std::string host = authority;
  std::string port;
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    if (close == std::string::npos) {
      return fail("unterminated IPv6 address");
    }
    port = host.substr(close + 1);
    host = host.substr(1, close - 1);
    if (host.empty()) {
      return fail("empty IPv6 address");
    }
    if (!port.empty() && port.front() != ':') {
      return fail("junk after the IPv6 address");
    }
    if (!port.empty()) {
      port.erase(0, 1);
    }
  } else if (const auto colon = host.rfind(':'); colon != std::string::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
    if (port.empty()) {
      return fail("empty port");
    }
  }
  if (host.empty()) {
    return fail("it has no host");
  }
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), ::isdigit) ||
        std::stoi(port) < 1 || std::stoi(port) > 65535) {
      return fail("bad port '" + port + "'");
    }
  }
  return okStatus();
}

Status bindAddress(const std::string& flag, const std::string& value) {
  auto parsed = server::parseBindAddress(value);
  if (!parsed.ok()) {
    return invalidFlag(flag, parsed.error().message);
  }
  return okStatus();
}

Result<bool> parseBool(const std::string& flag, const std::string& value) {
  if (value == "true" || value == "1") {
    return true;
  }
  if (value == "false" || value == "0") {
    return false;
  }
  return makeError(ErrorCode::kInvalidArgument,
                   "--" + flag + ": expected true or false, got '" + value + "'");
}

Status oneOf(const std::string& flag, const std::string& value,
             std::initializer_list<const char*> allowed) {
  std::string list;
  for (const char* a : allowed) {
    if (value == a) {
      return okStatus();
    }
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
    if (!item.empty()) {
      out.push_back(item);
    }
  }
  return out;
}

// A flag whose value must pass `check` (called with the flag's name and
// the value) before it is stored in `field`.
using Check = Status (*)(const std::string& flag, const std::string& value);
Setter checkedString(std::string Options::*field, Check check) {
  return [field, check](Options& o, const std::string& flag, const std::string& v) -> Status {
    if (auto s = check(flag, v); !s) {
      return s;
    }
    o.*field = v;
    return okStatus();
  };
}

// A flag whose value is an integer in [min, max], stored in `field`.
Setter intFlag(int Options::*field, int min, int max) {
  return [field, min, max](Options& o, const std::string& flag, const std::string& v) -> Status {
    auto n = parseInt(flag, v, min, max);
    if (!n) {
      return n.error();
    }
    o.*field = *n;
    return okStatus();
  };
}

Status anyValue(const std::string& /*flag*/, const std::string& /*value*/) {
  return okStatus();
}

Status optionalHttpUrl(const std::string& flag, const std::string& value) {
  return value.empty() ? okStatus() : httpUrl(flag, value);
}

Status leaseName(const std::string& flag, const std::string& value) {
  if (isDnsSubdomain(value)) {
    return okStatus();
  }
  return invalidFlag(flag, "'" + value +
                               "' is not a valid Lease name (lower-case letters, digits, "
                               "'-' and '.', at most 253)");
}

Status uriRoot(const std::string& flag, const std::string& value) {
  const auto scheme = value.find("://");
  const bool spaces = std::any_of(value.begin(), value.end(),
                                  [](unsigned char c) { return c <= 0x20 || c == 0x7F; });
  if (scheme == std::string::npos || scheme == 0 || scheme + 3 >= value.size() || spaces) {
    return invalidFlag(flag, "'" + value +
                                 "' is not a URI like s3://bucket/prefix "
                                 "(a scheme, ://, and a location, no spaces)");
  }
  return okStatus();
}

Status logFormat(const std::string& flag, const std::string& value) {
  return oneOf(flag, value, {"json", "text"});
}

Status logLevel(const std::string& flag, const std::string& value) {
  return oneOf(flag, value, {"debug", "info", "warn", "error"});
}

const std::vector<FlagSpec>& flagSpecs() {
  static const std::vector<FlagSpec> specs = {
      {"kubeconfig", Kind::kString,
       "Path to a kubeconfig. Default: $KUBECONFIG, then in-cluster, then ~/.kube/config.",
       checkedString(&Options::kubeconfig, anyValue)},
      {"namespace", Kind::kString, "Watch only this namespace. Default: all namespaces.",
       checkedString(&Options::watchNamespace, namespaceName)},
      {"metrics-bind-address", Kind::kString, "Address of /metrics. Default :8080.",
       checkedString(&Options::metricsBindAddress, bindAddress)},
      {"health-probe-bind-address", Kind::kString,
       "Address of /healthz and /readyz. Default :8081.",
       checkedString(&Options::healthProbeBindAddress, bindAddress)},
      {"leader-elect", Kind::kBool,
       "Elect a leader on a Lease so only one replica acts. Default false.",
       [](Options& o, const std::string& flag, const std::string& v) -> Status {
         auto b = parseBool(flag, v);
         if (!b) {
           return b.error();
         }
         o.leaderElect = *b;
         return okStatus();
       }},
      {"leader-election-namespace", Kind::kString,
       "Namespace of the leader-election Lease. Default: the operator's namespace.",
       checkedString(&Options::leaderElectionNamespace, namespaceName)},
      {"leader-election-id", Kind::kString, "Name of the leader-election Lease.",
       checkedString(&Options::leaderElectionId, leaseName)},
      {"prometheus-url", Kind::kString, "Default Prometheus URL for DriftPolicies that name none.",
       checkedString(&Options::prometheusUrl, optionalHttpUrl)},
      {"prometheus-url-allow", Kind::kList,
       "Comma-separated URL prefixes a DriftPolicy's Prometheus URL must match. Default: any.",
       [](Options& o, const std::string& flag, const std::string& v) -> Status {
         std::vector<std::string> prefixes = splitList(v);
         for (const std::string& p : prefixes) {
           if (auto s = httpUrl(flag, p); !s) {
             return s;
           }
         }
         o.prometheusUrlAllow = std::move(prefixes);
         return okStatus();
       }},
      {"artifact-root", Kind::kString,
       "Root of default artifact URIs. Default s3://mlops-artifacts.",
       checkedString(&Options::artifactRoot, uriRoot)},
      {"retention-keep", Kind::kInt,
       "Superseded/rolled-back versions kept before archiving. Default 10.",
       intFlag(&Options::retentionKeep, 0, kMaxRetentionKeep)},
      {"pod-creation-timeout-seconds", Kind::kInt,
       "How long a training Job may fail to create its pod (FailedCreate: a missing "
       "ServiceAccount, a quota) before the run fails. Default 300.",
       intFlag(&Options::podCreationTimeoutSeconds, 1, kMaxPodCreationTimeoutSeconds)},
      {"workers", Kind::kInt, "Concurrent reconciles per controller. Default 2.",
       intFlag(&Options::workers, 1, kMaxWorkers)},
      {"http-threads", Kind::kInt,
       "Threads that run the HTTP clients' network I/O (API server and Prometheus); requests "
       "wait on the calling worker, so a few are enough. Default 2.",
       intFlag(&Options::httpThreads, 1, kMaxHttpThreads)},
      {"log-format", Kind::kString, "json or text. Default json.",
       checkedString(&Options::logFormat, logFormat)},
      {"log-level", Kind::kString, "debug, info, warn or error. Default info.",
       checkedString(&Options::logLevel, logLevel)},
  };
  return specs;
}

std::string envName(const std::string& flag) {
  std::string out = "MLOPS_";
  for (char c : flag) {
    out += c == '-' ? '_' : static_cast<char>(std::toupper(c));
  }
  return out;
}

const FlagSpec* findFlag(const std::string& name) {
  for (const auto& spec : flagSpecs()) {
    if (name == spec.name) {
      return &spec;
    }
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
      auto s = spec.set(parsed.options, spec.name, *value);
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
      return makeError(ErrorCode::kInvalidArgument,
                       "unexpected argument '" + arg + "' (see --help)");
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
    auto s = spec->set(parsed.options, spec->name, *value);
    if (!s) {
      return s.error();
    }
  }
  // Checks across flags.
  const Options& o = parsed.options;
  if (o.metricsBindAddress != "0" && o.metricsBindAddress == o.healthProbeBindAddress &&
      !o.metricsBindAddress.ends_with(":0")) {
    return makeError(ErrorCode::kInvalidArgument,
                     "--metrics-bind-address and --health-probe-bind-address are both " +
                         o.metricsBindAddress + ": they need different ports");
  }
  return parsed;
}

std::string usageText() {
  std::ostringstream out;
  out << "mlops-operator: trains, versions, serves, judges and retrains ML models on "
         "Kubernetes.\n\n"
      << "Usage: mlops-operator [flags]\n\nFlags (each also an environment variable):\n";
  for (const auto& spec : flagSpecs()) {
    std::string flag = std::string("--") + spec.name;
    if (spec.kind != Kind::kBool) {
      flag += "=VALUE";
    }
    out << "  " << flag << "\n      " << spec.help << "  [$" << envName(spec.name) << "]\n";
  }
  out << "  --help\n      Show this text.\n  --version\n      Print the version.\n";
  return out.str();
}

std::optional<std::string> processEnv(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) {
    return std::nullopt;
  }
  return std::string(v);
}

}  // namespace mlops
