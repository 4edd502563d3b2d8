// A tiny HTTP/1.1 server on 127.0.0.1 or ::1 (port chosen by the kernel), plain or
// TLS, for testing the REST client's wire behaviour without a control plane:
// request shape, headers, error bodies, streamed watch responses split at
// awkward places, stalls, dropped connections, certificate checks.
//
// Each connection is served on its own thread; the handler is called once per
// request and must be thread safe. Requests are recorded for assertions.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace mlops::testing {

struct HttpRequest {
  std::string method;
  std::string target;                          // path and query, as sent
  std::string path;                            // without the query
  std::map<std::string, std::string> query;    // percent-decoded
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string clientCertCommonName;  // of a verified TLS client certificate
  std::string tlsServerName;         // the SNI the client sent, or ""

  std::string header(const std::string& lowerName) const;
  std::string param(const std::string& name) const;
};

class Connection;

// How a handler answers. All writes return false once the peer is gone or
// the server is stopping.
class ResponseWriter {
 public:
  explicit ResponseWriter(Connection& conn) : conn_(conn) {}
  // A whole response with Content-Length.
  bool send(int status, const std::string& body,
            const std::string& contentType = "application/json");
  // A streamed response: chunked headers, then any number of chunks.
  bool startChunked(int status, const std::string& contentType = "application/json");
  bool chunk(const std::string& data);
  bool endChunked();
  // Sleeps up to `d`; returns false early when the server stops.
  bool wait(std::chrono::milliseconds d);
  // Drops the connection now.
  void abort();
  bool responded() const { return responded_; }
  bool aborted() const { return aborted_; }

 private:
  Connection& conn_;
  bool responded_ = false;
  bool aborted_ = false;
};

using Handler = std::function<void(const HttpRequest&, ResponseWriter&)>;

struct TlsServerOptions {
  std::string certPem;
  std::string keyPem;
  std::string clientCaPem;  // when set, client certificates are requested and verified
};

class FakeApiServer {
 public:
  // `host` is the loopback address to listen on: "127.0.0.1" or "::1".
  explicit FakeApiServer(Handler handler, std::optional<TlsServerOptions> tls = std::nullopt,
                         std::string host = "127.0.0.1");
  ~FakeApiServer();
  FakeApiServer(const FakeApiServer&) = delete;
  FakeApiServer& operator=(const FakeApiServer&) = delete;

  // "https://127.0.0.1:<port>", "https://[::1]:<port>" or "http://...".
  std::string url() const;
  int port() const { return port_; }
  std::vector<HttpRequest> requests() const;
  // Number of TCP connections accepted so far.
  int connections() const { return connectionCount_.load(); }
  // Stops accepting, closes every connection, joins all threads.
  void stop();

  struct Impl;

 private:
  void acceptLoop();
  void serve(std::shared_ptr<Connection> conn);

  Handler handler_;
  std::shared_ptr<Impl> impl_;
  int listenFd_ = -1;
  int port_ = 0;
  bool tls_ = false;
  std::string host_;
  std::atomic<int> connectionCount_{0};
  std::thread acceptThread_;
};

}  // namespace mlops::testing
