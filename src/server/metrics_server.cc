#include "server/metrics_server.h"

#include <prometheus/exposer.h>
#include <prometheus/registry.h>

#include "server/bind_address.h"
#include "server/stop_listener.h"

namespace mlops::server {

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(
    const std::string& bindAddress, const std::shared_ptr<prometheus::Registry>& registry) {
  auto ports = civetListeningPorts(bindAddress);
  if (!ports) {
    return ports.error();
  }
  if (!ports->has_value()) {
    return makeError(ErrorCode::kInvalidArgument, "metrics server disabled (bind address 0)");
  }
  std::unique_ptr<MetricsServer> server(new MetricsServer());
  try {
    // Exposer takes civetweb options; two threads are plenty for scrapes.
    server->exposer_ = std::make_unique<prometheus::Exposer>(
        std::vector<std::string>{"listening_ports", **ports, "num_threads", "2"});
  } catch (const std::exception& e) {
    return makeError(ErrorCode::kUnavailable,
                     "cannot serve metrics on " + bindAddress + ": " + e.what());
  }
  server->exposer_->RegisterCollectable(registry);
  const auto bound = server->exposer_->GetListeningPorts();
  server->port_ = bound.empty() ? 0 : bound.front();
  return server;
}

MetricsServer::~MetricsServer() {
  stopWithWakeups(port_, [this] { exposer_.reset(); });
}

}  // namespace mlops::server
