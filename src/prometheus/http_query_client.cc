#include "prometheus/http_query_client.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cpprest/http_client.h>
#include <cpprest/uri.h>
#include <cpprest/uri_builder.h>
#include <pplx/pplxtasks.h>

#include "kube/cpprest_body_guard.h"
#include "kube/cpprest_scheduler.h"
#include "kube/system_trust.h"
#include "prometheus/parse.h"

namespace mlops::prometheus {
namespace {

namespace http = web::http;
using http::client::http_client;
using http::client::http_client_config;
using SteadyClock = std::chrono::steady_clock;

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
  std::string host;  // bare: a DNS name or an IP literal without brackets
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
    out.host = host;
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

std::chrono::milliseconds remaining(SteadyClock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
  return std::max(left, std::chrono::milliseconds::zero());
}

struct Body {
  enum class Outcome { kComplete, kTooLarge, kTimedOut };
  Outcome outcome = Outcome::kComplete;
  std::string bytes;
};

// Reads a deadline abandoned, still in flight in cpprestsdk (a read on a
// connection being closed ends soon after). The client waits for them when
// destroyed, so none outlives it holding its buffer.
class AbandonedReads : public std::enable_shared_from_this<AbandonedReads> {
 public:
  void add(const pplx::task<std::size_t>& read) {
    {
      std::lock_guard lock(mu_);
      ++count_;
    }
    // Shares ownership: a read that outlasts drain() still finds it.
    read.then([self = shared_from_this()](const pplx::task<std::size_t>& done) {
      try {
        done.wait();
      } catch (...) {  // the cancelled read's error is nobody's concern now
      }
      std::lock_guard lock(self->mu_);
      --self->count_;
      self->cv_.notify_all();
    });
  }
  // Waits at most `bound` for every abandoned read to end.
  void drain(std::chrono::milliseconds bound) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, bound, [this] { return count_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int count_ = 0;
};

// Reads a body of at most `limit` bytes by `deadline`, in the caller's
// thread: a read blocked inside a pplx continuation would hold one of the
// threads cpprestsdk also needs to deliver the bytes. A longer body is
// abandoned through `guard` (installed on the request with this limit or a
// larger one), which ends it on cpprestsdk's I/O thread (cpprest_body_guard.h
// says why not by cancelling); with `truncate` its first `limit` bytes (or
// what had arrived when the guard cut it) are kept instead. Content-Length
// only lets us give up early. A read still pending at the deadline has no
// bytes flowing to end it on: `cts` is cancelled, which closes the
// connection. Throws what cpprestsdk throws (the caller translates it).
Body readBody(const http::http_response& response, std::size_t limit, bool truncate,
              SteadyClock::time_point deadline, pplx::cancellation_token_source& cts,
              kube::BodyGuard& guard, AbandonedReads& abandoned) {
  Body out;
  kube::BoundedBody body(guard, limit, truncate);
  kube::BoundedBody::Step step = body.start(response.headers());
  concurrency::streams::streambuf<uint8_t> stream = response.body().streambuf();
  // Shared with the read in flight: when the deadline abandons a read, the
  // buffer must live until cpprestsdk is done with it.
  auto chunk = std::make_shared<std::vector<uint8_t>>(std::size_t{64} * 1024);
  while (step == kube::BoundedBody::Step::kRead) {
    pplx::task<std::size_t> read =
        stream.getn(chunk->data(), chunk->size()).then([chunk](std::size_t n) { return n; });
    if (!finishesWithin(read, remaining(deadline))) {
      guard.abandon();
      cts.cancel();
      abandoned.add(read);
      out.outcome = Body::Outcome::kTimedOut;
      return out;
    }
    std::size_t got = 0;
    try {
      got = read.get();
    } catch (...) {
      step = body.afterFailedRead();
      continue;
    }
    step = body.afterRead(chunk->data(), got);
  }
  if (step == kube::BoundedBody::Step::kTooLarge) {
    out.outcome = Body::Outcome::kTooLarge;
  }
  out.bytes = std::move(body.bytes());
  return out;
}

// ---------------------------------------------------------------------------
// TLS peer checks.
//
// cpprestsdk verifies the certificate against the Host header's value, port
// included ("127.0.0.1:9090"), which no certificate names, and would send that
// as SNI too. So its own checks are off, and these are installed into every
// OpenSSL context it creates instead: the system trust store (cpprestsdk loads
// it), the URL's host as the name (a DNS name, or an IP address matched
// against IP SANs), SNI only for a DNS name (RFC 6066), TLS 1.2 at least.

// Why the last verification failed, for the error message (cpprestsdk only
// says "Error in SSL handshake"). Shared by one client's connections; with
// concurrent failures a message may name another connection's reason, which
// is the same server's.
struct TlsFailureNote {
  std::mutex mu;
  std::string reason;
};

struct PeerCheck {
  std::string host;  // DNS name or IP literal, without brackets
  bool isIp = false;
  bool verify = true;
  std::shared_ptr<TlsFailureNote> note;
};

void freePeerCheck(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/, long /*argl*/,
                   void* /*argp*/) {
  delete static_cast<PeerCheck*>(ptr);
}

int peerCheckIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, freePeerCheck);
  return index;
}

const PeerCheck* peerCheckOf(const SSL* ssl) {
  return static_cast<const PeerCheck*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), peerCheckIndex()));
}

void setExpectedPeer(X509_VERIFY_PARAM* param, const PeerCheck& check) {
  if (check.isIp) {
    X509_VERIFY_PARAM_set1_ip_asc(param, check.host.c_str());
  } else {
    X509_VERIFY_PARAM_set1_host(param, check.host.c_str(), check.host.size());
    // As Go's crypto/tls (and so Prometheus's own clients): whole-label
    // wildcards only, and never the subject CN.
    X509_VERIFY_PARAM_set_hostflags(
        param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
  }
}

int onVerify(int preverifyOk, X509_STORE_CTX* store) {
  if (preverifyOk == 1) {
    return 1;
  }
  const auto* ssl = static_cast<const SSL*>(
      X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  const PeerCheck* check = ssl != nullptr ? peerCheckOf(ssl) : nullptr;
  if (check != nullptr && check->note) {
    const std::lock_guard<std::mutex> lock(check->note->mu);
    check->note->reason = X509_verify_cert_error_string(X509_STORE_CTX_get_error(store));
  }
  return 0;
}

// Runs when a handshake starts, after cpprestsdk configured the SSL (turning
// verification off) and before the ClientHello is built: the checks are set
// here, last.
void onHandshakeEvent(const SSL* constSsl, int where, int /*ret*/) {
  if ((where & SSL_CB_HANDSHAKE_START) == 0) {
    return;
  }
  // OpenSSL hands the callback a const SSL, but configuring the connection
  // that is starting is what this hook is for.
  SSL* ssl = const_cast<SSL*>(constSsl);
  const PeerCheck* check = peerCheckOf(ssl);
  if (check == nullptr) {
    return;
  }
  if (!check->isIp) {
    SSL_set_tlsext_host_name(ssl, check->host.c_str());
  }
  if (check->verify) {
    setExpectedPeer(SSL_get0_param(ssl), *check);
    SSL_set_verify(ssl, SSL_VERIFY_PEER, onVerify);
  }
}

void applyPeerCheck(SSL_CTX* ctx, const PeerCheck& check) {
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  kube::useSystemTrust(ctx);
  auto copy = std::make_unique<PeerCheck>(check);
  if (copy->verify) {
    // Also on the context, so an SSL made from it starts out right.
    setExpectedPeer(SSL_CTX_get0_param(ctx), *copy);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, onVerify);
  }
  delete static_cast<PeerCheck*>(SSL_CTX_get_ex_data(ctx, peerCheckIndex()));
  SSL_CTX_set_ex_data(ctx, peerCheckIndex(), copy.release());
  SSL_CTX_set_info_callback(ctx, onHandshakeEvent);
}

// ---------------------------------------------------------------------------
// The client.

class HttpQueryClient final : public QueryClient {
 public:
  HttpQueryClient(Endpoint endpoint, ClientOptions options)
      : endpoint_(std::move(endpoint)),
        options_(std::move(options)),
        tlsFailure_(std::make_shared<TlsFailureNote>()),
        http_(std::make_shared<http_client>(endpoint_.base, httpConfig())) {}
  ~HttpQueryClient() override { abandoned_->drain(std::chrono::seconds(2)); }
  HttpQueryClient(const HttpQueryClient&) = delete;
  HttpQueryClient& operator=(const HttpQueryClient&) = delete;

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
      // The peer checks are ours (see PeerCheck), not cpprestsdk's.
      c.set_validate_certificates(false);
      c.set_tlsext_sni_enabled(false);
      PeerCheck check;
      check.host = endpoint_.host;
      check.isIp = endpoint_.ipLiteral;
      check.verify = !options_.insecureSkipVerify;
      check.note = tlsFailure_;
      c.set_ssl_context_callback(
          [check](boost::asio::ssl::context& ctx) { applyPeerCheck(ctx.native_handle(), check); });
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

    {
      const std::lock_guard<std::mutex> lock(tlsFailure_->mu);
      tlsFailure_->reason.clear();
    }
    // One deadline bounds the whole query, headers and body: cpprestsdk's
    // own timeout restarts whenever a byte arrives, so a server dribbling
    // its answer would never hit it.
    const SteadyClock::time_point deadline = SteadyClock::now() + options_.timeout;
    pplx::cancellation_token_source cts;
    // The limit depends on the status, not known yet: the guard holds the
    // larger one, and readBody abandons an error reply at its own.
    std::shared_ptr<kube::BodyGuard> guard = kube::BodyGuard::install(
        req, std::max<std::size_t>(options_.maxResponseBytes, kMaxErrorBodyBytes));
    int status = 0;
    Body body;
    try {
      pplx::task<http::http_response> pending = http_->request(req, cts.get_token());
      if (!finishesWithin(pending, remaining(deadline))) {
        cts.cancel();
        return timeoutError();
      }
      const http::http_response response = pending.get();
      observeCompletion(response);
      status = response.status_code();
      const bool success = status >= 200 && status <= 299;
      body = success ? readBody(response, options_.maxResponseBytes, /*truncate=*/false, deadline,
                                cts, *guard, *abandoned_)
                     : readBody(response, std::min(options_.maxResponseBytes, kMaxErrorBodyBytes),
                                /*truncate=*/true, deadline, cts, *guard, *abandoned_);
    } catch (...) {
      return transportError(std::current_exception());
    }
    if (body.outcome == Body::Outcome::kTimedOut) {
      return timeoutError();
    }
    if (body.outcome == Body::Outcome::kTooLarge) {
      Error e = makeError(ErrorCode::kInternal,
                          "Prometheus at " + endpoint_.url + ": response larger than " +
                              std::to_string(options_.maxResponseBytes) + " bytes; abandoned");
      e.httpStatus = status;
      return e;
    }
    return parseQueryResponse(status, body.bytes);
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
        std::string why;
        {
          const std::lock_guard<std::mutex> lock(tlsFailure_->mu);
          why = tlsFailure_->reason;
        }
        if (why.empty()) {
          why = detail;
        } else {
          why = "certificate verification failed: " + why + " (checked against the system trust " +
                "store and the host " + endpoint_.host + ")";
        }
        return makeError(ErrorCode::kUnavailable, where + ": TLS handshake failed: " + why);
      }
      if (ec == std::errc::connection_refused || ec == std::errc::host_unreachable ||
          ec == std::errc::network_unreachable ||
          detail.find("Failed to connect") != std::string::npos) {
        return makeError(
            ErrorCode::kUnavailable,
            where + ": cannot connect (connection refused or host unreachable): " + detail);
      }
      if (detail.find("resolv") != std::string::npos) {
        return makeError(ErrorCode::kUnavailable, where + ": cannot resolve the host: " + detail);
      }
      return makeError(ErrorCode::kUnavailable, where + ": " + detail);
    } catch (const pplx::task_canceled&) {
      // Only our own cancellation (the deadline) cancels; the caller reports
      // it as a timeout.
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
  const std::shared_ptr<TlsFailureNote> tlsFailure_;
  const std::shared_ptr<http_client> http_;
  const std::shared_ptr<AbandonedReads> abandoned_ = std::make_shared<AbandonedReads>();
};

class HttpQueryClientFactory final : public QueryClientFactory {
 public:
  Result<std::unique_ptr<QueryClient>> make(const ClientOptions& options) override {
    if (options.timeout <= std::chrono::milliseconds::zero()) {
      return makeError(ErrorCode::kInvalidArgument, "Prometheus query timeout must be positive");
    }
    if (options.maxResponseBytes == 0) {
      return makeError(ErrorCode::kInvalidArgument, "Prometheus maxResponseBytes must be positive");
    }
    if (!isHeaderSafe(options.bearerToken)) {
      return makeError(ErrorCode::kInvalidArgument,
                       "the Prometheus bearer token contains spaces or control characters");
    }
    Result<Endpoint> endpoint = parseEndpoint(options.url);
    if (!endpoint.ok()) {
      return endpoint.error();
    }
    kube::ensureCpprestScheduler();
    try {
      return std::unique_ptr<QueryClient>(
          std::make_unique<HttpQueryClient>(std::move(*endpoint), options));
    } catch (const std::exception& e) {
      return makeError(
          ErrorCode::kInvalidArgument,
          "cannot create an HTTP client for Prometheus at " + options.url + ": " + e.what());
    }
  }
};

}  // namespace

std::unique_ptr<QueryClientFactory> makeHttpQueryClientFactory() {
  return std::make_unique<HttpQueryClientFactory>();
}

}  // namespace mlops::prometheus
