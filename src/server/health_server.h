// /healthz and /readyz over the small HttpServer (IPv4 or IPv6).
//
// Each endpoint runs its named checks on every request: 200 "ok" when all
// pass; 503 with one line per check ("[+]name ok" / "[-]name failed: reason")
// when any fails. `?verbose` lists the checks on success too. The manager
// adds a readyz check that passes only once every informer has synced.
//
//   auto server = HealthServer::start("127.0.0.1:0");
//   (*server)->addReadyzCheck("informers", [&] { return cachesSynced(); });
//   int port = (*server)->port();   // the port actually bound
//
// Checks may be added at any time from any thread; they run on the server's
// threads and must be quick and thread safe.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"

namespace mlops::server {

class HttpServer;

using Check = std::function<Status()>;

class HealthServer {
 public:
  // Binds and starts serving; fails on a bad address or a port in use.
  static Result<std::unique_ptr<HealthServer>> start(const std::string& bindAddress);
  ~HealthServer();  // stops serving
  HealthServer(const HealthServer&) = delete;
  HealthServer& operator=(const HealthServer&) = delete;

  void addHealthzCheck(const std::string& name, Check check);
  void addReadyzCheck(const std::string& name, Check check);
  int port() const { return port_; }

  // Runs the checks of an endpoint: (HTTP status, body). Exposed for tests.
  std::pair<int, std::string> evaluate(bool readiness, bool verbose) const;

 private:
  HealthServer() = default;

  std::unique_ptr<HttpServer> http_;  // stopped first: it calls evaluate()
  int port_ = 0;
  mutable std::mutex mu_;
  std::vector<std::pair<std::string, Check>> healthz_;
  std::vector<std::pair<std::string, Check>> readyz_;
};

}  // namespace mlops::server
