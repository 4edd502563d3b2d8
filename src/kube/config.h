// How to reach and authenticate to an API server: `ClientConfig`, and the
// loaders that fill it from a kubeconfig file or from inside a pod.
//
// Loading order for the operator (`loadConfig`), like client-go's:
//   1. an explicit --kubeconfig path;
//   2. $KUBECONFIG, a colon-separated list of files merged like kubectl does
//      (for clusters, users and contexts the first file to define a name wins;
//      the first file that sets current-context wins; missing files are
//      skipped, but not all of them);
//   3. in-cluster: $KUBERNETES_SERVICE_HOST/$KUBERNETES_SERVICE_PORT and the
//      service account files (token, ca.crt, namespace);
//   4. ~/.kube/config.
//
// Loaders never throw. A bad file (missing, unreadable, YAML syntax error, no
// current context, a context naming a missing cluster or user, bad base64, a
// certificate or key that does not parse) is an Error of code
// kInvalidArgument whose message names the file and the problem. Tokens and
// keys never appear in messages.
//
// Supported kubeconfig fields: clusters[].cluster.{server,
// certificate-authority, certificate-authority-data,
// insecure-skip-tls-verify, tls-server-name}; users[].user.{client-certificate,
// client-certificate-data, client-key, client-key-data, token, tokenFile};
// contexts[].context.{cluster, user, namespace}; current-context. Relative
// file paths are resolved against the directory of the kubeconfig file that
// defined the entry. A `*-data` field wins over its file form. Credential
// plugins (exec, auth-provider) and basic auth are rejected with a clear
// error rather than silently ignored.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"

namespace mlops::kube {

// Supplies the bearer token for each request. Implementations are thread
// safe.
class TokenSource {
 public:
  virtual ~TokenSource() = default;
  virtual Result<std::string> token() = 0;
};

// A fixed token.
std::shared_ptr<TokenSource> staticTokenSource(std::string token);

// A token read from a file and re-read once `maxAge` has passed since the last
// successful read (projected service-account tokens rotate; client-go re-reads
// every minute too). If a re-read fails, the last good token is kept and the
// read is retried on the next call. Before the file has ever been read
// successfully, `fallback` (a kubeconfig's `token`) is used when not empty.
// `clock` must outlive the source.
class FileTokenSource final : public TokenSource {
 public:
  FileTokenSource(std::string path, const Clock& clock,
                  std::chrono::seconds maxAge = std::chrono::seconds(60),
                  std::string fallback = "");
  Result<std::string> token() override;
  const std::string& path() const { return path_; }

 private:
  const std::string path_;
  const Clock& clock_;
  const std::chrono::seconds maxAge_;
  const std::string fallback_;
  std::mutex mu_;
  std::optional<std::string> cached_;
  Clock::TimePoint readAt_{};
};

// Reads a token file: its content without surrounding whitespace. An empty
// file is an error. The message names the file, never the content.
Result<std::string> readTokenFile(const std::string& path);

// "mlops-operator/<version>".
std::string defaultUserAgent();

struct ClientConfig {
  std::string server;                  // "https://127.0.0.1:6443"
  std::string caPem;                   // CA bundle; "" trusts the system store
  std::string clientCertPem;           // client certificate (chain), or ""
  std::string clientKeyPem;            // its private key, or ""; sensitive
  bool insecureSkipTlsVerify = false;  // only when the kubeconfig says so
  // The name the server's certificate must carry, and the TLS SNI, when it
  // differs from the host of `server` (a kubeconfig's tls-server-name, as
  // kubectl honours it). "" uses the host of `server`.
  std::string tlsServerName;
  std::shared_ptr<TokenSource> token;  // bearer token, or null for none

  std::string defaultNamespace = "default";  // the context's, or in-cluster's
  std::chrono::milliseconds requestTimeout{std::chrono::seconds(30)};
  // A watch is abandoned when no byte arrives for its timeoutSeconds plus
  // this grace (the server should have closed it by then).
  std::chrono::milliseconds watchIdleGrace{std::chrono::seconds(30)};
  // The clock a watch's idle time is measured on. Must outlive every client
  // made from this config. Tests put a fake clock here, so that the idle
  // timeout is driven without waiting for it (the connection's own timeout
  // in cpprestsdk stays on real time: the backstop behind this one).
  const Clock* clock = &SystemClock::instance();
  std::string userAgent = defaultUserAgent();
  // A reply body larger than this is abandoned (the connection is closed)
  // and the call fails, so a misbehaving server cannot exhaust our memory.
  // Watch streams are bounded per event instead (WatchDecoder).
  size_t maxResponseBytes = size_t{256} * 1024 * 1024;

  // Called after every request with the method ("GET") and HTTP status, or
  // code 0 when no response arrived; feeds rest_client_requests_total. Must
  // be thread safe and cheap; exceptions it throws are swallowed.
  std::function<void(const std::string& method, int code)> onResponse;

  // Where this came from, for messages: "kubeconfig /x (context y)",
  // "in-cluster".
  std::string source;
};

// One kubeconfig file; a missing file is an error. `context` overrides
// current-context when not empty. `clock` serves tokenFile re-reads and must
// outlive the returned config's token source.
Result<ClientConfig> loadKubeconfig(const std::string& path, const std::string& context = "",
                                    const Clock& clock = SystemClock::instance());

// Several files merged like kubectl merges $KUBECONFIG. Missing files are
// skipped; an error if none exists.
Result<ClientConfig> loadKubeconfigFiles(const std::vector<std::string>& paths,
                                         const std::string& context = "",
                                         const Clock& clock = SystemClock::instance());

// Splits $KUBECONFIG on ':' dropping empty entries.
std::vector<std::string> splitKubeconfigList(const std::string& value);

inline constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

struct InClusterEnvironment {
  std::string serviceHost;                             // $KUBERNETES_SERVICE_HOST
  std::string servicePort;                             // $KUBERNETES_SERVICE_PORT
  std::string serviceAccountDir = kServiceAccountDir;  // token, ca.crt, namespace
};

// In-cluster config: server from the environment, CA and token from the
// service account directory (token re-read every minute), namespace from
// its `namespace` file ("default" when absent).
Result<ClientConfig> loadInClusterConfig(const InClusterEnvironment& env,
                                         const Clock& clock = SystemClock::instance());

// Everything `loadConfig` looks at, so tests need not touch the process
// environment.
struct ConfigEnvironment {
  std::string kubeconfigFlag;  // --kubeconfig
  std::string kubeconfigEnv;   // $KUBECONFIG
  InClusterEnvironment inCluster;
  std::string home;  // $HOME

  // Reads the process environment; `kubeconfigFlag` comes from the caller.
  static ConfigEnvironment fromProcess(std::string kubeconfigFlag = "");
};

// The operator's loading order (see the top of this file). `context`
// overrides the kubeconfig's current-context; it does not apply in-cluster.
Result<ClientConfig> loadConfig(const ConfigEnvironment& env, const std::string& context = "",
                                const Clock& clock = SystemClock::instance());

}  // namespace mlops::kube
