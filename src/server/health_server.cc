#include "server/health_server.h"

#include "server/http_server.h"

namespace mlops::server {

Result<std::unique_ptr<HealthServer>> HealthServer::start(const std::string& bindAddress) {
  std::unique_ptr<HealthServer> server(new HealthServer());
  HealthServer* self = server.get();
  auto http = HttpServer::start(
      bindAddress,
      [self](const HttpRequestHead& request) -> HttpReply {
        if (request.path != "/healthz" && request.path != "/readyz") {
          return {404, "text/plain; charset=utf-8", "not found\n"};
        }
        const bool verbose = request.query.find("verbose") != std::string::npos;
        auto [status, body] = self->evaluate(request.path == "/readyz", verbose);
        return {status, "text/plain; charset=utf-8", std::move(body)};
      },
      "health probes");
  if (!http.ok()) {
    return http.error();
  }
  server->http_ = std::move(*http);
  server->port_ = server->http_->port();
  return server;
}

HealthServer::~HealthServer() {
  http_.reset();
}

void HealthServer::addHealthzCheck(const std::string& name, Check check) {
  std::lock_guard lock(mu_);
  healthz_.emplace_back(name, std::move(check));
}

void HealthServer::addReadyzCheck(const std::string& name, Check check) {
  std::lock_guard lock(mu_);
  readyz_.emplace_back(name, std::move(check));
}

std::pair<int, std::string> HealthServer::evaluate(bool readiness, bool verbose) const {
  std::vector<std::pair<std::string, Check>> checks;
  {
    std::lock_guard lock(mu_);
    checks = readiness ? readyz_ : healthz_;
  }
  std::string lines;
  bool allOk = true;
  for (const auto& [name, check] : checks) {
    Status status = makeError(ErrorCode::kInternal, "check did not run");
    try {
      status = check();
    } catch (const std::exception& e) {
      status = makeError(ErrorCode::kInternal, e.what());
    } catch (...) {
      // A check must not take the probe endpoint down with it.
      status = makeError(ErrorCode::kInternal, "the check threw a non-standard exception");
    }
    if (status.ok()) {
      lines += "[+]" + name + " ok\n";
    } else {
      allOk = false;
      lines += "[-]" + name + " failed: " + status.error().message + "\n";
    }
  }
  const char* what = readiness ? "readyz" : "healthz";
  if (allOk) {
    return {200, verbose ? lines + what + " check passed\n" : "ok"};
  }
  return {503, lines + what + " check failed\n"};
}

}  // namespace mlops::server
