// Serves a Prometheus collectable (a registry, or the RuntimeMetrics that
// adds scrape-time collectables to one) on /metrics (the text format,
// rendered by prometheus-cpp) over the small HttpServer, on IPv4 or IPv6.
//
//   auto server = MetricsServer::start(":8080", runtimeMetrics);
//   int port = (*server)->port();
//
// The collectable is held by weak reference (as prometheus-cpp's Exposer
// holds registries): keep it alive while the server runs.
#pragma once

#include <memory>
#include <string>

#include "core/result.h"

namespace prometheus {
class Collectable;
}  // namespace prometheus

namespace mlops::server {

class HttpServer;

class MetricsServer {
 public:
  static Result<std::unique_ptr<MetricsServer>> start(
      const std::string& bindAddress,
      const std::shared_ptr<const ::prometheus::Collectable>& metrics);
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
