#include "kube/config.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "kube/pem.h"

#ifndef MLOPS_VERSION
#define MLOPS_VERSION "0.0.0-dev"
#endif

namespace mlops::kube {
namespace {

namespace fs = std::filesystem;

Error invalid(std::string message) {
  return makeError(ErrorCode::kInvalidArgument, std::move(message));
}

Result<std::string> readFile(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    return invalid(path + ": is a directory, not a file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    return invalid(path + ": cannot read: " + std::strerror(err != 0 ? err : ENOENT));
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) {
    return invalid(path + ": read error");
  }
  return buf.str();
}

bool fileExists(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) {
    return "";
  }
  size_t e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

// Standard base64 (RFC 4648), whitespace ignored, padding optional. nullopt
// on any other character or an impossible length.
std::optional<std::string> decodeBase64(const std::string& in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') {
      return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
      return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
      return c - '0' + 52;
    }
    if (c == '+') {
      return 62;
    }
    if (c == '/') {
      return 63;
    }
    return -1;
  };
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  int symbols = 0;
  int padding = 0;
  for (char c : in) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
      continue;
    }
    if (c == '=') {
      ++padding;
      continue;
    }
    if (padding > 0) {
      return std::nullopt;  // data after padding
    }
    int v = value(c);
    if (v < 0) {
      return std::nullopt;
    }
    ++symbols;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  if (symbols % 4 == 1 || padding > 2) {
    return std::nullopt;
  }
  if (padding > 0 && (symbols + padding) % 4 != 0) {
    return std::nullopt;
  }
  return out;
}

std::string quote(const std::string& s) {
  return "\"" + s + "\"";
}

// ---------------------------------------------------------------------------
// The parsed, merged kubeconfig.

struct ClusterEntry {
  std::string file;  // where it was defined
  std::string server;
  std::string caFile;  // resolved against `file`'s directory
  std::string caData;  // base64, decoded on use
  bool insecure = false;
  std::string tlsServerName;
};

struct UserEntry {
  std::string file;
  std::string certFile, certData;
  std::string keyFile, keyData;
  std::string token, tokenFile;
  bool hasExec = false;
  bool hasAuthProvider = false;
  bool hasBasicAuth = false;
};

struct ContextEntry {
  std::string file;
  std::string cluster, user, ns;
};

struct Kubeconfig {
  std::vector<std::string> files;  // that were read, in order
  std::map<std::string, ClusterEntry> clusters;
  std::map<std::string, UserEntry> users;
  std::map<std::string, ContextEntry> contexts;
  std::string currentContext;
  std::string currentContextFile;

  std::string fileList() const {
    std::string out;
    for (const auto& f : files) {
      out += (out.empty() ? "" : ":") + f;
    }
    return out;
  }
};

std::string resolvePath(const std::string& path, const std::string& relativeTo) {
  if (path.empty() || fs::path(path).is_absolute()) {
    return path;
  }
  return (fs::path(relativeTo).parent_path() / path).lexically_normal().string();
}

// Reads the string at map[key]; "" when absent or null. A non-scalar is an
// error naming `where`.
Result<std::string> scalarField(const YAML::Node& map, const char* key, const std::string& where) {
  YAML::Node n = map[key];
  if (!n.IsDefined() || n.IsNull()) {
    return std::string();
  }
  if (!n.IsScalar()) {
    return invalid(where + ": field " + quote(key) + " must be a string");
  }
  return n.Scalar();
}

Result<bool> boolField(const YAML::Node& map, const char* key, const std::string& where) {
  YAML::Node n = map[key];
  if (!n.IsDefined() || n.IsNull()) {
    return false;
  }
  bool value = false;
  if (!n.IsScalar() || !YAML::convert<bool>::decode(n, value)) {
    return invalid(where + ": field " + quote(key) + " must be true or false");
  }
  return value;
}

// Calls `fn(name, body, where)` for each {name: ..., <bodyKey>: {...}} in the
// sequence at root[listKey].
template <typename Fn>
Status forEachNamed(const YAML::Node& root, const char* listKey, const char* bodyKey,
                    const std::string& file, Fn fn) {
  YAML::Node list = root[listKey];
  if (!list.IsDefined() || list.IsNull()) {
    return okStatus();
  }
  const std::string prefix = "kubeconfig " + file;
  if (!list.IsSequence()) {
    return invalid(prefix + ": " + quote(listKey) + " must be a list");
  }
  size_t index = 0;
  for (const YAML::Node& entry : list) {
    const std::string at = prefix + ": " + listKey + "[" + std::to_string(index++) + "]";
    if (!entry.IsMap()) {
      return invalid(at + " must be a map with \"name\" and " + quote(bodyKey));
    }
    Result<std::string> name = scalarField(entry, "name", at);
    if (!name.ok()) {
      return name.error();
    }
    if (name->empty()) {
      return invalid(at + " has no name");
    }
    YAML::Node body = entry[bodyKey];
    if (body.IsDefined() && !body.IsNull() && !body.IsMap()) {
      return invalid(at + " (" + quote(*name) + "): " + quote(bodyKey) + " must be a map");
    }
    const std::string where = prefix + ": " + std::string(bodyKey) + " " + quote(*name);
    Status st = fn(*name, body.IsMap() ? body : YAML::Node(YAML::NodeType::Map), where);
    if (!st.ok()) {
      return st;
    }
  }
  return okStatus();
}

Result<ClusterEntry> parseCluster(const YAML::Node& body, const std::string& file,
                                  const std::string& where) {
  ClusterEntry c;
  c.file = file;
  Result<std::string> server = scalarField(body, "server", where);
  if (!server.ok()) {
    return server.error();
  }
  c.server = *server;
  Result<std::string> caFile = scalarField(body, "certificate-authority", where);
  if (!caFile.ok()) {
    return caFile.error();
  }
  c.caFile = resolvePath(*caFile, file);
  Result<std::string> caData = scalarField(body, "certificate-authority-data", where);
  if (!caData.ok()) {
    return caData.error();
  }
  c.caData = *caData;
  Result<bool> insecure = boolField(body, "insecure-skip-tls-verify", where);
  if (!insecure.ok()) {
    return insecure.error();
  }
  c.insecure = *insecure;
  Result<std::string> serverName = scalarField(body, "tls-server-name", where);
  if (!serverName.ok()) {
    return serverName.error();
  }
  c.tlsServerName = *serverName;
  return c;
}

Result<UserEntry> parseUser(const YAML::Node& body, const std::string& file,
                            const std::string& where) {
  UserEntry u;
  u.file = file;
  struct Field {
    const char* key;
    std::string* out;
    bool isPath;
  };
  const Field fields[] = {
      {"client-certificate", &u.certFile, true},
      {"client-certificate-data", &u.certData, false},
      {"client-key", &u.keyFile, true},
      {"client-key-data", &u.keyData, false},
      {"token", &u.token, false},
      {"tokenFile", &u.tokenFile, true},
  };
  for (const Field& f : fields) {
    Result<std::string> v = scalarField(body, f.key, where);
    if (!v.ok()) {
      return v.error();
    }
    *f.out = f.isPath ? resolvePath(*v, file) : *v;
  }
  u.hasExec = body["exec"].IsDefined() && !body["exec"].IsNull();
  u.hasAuthProvider = body["auth-provider"].IsDefined() && !body["auth-provider"].IsNull();
  u.hasBasicAuth = body["username"].IsDefined() || body["password"].IsDefined();
  return u;
}

Result<ContextEntry> parseContext(const YAML::Node& body, const std::string& file,
                                  const std::string& where) {
  ContextEntry c;
  c.file = file;
  for (auto [key, out] : {std::pair{"cluster", &c.cluster}, std::pair{"user", &c.user},
                          std::pair{"namespace", &c.ns}}) {
    Result<std::string> v = scalarField(body, key, where);
    if (!v.ok()) {
      return v.error();
    }
    *out = *v;
  }
  return c;
}

// Parses one file's text and merges it into `into`: names already present
// are kept (the first file wins), as is an already-set current-context.
Status mergeFile(const std::string& file, const std::string& text, Kubeconfig& into) {
  const std::string prefix = "kubeconfig " + file;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    return invalid(prefix + ": YAML syntax error at line " + std::to_string(e.mark.line + 1) +
                   ", column " + std::to_string(e.mark.column + 1) + ": " + e.msg);
  } catch (const std::exception& e) {
    return invalid(prefix + ": cannot parse: " + e.what());
  }
  into.files.push_back(file);
  if (!root.IsDefined() || root.IsNull()) {
    return okStatus();  // an empty file
  }
  if (!root.IsMap()) {
    return invalid(prefix + ": not a kubeconfig (the document is not a map)");
  }

  try {
    Status st = forEachNamed(
        root, "clusters", "cluster", file,
        [&](const std::string& name, const YAML::Node& body, const std::string& where) -> Status {
          Result<ClusterEntry> c = parseCluster(body, file, where);
          if (!c.ok()) {
            return c.error();
          }
          into.clusters.emplace(name, std::move(*c));
          return okStatus();
        });
    if (!st.ok()) {
      return st;
    }
    st = forEachNamed(
        root, "users", "user", file,
        [&](const std::string& name, const YAML::Node& body, const std::string& where) -> Status {
          Result<UserEntry> u = parseUser(body, file, where);
          if (!u.ok()) {
            return u.error();
          }
          into.users.emplace(name, std::move(*u));
          return okStatus();
        });
    if (!st.ok()) {
      return st;
    }
    st = forEachNamed(
        root, "contexts", "context", file,
        [&](const std::string& name, const YAML::Node& body, const std::string& where) -> Status {
          Result<ContextEntry> c = parseContext(body, file, where);
          if (!c.ok()) {
            return c.error();
          }
          into.contexts.emplace(name, std::move(*c));
          return okStatus();
        });
    if (!st.ok()) {
      return st;
    }
    Result<std::string> current = scalarField(root, "current-context", prefix);
    if (!current.ok()) {
      return current.error();
    }
    if (into.currentContext.empty() && !current->empty()) {
      into.currentContext = *current;
      into.currentContextFile = file;
    }
  } catch (const YAML::Exception& e) {
    return invalid(prefix + ": unexpected structure: " + e.what());
  }
  return okStatus();
}

// PEM from a `*-data` field (base64) or, failing that, a file.
Result<std::string> pemFrom(const std::string& data, const std::string& file,
                            const std::string& dataKey, const std::string& fileKey,
                            const std::string& where) {
  if (!data.empty()) {
    std::optional<std::string> decoded = decodeBase64(data);
    if (!decoded) {
      return invalid(where + ": " + dataKey + " is not valid base64");
    }
    return std::move(*decoded);
  }
  if (file.empty()) {
    return std::string();
  }
  Result<std::string> content = readFile(file);
  if (!content.ok()) {
    return invalid(where + ": " + fileKey + " " + content.error().message);
  }
  return content;
}

Result<ClientConfig> resolve(const Kubeconfig& kc, const std::string& contextOverride,
                             const Clock& clock) {
  const std::string all = "kubeconfig " + kc.fileList();
  const std::string contextName = contextOverride.empty() ? kc.currentContext : contextOverride;
  if (contextName.empty()) {
    return invalid(all + ": no current-context is set and no context was given");
  }
  auto ctxIt = kc.contexts.find(contextName);
  if (ctxIt == kc.contexts.end()) {
    const std::string from = contextOverride.empty()
                                 ? " (current-context of kubeconfig " + kc.currentContextFile + ")"
                                 : "";
    return invalid(all + ": context " + quote(contextName) + from + " is not defined");
  }
  const ContextEntry& ctx = ctxIt->second;
  const std::string ctxWhere = "kubeconfig " + ctx.file + ": context " + quote(contextName);

  if (ctx.cluster.empty()) {
    return invalid(ctxWhere + " names no cluster");
  }
  auto clusterIt = kc.clusters.find(ctx.cluster);
  if (clusterIt == kc.clusters.end()) {
    return invalid(ctxWhere + " refers to cluster " + quote(ctx.cluster) +
                   ", which is not defined");
  }
  const ClusterEntry& cluster = clusterIt->second;
  const std::string clusterWhere = "kubeconfig " + cluster.file + ": cluster " + quote(ctx.cluster);

  const UserEntry* user = nullptr;
  std::string userWhere;
  if (!ctx.user.empty()) {
    auto userIt = kc.users.find(ctx.user);
    if (userIt == kc.users.end()) {
      return invalid(ctxWhere + " refers to user " + quote(ctx.user) + ", which is not defined");
    }
    user = &userIt->second;
    userWhere = "kubeconfig " + user->file + ": user " + quote(ctx.user);
  }

  ClientConfig cfg;
  cfg.source = "kubeconfig " + kc.fileList() + " (context " + contextName + ")";
  cfg.defaultNamespace = ctx.ns.empty() ? "default" : ctx.ns;

  if (cluster.server.empty()) {
    return invalid(clusterWhere + " has no server");
  }
  if (cluster.server.rfind("https://", 0) != 0 && cluster.server.rfind("http://", 0) != 0) {
    return invalid(clusterWhere + ": server " + quote(cluster.server) +
                   " must start with https:// (or http://)");
  }
  cfg.server = cluster.server;
  while (cfg.server.size() > 8 && cfg.server.back() == '/') {
    cfg.server.pop_back();
  }

  Result<std::string> ca = pemFrom(cluster.caData, cluster.caFile, "certificate-authority-data",
                                   "certificate-authority", clusterWhere);
  if (!ca.ok()) {
    return ca.error();
  }
  if (!ca->empty()) {
    if (cluster.insecure) {
      // kubectl refuses this combination too: it is almost always a mistake.
      return invalid(clusterWhere +
                     ": certificate-authority and insecure-skip-tls-verify are both set; "
                     "remove one");
    }
    const std::string what = clusterWhere + ": " +
                             (cluster.caData.empty() ? "certificate-authority " + cluster.caFile
                                                     : std::string("certificate-authority-data"));
    Result<int> count = pem::countCertificates(*ca, what);
    if (!count.ok()) {
      return count.error();
    }
    cfg.caPem = std::move(*ca);
  }
  cfg.insecureSkipTlsVerify = cluster.insecure;
  cfg.tlsServerName = cluster.tlsServerName;

  if (user != nullptr) {
    Result<std::string> cert = pemFrom(user->certData, user->certFile, "client-certificate-data",
                                       "client-certificate", userWhere);
    if (!cert.ok()) {
      return cert.error();
    }
    Result<std::string> key =
        pemFrom(user->keyData, user->keyFile, "client-key-data", "client-key", userWhere);
    if (!key.ok()) {
      return key.error();
    }
    if (cert->empty() != key->empty()) {
      return invalid(userWhere + ": " +
                     (cert->empty() ? "client-key is set without client-certificate"
                                    : "client-certificate is set without client-key"));
    }
    if (!cert->empty()) {
      const std::string certWhat =
          userWhere + ": " +
          (user->certData.empty() ? "client-certificate " + user->certFile
                                  : std::string("client-certificate-data"));
      const std::string keyWhat =
          userWhere + ": " +
          (user->keyData.empty() ? "client-key " + user->keyFile : std::string("client-key-data"));
      Result<int> count = pem::countCertificates(*cert, certWhat);
      if (!count.ok()) {
        return count.error();
      }
      Status keyOk = pem::checkPrivateKey(*key, keyWhat);
      if (!keyOk.ok()) {
        return keyOk.error();
      }
      Status match = pem::checkKeyMatchesCertificate(*cert, *key, userWhere);
      if (!match.ok()) {
        return match.error();
      }
      cfg.clientCertPem = std::move(*cert);
      cfg.clientKeyPem = std::move(*key);
    }

    if (!user->tokenFile.empty()) {
      // Read now so a wrong path fails at startup, as with kubectl; the
      // source re-reads it later as it rotates.
      Result<std::string> first = readTokenFile(user->tokenFile);
      if (!first.ok()) {
        return invalid(userWhere + ": tokenFile " + first.error().message);
      }
      cfg.token = std::make_shared<FileTokenSource>(user->tokenFile, clock,
                                                    std::chrono::seconds(60), user->token);
    } else if (!user->token.empty()) {
      cfg.token = staticTokenSource(user->token);
    }

    const bool hasCredentials = !cfg.clientCertPem.empty() || cfg.token != nullptr;
    if (!hasCredentials && (user->hasExec || user->hasAuthProvider)) {
      return invalid(userWhere + ": " +
                     (user->hasExec ? "exec credential plugins" : "auth-provider plugins") +
                     " are not supported; use a token, tokenFile or client certificate");
    }
    if (!hasCredentials && user->hasBasicAuth) {
      return invalid(userWhere +
                     ": username/password authentication is not supported; use a token, "
                     "tokenFile or client certificate");
    }
  }
  return cfg;
}

Result<ClientConfig> loadMerged(const std::vector<std::string>& paths, bool skipMissing,
                                const std::string& context, const Clock& clock) {
  Kubeconfig kc;
  std::vector<std::string> missing;
  for (const std::string& path : paths) {
    if (skipMissing && !fileExists(path)) {
      missing.push_back(path);
      continue;
    }
    Result<std::string> text = readFile(path);
    if (!text.ok()) {
      return invalid("kubeconfig " + text.error().message);
    }
    Status st = mergeFile(path, *text, kc);
    if (!st.ok()) {
      return st.error();
    }
  }
  if (kc.files.empty()) {
    std::string list;
    for (const auto& m : missing) {
      list += (list.empty() ? "" : ", ") + m;
    }
    return invalid("kubeconfig: none of the files exists: " +
                   (list.empty() ? "(none given)" : list));
  }
  return resolve(kc, context, clock);
}

class StaticTokenSource final : public TokenSource {
 public:
  explicit StaticTokenSource(std::string token) : token_(std::move(token)) {}
  Result<std::string> token() override { return token_; }

 private:
  const std::string token_;
};

std::string getenvOr(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

std::shared_ptr<TokenSource> staticTokenSource(std::string token) {
  return std::make_shared<StaticTokenSource>(std::move(token));
}

Result<std::string> readTokenFile(const std::string& path) {
  Result<std::string> content = readFile(path);
  if (!content.ok()) {
    return content.error();
  }
  std::string token = trim(*content);
  if (token.empty()) {
    return invalid(path + ": the token file is empty");
  }
  return token;
}

FileTokenSource::FileTokenSource(std::string path, const Clock& clock, std::chrono::seconds maxAge,
                                 std::string fallback)
    : path_(std::move(path)), clock_(clock), maxAge_(maxAge), fallback_(std::move(fallback)) {}

Result<std::string> FileTokenSource::token() {
  std::lock_guard<std::mutex> lock(mu_);
  const Clock::TimePoint now = clock_.now();
  if (cached_ && now - readAt_ < maxAge_) {
    return *cached_;
  }
  Result<std::string> fresh = readTokenFile(path_);
  if (fresh.ok()) {
    cached_ = std::move(*fresh);
    readAt_ = now;
    return *cached_;
  }
  if (cached_) {
    return *cached_;  // keep the last good one; retry next call
  }
  if (!fallback_.empty()) {
    return fallback_;
  }
  Error e = fresh.error();
  e.message = "bearer token file " + e.message;
  return e;
}

std::string defaultUserAgent() {
  return std::string("mlops-operator/") + MLOPS_VERSION;
}

std::vector<std::string> splitKubeconfigList(const std::string& value) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= value.size()) {
    size_t end = value.find(':', start);
    if (end == std::string::npos) {
      end = value.size();
    }
    std::string part = value.substr(start, end - start);
    if (!part.empty()) {
      out.push_back(part);
    }
    start = end + 1;
  }
  return out;
}

Result<ClientConfig> loadKubeconfig(const std::string& path, const std::string& context,
                                    const Clock& clock) {
  return loadMerged({path}, /*skipMissing=*/false, context, clock);
}

Result<ClientConfig> loadKubeconfigFiles(const std::vector<std::string>& paths,
                                         const std::string& context, const Clock& clock) {
  return loadMerged(paths, /*skipMissing=*/true, context, clock);
}

Result<ClientConfig> loadInClusterConfig(const InClusterEnvironment& env, const Clock& clock) {
  if (env.serviceHost.empty() || env.servicePort.empty()) {
    return invalid(
        "in-cluster config: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set");
  }
  const fs::path dir(env.serviceAccountDir);
  const std::string tokenPath = (dir / "token").string();
  const std::string caPath = (dir / "ca.crt").string();
  const std::string nsPath = (dir / "namespace").string();

  ClientConfig cfg;
  cfg.source = "in-cluster (" + env.serviceAccountDir + ")";
  const bool ipv6 = env.serviceHost.find(':') != std::string::npos;
  cfg.server =
      "https://" + (ipv6 ? "[" + env.serviceHost + "]" : env.serviceHost) + ":" + env.servicePort;

  Result<std::string> token = readTokenFile(tokenPath);
  if (!token.ok()) {
    return invalid("in-cluster config: token " + token.error().message);
  }
  cfg.token = std::make_shared<FileTokenSource>(tokenPath, clock);

  Result<std::string> ca = readFile(caPath);
  if (!ca.ok()) {
    return invalid("in-cluster config: CA " + ca.error().message);
  }
  Result<int> count = pem::countCertificates(*ca, "in-cluster config: CA " + caPath);
  if (!count.ok()) {
    return count.error();
  }
  cfg.caPem = std::move(*ca);

  if (fileExists(nsPath)) {
    Result<std::string> ns = readFile(nsPath);
    if (!ns.ok()) {
      return invalid("in-cluster config: namespace " + ns.error().message);
    }
    std::string trimmed = trim(*ns);
    if (!trimmed.empty()) {
      cfg.defaultNamespace = trimmed;
    }
  }
  return cfg;
}

ConfigEnvironment ConfigEnvironment::fromProcess(std::string kubeconfigFlag) {
  ConfigEnvironment env;
  env.kubeconfigFlag = std::move(kubeconfigFlag);
  env.kubeconfigEnv = getenvOr("KUBECONFIG");
  env.inCluster.serviceHost = getenvOr("KUBERNETES_SERVICE_HOST");
  env.inCluster.servicePort = getenvOr("KUBERNETES_SERVICE_PORT");
  env.home = getenvOr("HOME");
  return env;
}

Result<ClientConfig> loadConfig(const ConfigEnvironment& env, const std::string& context,
                                const Clock& clock) {
  if (!env.kubeconfigFlag.empty()) {
    return loadKubeconfig(env.kubeconfigFlag, context, clock);
  }
  std::vector<std::string> fromEnv = splitKubeconfigList(env.kubeconfigEnv);
  if (!fromEnv.empty()) {
    return loadKubeconfigFiles(fromEnv, context, clock);
  }
  if (!env.inCluster.serviceHost.empty() && !env.inCluster.servicePort.empty()) {
    return loadInClusterConfig(env.inCluster, clock);
  }
  if (!env.home.empty()) {
    const std::string home = (fs::path(env.home) / ".kube" / "config").string();
    if (fileExists(home)) {
      return loadKubeconfig(home, context, clock);
    }
  }
  return invalid(
      "no Kubernetes configuration found: pass --kubeconfig, set KUBECONFIG, run in a pod, or "
      "create ~/.kube/config");
}

}  // namespace mlops::kube
