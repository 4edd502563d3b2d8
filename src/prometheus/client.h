// The narrow port through which the operator asks Prometheus anything: one
// instant query. Reconcilers hold a QueryClientFactory and are tested with a
// fake; the only real implementation is http_query_client.h (cpprestsdk).
//
//   QueryClientFactory::make(ClientOptions) ─▶ QueryClient
//   QueryClient::query(promql)              ─▶ QueryResult | Error
//
// Also two pure helpers for building ClientOptions from a DriftPolicy:
//   urlAllowed(url, --prometheus-url-allow prefixes)
//   bearerTokenFromSecret(Secret, key)
// They live in mlops_prometheus_parse (no I/O).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "prometheus/query_result.h"

namespace mlops::prometheus {

// One Prometheus server.
//
// query() runs an instant query evaluated at the server's current time and
// returns the parsed result or an Error (codes as in parse.h, plus
// kUnavailable for transport failures and kTimeout when no complete answer
// came within the client's timeout). It never throws. Implementations are
// thread safe: one client may serve many reconciles at once.
class QueryClient {
 public:
  virtual ~QueryClient() = default;
  virtual Result<QueryResult> query(const std::string& promql) = 0;
};

struct ClientOptions {
  std::string url;  // base URL of the HTTP API, "http://prometheus.monitoring:9090"
  std::chrono::milliseconds timeout{10'000};  // of one whole query, connect to last byte
  std::string bearerToken;                    // "" = no Authorization header
  bool insecureSkipVerify = false;            // TLS certificate checks are on by default
  std::size_t maxResponseBytes = 4 << 20;     // a larger reply is an Error, never buffered
};

// Makes clients; a reconciler asks for one per policy (options differ per
// policy). make() checks the options (a URL it cannot use is
// kInvalidArgument) but opens no connection.
class QueryClientFactory {
 public:
  virtual ~QueryClientFactory() = default;
  virtual Result<std::unique_ptr<QueryClient>> make(const ClientOptions& options) = 0;
};

// Whether the operator may query `url` under --prometheus-url-allow. An empty
// list allows every URL. A prefix matches only at a path boundary: it must
// end with "/" or the URL must continue with "/" (or end) right after it, so
// "https://prom.example" allows "https://prom.example/x" but not
// "https://prom.example.evil.com" or "https://prom.example:8443". Scheme and
// host compare case-insensitively; a URL with "@" (credentials, or a
// host-confusion attempt), "\", or ".." path segments is never allowed
// unless the list is empty.
bool urlAllowed(std::string_view url, const std::vector<std::string>& allowPrefixes);

// The secret label that marks a Secret as readable for Prometheus tokens.
inline constexpr const char* kCredentialsLabel = "mlops.dev/prometheus-credentials";

// The bearer token in a Secret object (as read from the API): the Secret must
// carry the label kCredentialsLabel with value "true", and data[key] must be
// valid base64; the decoded bytes, minus one trailing newline ("\n" or
// "\r\n"), are the token. Errors (kInvalidArgument) name the Secret and key,
// never any of the token's bytes.
Result<std::string> bearerTokenFromSecret(const nlohmann::json& secret, const std::string& key);

}  // namespace mlops::prometheus
