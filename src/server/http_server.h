// A small HTTP/1.1 server for the operator's own endpoints (/metrics,
// /healthz, /readyz), on IPv4 or IPv6.
//
// Not a general web server: GET and HEAD only, one request per connection
// (answered with Connection: close), request heads up to 16 KiB, a 5 s
// budget per read and write, a fixed pool of worker threads and a bounded
// backlog (connections beyond it are closed at once). That is what probes
// and scrapers need, and it keeps a slow or hostile client from tying the
// process up. (civetweb, used before, is built without IPv6 on Debian.)
//
//   auto server = HttpServer::start("[::1]:0", [](const HttpRequestHead& r) {
//     return HttpReply{200, "text/plain; charset=utf-8", "ok"};
//   });
//   int port = (*server)->port();
//
// The handler runs on the worker threads and must be thread safe; what it
// throws becomes a 500.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"

namespace mlops::server {

struct HttpRequestHead {
  std::string method;  // "GET" or "HEAD"
  std::string path;    // "/readyz"
  std::string query;   // "verbose", without the '?'
};

struct HttpReply {
  int status = 200;
  std::string contentType = "text/plain; charset=utf-8";
  std::string body;
};

using HttpHandler = std::function<HttpReply(const HttpRequestHead&)>;

class HttpServer {
 public:
  // Binds and starts serving; `what` names the server in errors ("metrics").
  // Fails on a bad or disabled ("0") address or a port in use.
  static Result<std::unique_ptr<HttpServer>> start(const std::string& bindAddress,
                                                   HttpHandler handler, const std::string& what,
                                                   int workers = 2);
  ~HttpServer();  // stops serving: in-flight connections are cut
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return port_; }

 private:
  HttpServer() = default;
  void acceptLoop();
  void workerLoop();
  void serve(int fd);

  HttpHandler handler_;
  int listenFd_ = -1;
  int wakeFd_ = -1;  // eventfd: tells the accept loop to stop
  int port_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::deque<int> pending_;  // accepted, not yet served
  std::set<int> active_;     // being served
  std::thread acceptThread_;
  std::vector<std::thread> workers_;
};

}  // namespace mlops::server
