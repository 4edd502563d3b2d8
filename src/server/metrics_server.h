// Serves a Prometheus registry on /metrics (the text format, rendered by
// prometheus-cpp) over the small HttpServer, on IPv4 or IPv6.
//
//   auto server = MetricsServer::start(":8080", metrics.registry());
//   int port = (*server)->port();
//
// The registry is held by weak reference (as prometheus-cpp's Exposer does):
// keep it alive while the server runs.
#pragma once

#include <memory>
#include <string>

#include "core/result.h"

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace mlops::server {

class HttpServer;

class MetricsServer {
 public:
  static Result<std::unique_ptr<MetricsServer>> start(
      const std::string& bindAddress, const std::shared_ptr<::prometheus::Registry>& registry);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  int port() const { return port_; }

 private:
  MetricsServer() = default;
  std::unique_ptr<HttpServer> http_;
  int port_ = 0;
};

}  // namespace mlops::server
