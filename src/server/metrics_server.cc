#include "server/metrics_server.h"

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include "server/http_server.h"

namespace mlops::server {

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(
    const std::string& bindAddress,
    const std::shared_ptr<const ::prometheus::Collectable>& metrics) {
  std::weak_ptr<const ::prometheus::Collectable> weak = metrics;
  auto http = HttpServer::start(
      bindAddress,
      [weak](const HttpRequestHead& request) -> HttpReply {
        if (request.path != "/metrics") {
          return {404, "text/plain; charset=utf-8", "not found\n"};
        }
        std::string body;
        if (auto live = weak.lock()) {
          body = ::prometheus::TextSerializer().Serialize(live->Collect());
        }
        return {200, "text/plain; version=0.0.4; charset=utf-8", std::move(body)};
      },
      "metrics");
  if (!http.ok()) {
    return http.error();
  }
  std::unique_ptr<MetricsServer> server(new MetricsServer());
  server->http_ = std::move(*http);
  server->port_ = server->http_->port();
  return server;
}

MetricsServer::~MetricsServer() = default;

}  // namespace mlops::server
