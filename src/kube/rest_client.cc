#include "kube/rest_client.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <future>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <cpprest/http_client.h>
#include <cpprest/uri.h>
#include <cpprest/uri_builder.h>
#include <pplx/pplxtasks.h>
#include <pplx/threadpool.h>

#include "kube/api_error.h"
#include "kube/cpprest_body_guard.h"
#include "kube/cpprest_scheduler.h"
#include "kube/protobuf_codec.h"
#include "kube/tls_context.h"
#include "kube/utf8.h"
#include "kube/watch_decoder.h"

namespace mlops::kube {
namespace {

namespace http = web::http;
using http::client::http_client;
using http::client::http_client_config;

constexpr const char* kJson = "application/json";
// For lists and watches with a protobuf decoder: protobuf where the server
// has it (built-in types), JSON where it has not.
constexpr const char* kProtobufOrJson = "application/vnd.kubernetes.protobuf, application/json";
constexpr const char* kMergePatch = "application/merge-patch+json";
constexpr const char* kApplyPatch = "application/apply-patch+yaml";

// Error bodies are only quoted in messages; more than this is not read.
constexpr size_t kMaxErrorBodyBytes = size_t{1} * 1024 * 1024;
constexpr uint64_t kNoBodyLimit = std::numeric_limits<uint64_t>::max();

struct ServerAddress {
  std::string url;   // as configured, without a trailing slash
  std::string host;  // an IPv6 literal without its brackets
  int port = 0;
  bool tls = false;
  // What the HTTP client connects to. cpprestsdk resolves the URI's host as
  // written, and "[::1]" does not resolve: the host is kept bare here, and
  // the Host header (below) carries the bracketed form.
  web::uri base;
  std::string hostHeader;  // "[::1]:6443", "kube.example.com:6443"
};

Result<ServerAddress> parseServer(const std::string& server) {
  ServerAddress out;
  out.url = server;
  while (out.url.size() > 1 && out.url.back() == '/') {
    out.url.pop_back();
  }
  try {
    web::uri uri(out.url);
    if (uri.scheme() != "https" && uri.scheme() != "http") {
      return makeError(ErrorCode::kInvalidArgument,
                       "server URL " + server + " must start with https:// or http://");
    }
    out.tls = uri.scheme() == "https";
    out.host = uri.host();
    if (out.host.size() > 2 && out.host.front() == '[' && out.host.back() == ']') {
      out.host = out.host.substr(1, out.host.size() - 2);
    }
    out.port = uri.port() > 0 ? uri.port() : (out.tls ? 443 : 80);
    if (out.host.empty()) {
      return makeError(ErrorCode::kInvalidArgument, "server URL " + server + " has no host");
    }
    if (!uri.query().empty() || !uri.fragment().empty()) {
      return makeError(ErrorCode::kInvalidArgument,
                       "server URL " + server + " must not have a query or fragment");
    }
    const bool ipv6 = out.host.find(':') != std::string::npos;
    web::uri_builder base;
    base.set_scheme(uri.scheme()).set_host(out.host).set_port(out.port).set_path(uri.path());
    out.base = base.to_uri();
    out.hostHeader = (ipv6 ? "[" + out.host + "]" : out.host) +
                     (uri.port() > 0 ? ":" + std::to_string(uri.port()) : "");
  } catch (const std::exception& e) {
    return makeError(ErrorCode::kInvalidArgument,
                     "server URL " + server + " is not a valid URL: " + e.what());
  }
  return out;
}

// "?a=1&b=2" from the non-empty values.
class Query {
 public:
  Query& add(const std::string& key, const std::string& value) {
    if (value.empty()) {
      return *this;
    }
    out_ += (out_.empty() ? "?" : "&") + key + "=" + urlEncode(value);
    return *this;
  }
  const std::string& str() const { return out_; }

 private:
  std::string out_;
};

std::string nameOf(const Json& obj) {
  if (!obj.is_object()) {
    return "";
  }
  auto md = obj.find("metadata");
  if (md == obj.end() || !md->is_object()) {
    return "";
  }
  auto name = md->find("name");
  return name != md->end() && name->is_string() ? name->get<std::string>() : "";
}

std::string namespaceOf(const Json& obj) {
  if (!obj.is_object()) {
    return "";
  }
  auto md = obj.find("metadata");
  if (md == obj.end() || !md->is_object()) {
    return "";
  }
  auto ns = md->find("namespace");
  return ns != md->end() && ns->is_string() ? ns->get<std::string>() : "";
}

std::string describe(const std::string& verb, const Resource& r, const std::string& ns,
                     const std::string& name) {
  std::string out = verb + " " + r.groupResource();
  if (!name.empty()) {
    out += " " + (ns.empty() ? name : ns + "/" + name);
  } else if (!ns.empty()) {
    out += " in " + ns;
  }
  // Names come from callers' objects: keep every message valid UTF-8.
  return toValidUtf8(out);
}

// The body of a request. Objects may hold text that is not valid UTF-8 (a
// trainer's termination message cut anywhere, say); nlohmann would throw on
// it, so it is replaced by U+FFFD instead, as the API server itself would
// have to.
std::string serialize(const Json& obj) {
  return obj.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// A string member of an object from the server, "" when absent or of another
// type (Json::value() would throw on a type mismatch).
std::string stringAt(const Json& obj, const char* key) {
  if (!obj.is_object()) {
    return "";
  }
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

const char* propagationName(PropagationPolicy p) {
  switch (p) {
    case PropagationPolicy::kForeground:
      return "Foreground";
    case PropagationPolicy::kBackground:
      return "Background";
    case PropagationPolicy::kOrphan:
      return "Orphan";
    case PropagationPolicy::kDefault:
      break;
  }
  return "";
}

// cpprestsdk reports a failure after the headers both to the body stream and
// to a completion event; an exception nobody looks at makes pplx raise
// SIGTRAP. Watching the completion here marks it observed.
void observeCompletion(http::http_response& response) {
  // pplx hands continuations their antecedent by value.
  response.content_ready().then([](pplx::task<http::http_response> t) {  // NOLINT
    try {
      t.wait();
    } catch (...) {
    }
  });
}

// Reads a reply body of at most `limit` bytes. A longer body is abandoned
// through `guard` (installed on the request with this limit or a larger
// one), which ends it on cpprestsdk's I/O thread (cpprest_body_guard.h says
// why not by cancelling). With `truncate` the first `limit` bytes (or what
// had arrived when the guard cut the body) are returned, else nullopt.
// Throws what cpprestsdk throws for other failures (callers translate it).
std::optional<std::string> readBody(http::http_response& response, size_t limit, bool truncate,
                                    BodyGuard& guard) {
  BoundedBody body(guard, limit, truncate);
  BoundedBody::Step step = body.start(response.headers());
  concurrency::streams::streambuf<uint8_t> stream = response.body().streambuf();
  std::vector<uint8_t> chunk(size_t{64} * 1024);
  while (step == BoundedBody::Step::kRead) {
    size_t got = 0;
    try {
      got = stream.getn(chunk.data(), chunk.size()).get();
    } catch (...) {
      step = body.afterFailedRead();
      continue;
    }
    step = body.afterRead(chunk.data(), got);
  }
  if (step == BoundedBody::Step::kTooLarge) {
    return std::nullopt;
  }
  return std::move(body.bytes());
}

// Cancels `cts` while it lives if `token` is (or gets) cancelled, so that a
// caller's CancelToken reaches cpprestsdk, which closes the connection.
class CancelLink {
 public:
  CancelLink(const CancelToken* token, const pplx::cancellation_token_source& cts) : token_(token) {
    if (token_ != nullptr) {
      id_ = token_->subscribe([cts] { cts.cancel(); });
    }
  }
  ~CancelLink() {
    if (token_ != nullptr) {
      token_->unsubscribe(id_);
    }
  }
  CancelLink(const CancelLink&) = delete;
  CancelLink& operator=(const CancelLink&) = delete;

 private:
  const CancelToken* token_;
  uint64_t id_ = 0;
};

// Waits up to `timeout` for `task` to finish, successfully or not.
template <typename T>
bool finishesWithin(const pplx::task<T>& task, std::chrono::milliseconds timeout) {
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> finished = done->get_future();
  // pplx hands continuations their antecedent by value.
  task.then([done](pplx::task<T> t) {  // NOLINT
    try {
      t.wait();
    } catch (...) {
    }
    done->set_value();
  });
  return finished.wait_for(timeout) == std::future_status::ready;
}

// Everything requests and watches share: addresses, TLS, headers, metrics,
// error translation.
class Transport {
 public:
  Transport(ClientConfig config, ServerAddress address, std::shared_ptr<const TlsMaterial> tls)
      : config_(std::move(config)), address_(std::move(address)), tls_(std::move(tls)) {}

  const ClientConfig& config() const { return config_; }
  const ServerAddress& address() const { return address_; }

  http_client_config httpConfig(std::chrono::milliseconds timeout) const {
    http_client_config c;
    c.set_timeout(std::chrono::duration_cast<std::chrono::microseconds>(timeout));
    c.set_max_redirects(0);
    c.set_request_compressed_response(false);
    if (address_.tls) {
      // TlsMaterial verifies the peer and sends SNI itself (see
      // tls_context.h); cpprestsdk would check the Host header's name.
      c.set_validate_certificates(false);
      c.set_tlsext_sni_enabled(false);
      std::shared_ptr<const TlsMaterial> tls = tls_;
      c.set_ssl_context_callback(
          [tls](boost::asio::ssl::context& ctx) { tls->applyTo(ctx.native_handle()); });
    }
    return c;
  }

  // A request with the common headers; `body` may be null.
  Result<http::http_request> request(const std::string& method, const std::string& pathAndQuery,
                                     const std::string* body, const char* contentType,
                                     const std::string& what, const char* accept = kJson) const {
    http::http_request req(method);
    try {
      req.set_request_uri(web::uri(pathAndQuery));
    } catch (const std::exception& e) {
      return makeError(ErrorCode::kInvalidArgument, what + ": bad request path: " + e.what());
    }
    req.headers().add("Host", address_.hostHeader);
    req.headers().add("User-Agent", config_.userAgent);
    req.headers().add("Accept", accept);
    if (config_.token) {
      Result<std::string> token = config_.token->token();
      if (!token.ok()) {
        Error e = token.error();
        e.message = what + ": " + e.message;
        return e;
      }
      req.headers().add("Authorization", "Bearer " + *token);
    }
    if (body != nullptr) {
      // Bytes, not a string: cpprestsdk's string bodies go through a char
      // buffer read as bytes, which UBSan rightly flags.
      req.headers().set_content_type(contentType);
      req.set_body(std::vector<unsigned char>(body->begin(), body->end()));
    }
    return req;
  }

  void observe(const std::string& method, int code) const {
    if (!config_.onResponse) {
      return;
    }
    try {
      config_.onResponse(method, code);
    } catch (...) {
      // A metrics hook must never break a request.
    }
  }

  // Turns whatever cpprestsdk or boost threw into an Error.
  Error transportError(const std::string& what, const std::exception_ptr& ep) const {
    const std::string server = address_.url;
    try {
      std::rethrow_exception(ep);
    } catch (const http::http_exception& e) {
      const std::error_code ec = e.error_code();
      const std::string msg = e.what();
      if (ec == std::errc::timed_out) {
        return makeError(ErrorCode::kTimeout, what + ": " + server + " did not answer within " +
                                                  std::to_string(config_.requestTimeout.count()) +
                                                  "ms");
      }
      if (ec == std::errc::operation_canceled) {
        return makeError(ErrorCode::kCancelled, what + ": cancelled");
      }
      if (msg.find("SSL handshake") != std::string::npos ||
          msg.find("handshake") != std::string::npos) {
        return tlsError(what);
      }
      if (ec == std::errc::host_unreachable || ec == std::errc::connection_refused ||
          msg.find("Failed to connect") != std::string::npos) {
        return makeError(ErrorCode::kUnavailable, what + ": cannot connect to " + server +
                                                      ": connection refused or host unreachable");
      }
      if (msg.find("resolv") != std::string::npos) {
        return makeError(ErrorCode::kUnavailable,
                         what + ": cannot resolve the host of " + server + ": " + msg);
      }
      std::string detail = msg;
      if (ec && detail.find(ec.message()) == std::string::npos) {
        detail += " (" + ec.message() + ")";
      }
      return makeError(ErrorCode::kUnavailable, what + ": " + server + ": " + detail);
    } catch (const pplx::task_canceled&) {
      return makeError(ErrorCode::kCancelled, what + ": cancelled");
    } catch (const web::uri_exception& e) {
      return makeError(ErrorCode::kInvalidArgument, what + ": bad URL: " + e.what());
    } catch (const std::system_error& e) {
      return makeError(ErrorCode::kUnavailable, what + ": " + server + ": " + e.what());
    } catch (const std::exception& e) {
      return makeError(ErrorCode::kInternal, what + ": " + server + ": " + e.what());
    } catch (...) {
      return makeError(ErrorCode::kInternal, what + ": " + server + ": unknown failure");
    }
  }

 private:
  Error tlsError(const std::string& what) const {
    std::string why;
    if (tls_ && !config_.insecureSkipTlsVerify) {
      why = diagnoseTlsFailure(address_.host, address_.port, *tls_);
    }
    if (why.empty()) {
      why = "the handshake failed";
    }
    std::string hint;
    if (why.find("unknown authority") != std::string::npos) {
      hint = " (check the certificate-authority of " + config_.source + ")";
    }
    return makeError(ErrorCode::kUnavailable,
                     what + ": TLS with " + address_.url + " failed: " + why + hint);
  }

  const ClientConfig config_;
  const ServerAddress address_;
  const std::shared_ptr<const TlsMaterial> tls_;
};

// ---------------------------------------------------------------------------
// Watch streams.

// Shared with the read continuations, which may outlive the stream object.
struct WatchState {
  std::mutex mu;
  std::condition_variable cv;
  concurrency::streams::streambuf<uint8_t> body;
  uint8_t firstByte = 0;
  std::unique_ptr<WatchBodyDecoder> decoder;
  bool readInFlight = false;
  bool ended = false;
  bool cancelled = false;
  std::optional<Error> failure;
  // When the read now in flight began: the idle time runs from here. Only
  // next() (the caller's thread) reads and writes it, on the configured
  // clock; a read's continuation only clears readInFlight, and next()
  // starts the following read and resets this.
  Clock::TimePoint readStarted{};
};

class RestWatchStream final : public WatchStream {
 public:
  RestWatchStream(std::shared_ptr<const Transport> transport, std::unique_ptr<http_client> client,
                  std::shared_ptr<pplx::cancellation_token_source> cts,
                  std::shared_ptr<BodyGuard> guard, http::http_response response, std::string what,
                  std::chrono::milliseconds idleTimeout, const Clock& clock,
                  std::unique_ptr<WatchBodyDecoder> decoder)
      : transport_(std::move(transport)),
        client_(std::move(client)),
        cts_(std::move(cts)),
        guard_(std::move(guard)),
        response_(std::move(response)),
        what_(std::move(what)),
        idleTimeout_(idleTimeout),
        clock_(clock),
        state_(std::make_shared<WatchState>()) {
    state_->body = response_.body().streambuf();
    state_->decoder = std::move(decoder);
  }

  ~RestWatchStream() override {
    // Closing the connection completes any read still in flight; the
    // continuation holds its own reference to the state.
    cancel();
  }

  Result<std::optional<WatchEvent>> next() override {
    std::unique_lock<std::mutex> lock(state_->mu);
    while (true) {
      if (state_->cancelled) {
        return makeError(ErrorCode::kCancelled, what_ + ": cancelled");
      }
      if (std::optional<Result<WatchEvent>> item = state_->decoder->next()) {
        if (!item->ok()) {
          return item->error();
        }
        return std::optional<WatchEvent>(std::move(item->value()));
      }
      if (state_->failure) {
        return *state_->failure;
      }
      if (state_->ended) {
        return std::optional<WatchEvent>();
      }
      if (!state_->readInFlight) {
        state_->readInFlight = true;
        // Idle time counts while we wait for bytes, not while the caller
        // was busy elsewhere (the data may be sitting in the buffer).
        state_->readStarted = clock_.now();
        lock.unlock();  // the continuation takes the lock; never run it under ours
        startRead();
        lock.lock();
        continue;
      }
      const Clock::TimePoint deadline = state_->readStarted + idleTimeout_;
      if (clock_.now() >= deadline) {
        state_->failure = makeError(
            ErrorCode::kTimeout,
            what_ + ": no data from " + transport_->address().url + " for " +
                std::to_string(
                    std::chrono::duration_cast<std::chrono::seconds>(idleTimeout_).count()) +
                "s");
        Error e = *state_->failure;
        lock.unlock();
        cts_->cancel();
        return e;
      }
      clock_.waitUntil(state_->cv, lock, deadline);
    }
  }

  void cancel() override {
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      state_->cancelled = true;
    }
    state_->cv.notify_all();
    // Abandoned first: cpprestsdk's I/O thread, finishing a read as we get
    // here, then fails the request on its own thread instead of starting the
    // next read, which our close below would race (cpprest_body_guard.h).
    // The close is still needed for a stream that receives nothing.
    guard_->abandon();
    cts_->cancel();
  }

 private:
  void startRead() {
    std::shared_ptr<WatchState> st = state_;
    std::shared_ptr<const Transport> transport = transport_;
    std::string what = what_;
    // Wait for one byte, then take whatever else has arrived without
    // waiting: the buffer would otherwise hold a read until a whole block
    // is there, and watch events are small and far apart.
    try {
      st->body.getn(&st->firstByte, 1).then([st, transport, what](pplx::task<size_t> t) {  // NOLINT
        // Nothing may escape a continuation: pplx would abort the process
        // over an exception nobody observes.
        try {
          onRead(st, *transport, what, t);
        } catch (...) {
          fail(st, makeError(ErrorCode::kInternal, what + ": reading the watch failed"));
        }
      });
    } catch (...) {
      fail(st, transport->transportError(what, std::current_exception()));
    }
  }

  // Ends the stream with `error` (unless it already failed or was
  // cancelled) and wakes the reader.
  static void fail(const std::shared_ptr<WatchState>& st, Error error) {
    {
      std::lock_guard<std::mutex> lock(st->mu);
      if (!st->failure && !st->cancelled) {
        st->failure = std::move(error);
      }
      st->readInFlight = false;
    }
    st->cv.notify_all();
  }

  static void onRead(const std::shared_ptr<WatchState>& st, const Transport& transport,
                     const std::string& what, const pplx::task<size_t>& t) {
    {
      std::string data;
      bool end = false;
      std::optional<Error> error;
      try {
        if (t.get() == 0) {
          end = true;
        } else {
          data.push_back(static_cast<char>(st->firstByte));
          while (size_t avail = st->body.in_avail()) {
            const size_t old = data.size();
            data.resize(old + avail);
            const size_t got =
                st->body.getn(reinterpret_cast<uint8_t*>(data.data() + old), avail).get();
            data.resize(old + got);
            if (got == 0) {
              break;
            }
          }
        }
      } catch (...) {
        error = transport.transportError(what, std::current_exception());
      }
      {
        std::lock_guard<std::mutex> lock(st->mu);
        if (!data.empty()) {
          st->decoder->feed(data);
        }
        if (end) {
          st->ended = true;
          st->decoder->finish();
        }
        if (error && !st->failure && !st->cancelled) {
          st->failure = std::move(error);
        }
        st->readInFlight = false;
      }
      st->cv.notify_all();
    }
  }

  const std::shared_ptr<const Transport> transport_;
  const std::unique_ptr<http_client> client_;  // this watch's own connection
  const std::shared_ptr<pplx::cancellation_token_source> cts_;
  const std::shared_ptr<BodyGuard> guard_;
  http::http_response response_;
  const std::string what_;
  const std::chrono::milliseconds idleTimeout_;
  const Clock& clock_;  // the config's; outlives the client, so this stream
  const std::shared_ptr<WatchState> state_;
};

// ---------------------------------------------------------------------------
// The client.

struct Response {
  int status = 0;
  std::string body;
  std::string contentType;
};

// An error reply as an Error; a protobuf Status is read as its JSON form.
Error replyError(int status, const std::string& contentType, const std::string& body,
                 const std::string& what) {
  if (isProtobufContentType(contentType)) {
    Result<Json> decoded = decodeProtobufStatus(body);
    if (decoded.ok()) {
      return errorFromResponse(status, serialize(*decoded), what);
    }
  }
  return errorFromResponse(status, body, what);
}

class RestClient final : public Client {
 public:
  explicit RestClient(std::shared_ptr<const Transport> transport)
      : transport_(std::move(transport)),
        http_(std::make_unique<http_client>(
            transport_->address().base,
            transport_->httpConfig(transport_->config().requestTimeout))) {}

  Result<Json> get(const Resource& r, const std::string& ns, const std::string& name) override {
    const std::string what = describe("get", r, ns, name);
    if (Status st = checkTarget(r, ns, name, what); !st.ok()) {
      return st.error();
    }
    return call("GET", r.path(ns, name), nullptr, nullptr, what);
  }

  Result<ListPage> list(const Resource& r, const std::string& ns,
                        const ListOptions& opts) override {
    const std::string what = describe("list", r, ns, "");
    Query q;
    q.add("labelSelector", opts.labelSelector)
        .add("fieldSelector", opts.fieldSelector)
        .add("limit", opts.limit > 0 ? std::to_string(opts.limit) : "")
        .add("continue", opts.continueToken)
        .add("resourceVersion", opts.resourceVersion);
    Result<Response> response =
        send("GET", r.path(ns) + q.str(), nullptr, nullptr, what, opts.cancel,
             opts.protobuf != nullptr ? kProtobufOrJson : kJson);
    if (!response.ok()) {
      return response.error();
    }
    if (opts.protobuf != nullptr && isSuccess(*response) &&
        isProtobufContentType(response->contentType)) {
      Result<ListPage> decoded = decodeProtobufList(response->body, opts.protobuf);
      if (!decoded.ok()) {
        Error e = decoded.error();
        e.message = what + ": " + e.message;
        return e;
      }
      return decoded;
    }
    Result<Json> body = jsonReply(*response, what);
    if (!body.ok()) {
      return body.error();
    }
    ListPage page;
    if (!body->is_object()) {
      return makeError(ErrorCode::kInternal, what + ": the response is not a list object");
    }
    auto items = body->find("items");
    if (items != body->end() && items->is_array()) {
      page.items = std::move(*items);
    }
    for (Json& item : page.items) {
      if (!item.is_object()) {
        continue;
      }
      if (!item.contains("apiVersion")) {
        item["apiVersion"] = r.apiVersion();
      }
      if (!item.contains("kind")) {
        item["kind"] = r.kind;
      }
    }
    auto md = body->find("metadata");
    if (md != body->end()) {
      page.resourceVersion = stringAt(*md, "resourceVersion");
      page.continueToken = stringAt(*md, "continue");
    }
    return page;
  }

  Result<Json> create(const Resource& r, const std::string& ns, const Json& obj,
                      const WriteOptions& opts) override {
    const std::string effectiveNs = targetNamespace(r, ns, obj);
    const std::string what = describe("create", r, effectiveNs, nameOf(obj));
    if (r.namespaced && effectiveNs.empty()) {
      return makeError(ErrorCode::kInvalidArgument, what + ": no namespace given");
    }
    Query q;
    q.add("dryRun", opts.dryRun ? "All" : "").add("fieldManager", opts.fieldManager);
    const std::string body = serialize(obj);
    return call("POST", r.path(effectiveNs) + q.str(), &body, kJson, what);
  }

  Result<Json> update(const Resource& r, const std::string& ns, const Json& obj,
                      const WriteOptions& opts) override {
    return put(r, ns, obj, opts, "");
  }

  Result<Json> updateStatus(const Resource& r, const std::string& ns, const Json& obj,
                            const WriteOptions& opts) override {
    return put(r, ns, obj, opts, "status");
  }

  Result<Json> mergePatch(const Resource& r, const std::string& ns, const std::string& name,
                          const Json& patch, const std::string& subresource,
                          const WriteOptions& opts) override {
    const std::string what = describe("patch", r, ns, name) + suffix(subresource);
    if (Status st = checkTarget(r, ns, name, what); !st.ok()) {
      return st.error();
    }
    Query q;
    q.add("dryRun", opts.dryRun ? "All" : "").add("fieldManager", opts.fieldManager);
    const std::string body = serialize(patch);
    return call("PATCH", r.path(ns, name) + subpath(subresource) + q.str(), &body, kMergePatch,
                what);
  }

  Result<Json> apply(const Resource& r, const std::string& ns, const Json& obj,
                     const ApplyOptions& opts, const std::string& subresource) override {
    const std::string effectiveNs = targetNamespace(r, ns, obj);
    const std::string name = nameOf(obj);
    const std::string what = describe("apply", r, effectiveNs, name) + suffix(subresource);
    if (Status st = checkTarget(r, effectiveNs, name, what); !st.ok()) {
      return st.error();
    }
    if (opts.fieldManager.empty()) {
      return makeError(ErrorCode::kInvalidArgument,
                       what + ": server-side apply needs a field manager");
    }
    Json body = obj;
    if (!body.contains("apiVersion")) {
      body["apiVersion"] = r.apiVersion();
    }
    if (!body.contains("kind")) {
      body["kind"] = r.kind;
    }
    Query q;
    q.add("fieldManager", opts.fieldManager)
        .add("force", opts.force ? "true" : "")
        .add("dryRun", opts.dryRun ? "All" : "");
    // JSON is YAML, and the server takes it as such.
    const std::string text = serialize(body);
    return call("PATCH", r.path(effectiveNs, name) + subpath(subresource) + q.str(), &text,
                kApplyPatch, what);
  }

  Result<Json> remove(const Resource& r, const std::string& ns, const std::string& name,
                      const DeleteOptions& opts) override {
    const std::string what = describe("delete", r, ns, name);
    if (Status st = checkTarget(r, ns, name, what); !st.ok()) {
      return st.error();
    }
    Json options = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
    if (opts.propagation != PropagationPolicy::kDefault) {
      options["propagationPolicy"] = propagationName(opts.propagation);
    }
    if (!opts.preconditionUID.empty()) {
      options["preconditions"] = {{"uid", opts.preconditionUID}};
    }
    if (opts.gracePeriodSeconds) {
      options["gracePeriodSeconds"] = *opts.gracePeriodSeconds;
    }
    const std::string body = serialize(options);
    Result<Json> out = call("DELETE", r.path(ns, name), &body, kJson, what);
    if (!out.ok()) {
      return out;
    }
    if (stringAt(*out, "kind") == "Status") {
      return Json::object();
    }
    return out;
  }

  Result<std::unique_ptr<WatchStream>> watch(const Resource& r, const std::string& ns,
                                             const WatchOptions& opts) override {
    const std::string what = describe("watch", r, ns, "");
    Query q;
    q.add("watch", "1")
        .add("resourceVersion", opts.resourceVersion)
        .add("allowWatchBookmarks", opts.allowBookmarks ? "true" : "")
        .add("timeoutSeconds", opts.timeoutSeconds > 0 ? std::to_string(opts.timeoutSeconds) : "")
        .add("labelSelector", opts.labelSelector)
        .add("fieldSelector", opts.fieldSelector);
    // Without timeoutSeconds the server picks 30-60 minutes.
    const std::chrono::milliseconds serverTimeout = opts.timeoutSeconds > 0
                                                        ? std::chrono::seconds(opts.timeoutSeconds)
                                                        : std::chrono::seconds(3600);
    const std::chrono::milliseconds idle = serverTimeout + transport_->config().watchIdleGrace;

    Result<http::http_request> req =
        transport_->request("GET", r.path(ns) + q.str(), nullptr, nullptr, what,
                            opts.protobuf != nullptr ? kProtobufOrJson : kJson);
    if (!req.ok()) {
      return req.error();
    }
    auto cts = std::make_shared<pplx::cancellation_token_source>();
    // Until the stream is handed out, the caller's token can abandon it.
    CancelLink link(opts.cancel, *cts);
    // Only an error reply's body is limited; a watch's stream is not.
    std::shared_ptr<BodyGuard> guard = BodyGuard::install(*req, kNoBodyLimit);
    std::unique_ptr<http_client> client;
    http::http_response response;
    int status = 0;
    const std::chrono::milliseconds requestTimeout = transport_->config().requestTimeout;
    try {
      client =
          std::make_unique<http_client>(transport_->address().base, transport_->httpConfig(idle));
      // The connection's own timeout is the (long) idle timeout of the
      // stream; the response headers must come within the request timeout.
      pplx::task<http::http_response> pending = client->request(*req, cts->get_token());
      if (!finishesWithin(pending, requestTimeout)) {
        cts->cancel();
        transport_->observe("GET", 0);
        return makeError(ErrorCode::kTimeout, what + ": " + transport_->address().url +
                                                  " did not answer within " +
                                                  std::to_string(requestTimeout.count()) + "ms");
      }
      response = pending.get();
      status = response.status_code();
      observeCompletion(response);
      if (status != 200) {
        // An error reply is small: its body must come within the request
        // timeout too, not the stream's idle timeout, and is read only up to
        // kMaxErrorBodyBytes. The read runs as a task so that the timeout
        // (and a cancelled `cts`, which closes the connection) end it.
        pplx::task<std::optional<std::string>> body = pplx::create_task([response, guard]() {
          http::http_response reply = response;  // shares the same reply
          return readBody(reply, kMaxErrorBodyBytes, /*truncate=*/true, *guard);
        });
        if (!finishesWithin(body, requestTimeout)) {
          cts->cancel();
          transport_->observe("GET", status);
          return makeError(ErrorCode::kTimeout, what + ": " + transport_->address().url +
                                                    " answered HTTP " + std::to_string(status) +
                                                    " but sent no body within " +
                                                    std::to_string(requestTimeout.count()) + "ms");
        }
        std::optional<std::string> bytes = body.get();
        transport_->observe("GET", status);
        return replyError(status, response.headers().content_type(), bytes.value_or(""), what);
      }
    } catch (...) {
      transport_->observe("GET", status);
      if (opts.cancel != nullptr && opts.cancel->cancelled()) {
        return makeError(ErrorCode::kCancelled, what + ": cancelled");
      }
      return transport_->transportError(what, std::current_exception());
    }
    if (opts.cancel != nullptr && opts.cancel->cancelled()) {
      cts->cancel();
      return makeError(ErrorCode::kCancelled, what + ": cancelled");
    }
    transport_->observe("GET", status);
    std::unique_ptr<WatchBodyDecoder> decoder;
    if (opts.protobuf != nullptr && isProtobufContentType(response.headers().content_type())) {
      decoder = std::make_unique<ProtobufWatchDecoder>(opts.protobuf);
    } else {
      decoder = std::make_unique<WatchDecoder>();
    }
    return std::unique_ptr<WatchStream>(std::make_unique<RestWatchStream>(
        transport_, std::move(client), std::move(cts), std::move(guard), std::move(response), what,
        idle, *transport_->config().clock, std::move(decoder)));
  }

 private:
  static std::string subpath(const std::string& subresource) {
    return subresource.empty() ? "" : "/" + subresource;
  }
  static std::string suffix(const std::string& subresource) {
    return subresource.empty() ? "" : " (" + subresource + ")";
  }
  // A single object needs its name, and its namespace when it has one;
  // without them the URL would name a collection instead.
  static Status checkTarget(const Resource& r, const std::string& ns, const std::string& name,
                            const std::string& what) {
    if (name.empty()) {
      return makeError(ErrorCode::kInvalidArgument, what + ": no object name given");
    }
    if (r.namespaced && ns.empty()) {
      return makeError(ErrorCode::kInvalidArgument, what + ": no namespace given");
    }
    return okStatus();
  }
  static std::string targetNamespace(const Resource& r, const std::string& ns, const Json& obj) {
    if (!r.namespaced) {
      return "";
    }
    return ns.empty() ? namespaceOf(obj) : ns;
  }

  Result<Json> put(const Resource& r, const std::string& ns, const Json& obj,
                   const WriteOptions& opts, const std::string& subresource) {
    const std::string effectiveNs = targetNamespace(r, ns, obj);
    const std::string name = nameOf(obj);
    const std::string what = describe("update", r, effectiveNs, name) + suffix(subresource);
    if (Status st = checkTarget(r, effectiveNs, name, what); !st.ok()) {
      return st.error();
    }
    Query q;
    q.add("dryRun", opts.dryRun ? "All" : "").add("fieldManager", opts.fieldManager);
    const std::string body = serialize(obj);
    return call("PUT", r.path(effectiveNs, name) + subpath(subresource) + q.str(), &body, kJson,
                what);
  }

  Result<Response> send(const std::string& method, const std::string& pathAndQuery,
                        const std::string* body, const char* contentType, const std::string& what,
                        const CancelToken* cancel, const char* accept = kJson) {
    Result<http::http_request> req =
        transport_->request(method, pathAndQuery, body, contentType, what, accept);
    if (!req.ok()) {
      return req.error();
    }
    int status = 0;
    pplx::cancellation_token_source cts;
    CancelLink link(cancel, cts);
    // The limit depends on the status, not known yet: the guard holds the
    // larger one, and readBody abandons an error reply at its own.
    std::shared_ptr<BodyGuard> guard = BodyGuard::install(
        *req, std::max(transport_->config().maxResponseBytes, kMaxErrorBodyBytes));
    try {
      http::http_response response = http_->request(*req, cts.get_token()).get();
      status = response.status_code();
      observeCompletion(response);
      const bool success = status >= 200 && status <= 299;
      const size_t limit = success ? transport_->config().maxResponseBytes : kMaxErrorBodyBytes;
      std::optional<std::string> bytes = readBody(response, limit, /*truncate=*/!success, *guard);
      transport_->observe(method, status);
      if (cancel != nullptr && cancel->cancelled()) {
        return makeError(ErrorCode::kCancelled, what + ": cancelled");
      }
      if (!bytes) {
        return makeError(ErrorCode::kInternal, what + ": the server's answer is larger than " +
                                                   std::to_string(limit) + " bytes (HTTP " +
                                                   std::to_string(status) + "); abandoned");
      }
      return Response{status, std::move(*bytes), response.headers().content_type()};
    } catch (...) {
      transport_->observe(method, status);
      if (cancel != nullptr && cancel->cancelled()) {
        return makeError(ErrorCode::kCancelled, what + ": cancelled");
      }
      return transport_->transportError(what, std::current_exception());
    }
  }

  Result<Json> call(const std::string& method, const std::string& pathAndQuery,
                    const std::string* body, const char* contentType, const std::string& what,
                    const CancelToken* cancel = nullptr) {
    Result<Response> response = send(method, pathAndQuery, body, contentType, what, cancel);
    if (!response.ok()) {
      return response.error();
    }
    return jsonReply(*response, what);
  }

  static bool isSuccess(const Response& response) {
    return response.status >= 200 && response.status <= 299;
  }

  // A reply's JSON body, or the Error an error reply stands for.
  static Result<Json> jsonReply(const Response& response, const std::string& what) {
    if (!isSuccess(response)) {
      return replyError(response.status, response.contentType, response.body, what);
    }
    if (response.body.empty()) {
      return Json::object();
    }
    Json parsed = Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) {
      return makeError(ErrorCode::kInternal, what + ": the server's answer is not JSON (HTTP " +
                                                 std::to_string(response.status) + ")");
    }
    return parsed;
  }

  const std::shared_ptr<const Transport> transport_;
  const std::unique_ptr<http_client> http_;
};

}  // namespace

Status configureHttpThreads(size_t threads) {
  if (threads == 0) {
    return makeError(ErrorCode::kInvalidArgument, "the HTTP client needs at least one thread");
  }
  try {
    crossplat::threadpool::initialize_with_threads(threads);
  } catch (const std::exception& e) {
    return makeError(ErrorCode::kInternal,
                     std::string("sizing the HTTP client's thread pool: ") + e.what());
  }
  return okStatus();
}

Result<std::unique_ptr<Client>> makeRestClient(const ClientConfig& config) {
  ensureCpprestScheduler();
  if (config.server.empty()) {
    return makeError(ErrorCode::kInvalidArgument, "client config has no server URL");
  }
  if (config.clock == nullptr) {
    return makeError(ErrorCode::kInvalidArgument, "client config has no clock");
  }
  Result<ServerAddress> address = parseServer(config.server);
  if (!address.ok()) {
    return address.error();
  }
  Result<std::shared_ptr<const TlsMaterial>> tls = TlsMaterial::fromConfig(config, address->host);
  if (!tls.ok()) {
    return tls.error();
  }
  try {
    auto transport =
        std::make_shared<const Transport>(config, std::move(*address), std::move(*tls));
    return std::unique_ptr<Client>(std::make_unique<RestClient>(std::move(transport)));
  } catch (const std::exception& e) {
    return makeError(ErrorCode::kInvalidArgument,
                     "cannot create an HTTP client for " + config.server + ": " + e.what());
  }
}

}  // namespace mlops::kube
