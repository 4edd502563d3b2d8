#include "prometheus/http_query_client.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <openssl/ssl.h>

#include <cpprest/http_client.h>
#include <cpprest/uri.h>
#include <cpprest/uri_builder.h>
#include <pplx/pplxtasks.h>

#include "prometheus/parse.h"

namespace mlops::prometheus {
namespace {

namespace http = web::http;
using http::client::http_client;
using http::client::http_client_config;

// The body of a non-2xx reply is only quoted in a message: no more than this
// is read, whatever maxResponseBytes allows.
constexpr std::size_t kMaxErrorBodyBytes = std::size_t{64} * 1024;

struct Endpoint {
  std::string url;  // as configured, without trailing slashes: for messages
  // What cpprestsdk connects to. It resolves the URI's host as written, and
  // "[::1]" does not resolve, so the host is kept bare here and the Host
  // header carries the bracketed form.
  web::uri base;
  std::string hostHeader;
  bool tls = false;
  bool ipLiteral = false;  // no SNI for an IP address (RFC 6066)
};

bool isIpv4Literal(const std::string& host) {
  return !host.empty() && host.find_first_not_of("0123456789.") == std::string::npos;
}

Result<Endpoint> parseEndpoint(const std::string& configured) {
  Endpoint out;
  out.url = configured;
  while (!out.url.empty() && out.url.back() == '/') {
    out.url.pop_back();
  }
  const auto invalid = [](const std::string& why) {
    return makeError(ErrorCode::kInvalidArgument, "Prometheus URL " + why);
  };
  if (out.url.empty()) {
    return invalid("is empty");
  }
  try {
    const web::uri uri(out.url);
    if (uri.scheme() != "https" && uri.scheme() != "http") {
      return invalid(out.url + " must start with http:// or https://");
    }
    if (!uri.user_info().empty()) {
      // Not echoed: the user info may be a password.
      return invalid("must not contain credentials (user:password@); use bearerTokenSecretRef");
    }
    if (!uri.query().empty() || !uri.fragment().empty()) {
      return invalid(out.url + " must not have a query or fragment");
    }
    std::string host = uri.host();
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    if (host.empty()) {
      return invalid(out.url + " has no host");
    }
    out.tls = uri.scheme() == "https";
    const bool ipv6 = host.find(':') != std::string::npos;
    out.ipLiteral = ipv6 || isIpv4Literal(host);
    const int port = uri.port() > 0 ? uri.port() : (out.tls ? 443 : 80);
    web::uri_builder base;
    base.set_scheme(uri.scheme()).set_host(host).set_port(port).set_path(uri.path());
    out.base = base.to_uri();
    out.hostHeader =
        (ipv6 ? "[" + host + "]" : host) + (uri.port() > 0 ? ":" + std::to_string(port) : "");
  } catch (const std::exception& e) {
    return invalid(out.url + " is not a valid URL: " + e.what());
  }
  return out;
}

// Percent-encodes everything but RFC 3986's unreserved characters, so any
// PromQL (quotes, braces, spaces, UTF-8) travels as one query parameter.
std::string percentEncode(const std::string& value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size() * 3);
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    const bool unreserved = (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') ||
                            (u >= '0' && u <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0x0f]);
    }
  }
  return out;
}

bool isHeaderSafe(const std::string& token) {
  return std::none_of(token.begin(), token.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
  });
}

// cpprestsdk reports a failure after the headers both to the body stream and
// to a completion event; an exception nobody looks at makes pplx raise
// SIGTRAP. Watching the completion here marks it observed.
void observeCompletion(const http::http_response& response) {
  // pplx hands continuations their antecedent by value.
  response.content_ready().then([](pplx::task<http::http_response> t) {  // NOLINT
    try {
      t.wait();
    } catch (...) {
    }
  });
}

// Reads a body of at most `limit` bytes. A longer one is abandoned: `cts` is
// cancelled, which closes the connection so cpprestsdk stops buffering it.
// With `truncate` the first `limit` bytes are returned, else nullopt. Throws
// what cpprestsdk throws (the caller translates it).
std::optional<std::string> readBody(const http::http_response& response, std::size_t limit,
                                    bool truncate, pplx::cancellation_token_source& cts) {
  uint64_t declared = 0;
  if (!truncate && response.headers().match(http::header_names::content_length, declared) &&
      declared > limit) {
    cts.cancel();
    return std::nullopt;
  }
  concurrency::streams::streambuf<uint8_t> body = response.body().streambuf();
  std::string out;
  std::vector<uint8_t> chunk(std::size_t{64} * 1024);
  while (true) {
    const std::size_t got = body.getn(chunk.data(), chunk.size()).get();
    if (got == 0) {
      return out;
    }
    if (out.size() + got > limit) {
      cts.cancel();
      if (!truncate) {
        return std::nullopt;
      }
      out.append(reinterpret_cast<const char*>(chunk.data()), limit - out.size());
      return out;
    }
    out.append(reinterpret_cast<const char*>(chunk.data()), got);
  }
}

// Waits up to `timeout` for `task` to finish, successfully or not. The
// continuation also observes a failure that nobody else would (pplx would
// abort on it).
template <typename T>
bool finishesWithin(const pplx::task<T>& task, std::chrono::milliseconds timeout) {
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> finished = done->get_future();
  task.then([done](pplx::task<T> t) {  // NOLINT: pplx passes the antecedent by value
    try {
      t.wait();
    } catch (...) {
    }
    done->set_value();
  });
  return finished.wait_for(timeout) == std::future_status::ready;
}

struct Reply {
  int status = 0;
  std::optional<std::string> body;  // nullopt: larger than the limit
};

class HttpQueryClient final : public QueryClient {
 public:
  HttpQueryClient(Endpoint endpoint, ClientOptions options)
      : endpoint_(std::move(endpoint)),
        options_(std::move(options)),
        http_(std::make_shared<http_client>(endpoint_.base, httpConfig())) {}

  Result<QueryResult> query(const std::string& promql) override {
    try {
      return run(promql);
    } catch (...) {
      // run() fences cpprestsdk itself; this only catches what building the
      // request could throw (allocation, a URI cpprestsdk refuses).
      return transportError(std::current_exception());
    }
  }

 private:
  http_client_config httpConfig() const {
    http_client_config c;
    c.set_timeout(std::chrono::duration_cast<std::chrono::microseconds>(options_.timeout));
    // A redirect could lead anywhere, past the --prometheus-url-allow check.
    c.set_max_redirects(0);
    // No Accept-Encoding: the body limit then counts the bytes we keep.
    c.set_request_compressed_response(false);
    if (endpoint_.tls) {
      c.set_validate_certificates(!options_.insecureSkipVerify);
      c.set_tlsext_sni_enabled(!endpoint_.ipLiteral);
      c.set_ssl_context_callback([](boost::asio::ssl::context& ctx) {
        SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
      });
    }
    return c;
  }

  Result<QueryResult> run(const std::string& promql) {
    http::http_request req(http::methods::GET);
    req.set_request_uri(web::uri("/api/v1/query?query=" + percentEncode(promql)));
    req.headers().add("Host", endpoint_.hostHeader);
    req.headers().add("Accept", "application/json");
    req.headers().add("User-Agent", "mlops-operator");
    if (!options_.bearerToken.empty()) {
      req.headers().add("Authorization", "Bearer " + options_.bearerToken);
    }

    // The request and the body read run as one task, so that one deadline
    // bounds both: cpprestsdk's own timeout restarts whenever a byte
    // arrives, and a server dribbling its answer would never hit it.
    auto cts = std::make_shared<pplx::cancellation_token_source>();
    const std::size_t limit = options_.maxResponseBytes;
    pplx::task<Reply> pending;
    try {
      pending = http_->request(req, cts->get_token()).then([cts, limit](http::http_response r) {
        observeCompletion(r);
        Reply reply;
        reply.status = r.status_code();
        const bool success = reply.status >= 200 && reply.status <= 299;
        reply.body = success ? readBody(r, limit, /*truncate=*/false, *cts)
                             : readBody(r, std::min(limit, kMaxErrorBodyBytes),
                                        /*truncate=*/true, *cts);
        return reply;
      });
    } catch (...) {
      return transportError(std::current_exception());
    }
    if (!finishesWithin(pending, options_.timeout)) {
      cts->cancel();
      return timeoutError();
    }
    Reply reply;
    try {
      reply = pending.get();
    } catch (...) {
      return transportError(std::current_exception());
    }
    if (!reply.body) {
      Error e = makeError(ErrorCode::kInternal,
                          "Prometheus at " + endpoint_.url + ": response larger than " +
                              std::to_string(limit) + " bytes; abandoned");
      e.httpStatus = reply.status;
      return e;
    }
    return parseQueryResponse(reply.status, *reply.body);
  }

  Error timeoutError() const {
    return makeError(ErrorCode::kTimeout, "Prometheus at " + endpoint_.url +
                                              " did not answer within " +
                                              std::to_string(options_.timeout.count()) + "ms");
  }

  // Whatever cpprestsdk, boost or pplx threw, as an Error.
  Error transportError(const std::exception_ptr& ep) const {
    const std::string where = "Prometheus at " + endpoint_.url;
    try {
      std::rethrow_exception(ep);
    } catch (const http::http_exception& e) {
      const std::error_code ec = e.error_code();
      std::string detail = e.what();
      if (ec && detail.find(ec.message()) == std::string::npos) {
        detail += " (" + ec.message() + ")";
      }
      if (ec == std::errc::timed_out) {
        return timeoutError();
      }
      if (detail.find("handshake") != std::string::npos ||
          detail.find("certificate") != std::string::npos) {
        return makeError(ErrorCode::kUnavailable,
                         where + ": TLS handshake failed: " + detail +
                             (options_.insecureSkipVerify
                                  ? ""
                                  : " (the certificate is verified against the system trust "
                                    "store and the URL's host)"));
      }
      if (ec == std::errc::connection_refused || ec == std::errc::host_unreachable ||
          ec == std::errc::network_unreachable ||
          detail.find("Failed to connect") != std::string::npos) {
        return makeError(ErrorCode::kUnavailable,
                         where + ": cannot connect (connection refused or host unreachable): " +
                             detail);
      }
      if (detail.find("resolv") != std::string::npos) {
        return makeError(ErrorCode::kUnavailable, where + ": cannot resolve the host: " + detail);
      }
      return makeError(ErrorCode::kUnavailable, where + ": " + detail);
    } catch (const pplx::task_canceled&) {
      // Only our own cancellation (a body over the limit, or the deadline)
      // cancels; the deadline is reported by the caller.
      return makeError(ErrorCode::kUnavailable, where + ": the request was abandoned");
    } catch (const web::uri_exception& e) {
      return makeError(ErrorCode::kInvalidArgument, where + ": bad request URI: " + e.what());
    } catch (const std::system_error& e) {
      return makeError(ErrorCode::kUnavailable, where + ": " + e.what());
    } catch (const std::exception& e) {
      return makeError(ErrorCode::kInternal, where + ": " + e.what());
    } catch (...) {
      return makeError(ErrorCode::kInternal, where + ": unknown failure");
    }
  }

  const Endpoint endpoint_;
  const ClientOptions options_;
  const std::shared_ptr<http_client> http_;
};

class HttpQueryClientFactory final : public QueryClientFactory {
 public:
  Result<std::unique_ptr<QueryClient>> make(const ClientOptions& options) override {
    if (options.timeout <= std::chrono::milliseconds::zero()) {
      return makeError(ErrorCode::kInvalidArgument, "Prometheus query timeout must be positive");
    }
    if (options.maxResponseBytes == 0) {
      return makeError(ErrorCode::kInvalidArgument,
                       "Prometheus maxResponseBytes must be positive");
    }
    if (!isHeaderSafe(options.bearerToken)) {
      return makeError(ErrorCode::kInvalidArgument,
                       "the Prometheus bearer token contains spaces or control characters");
    }
    Result<Endpoint> endpoint = parseEndpoint(options.url);
    if (!endpoint.ok()) {
      return endpoint.error();
    }
    try {
      return std::unique_ptr<QueryClient>(
          std::make_unique<HttpQueryClient>(std::move(*endpoint), options));
    } catch (const std::exception& e) {
      return makeError(ErrorCode::kInvalidArgument,
                       "cannot create an HTTP client for Prometheus at " + options.url + ": " +
                           e.what());
    }
  }
};

}  // namespace

std::unique_ptr<QueryClientFactory> makeHttpQueryClientFactory() {
  return std::make_unique<HttpQueryClientFactory>();
}

}  // namespace mlops::prometheus
