#include "server/health_server.h"

#include <civetweb.h>

#include <cstring>
#include <mutex>

#include "server/bind_address.h"
#include "server/stop_listener.h"

namespace mlops::server {
namespace {

void initCivetweb() {
  static std::once_flag once;
  std::call_once(once, [] { mg_init_library(0); });
}

// Silences civetweb's own stderr logging; failures reach callers as errors.
int quietLog(const mg_connection*, const char*) {
  return 1;
}

void reply(mg_connection* conn, int status, const std::string& body) {
  const char* text = status == 200 ? "OK" : status == 404 ? "Not Found" : "Service Unavailable";
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "X-Content-Type-Options: nosniff\r\n"
            "Cache-Control: no-store\r\n"
            "Content-Length: %zu\r\n"
            "Connection: close\r\n\r\n",
            status, text, body.size());
  mg_write(conn, body.data(), body.size());
}

}  // namespace

Result<std::unique_ptr<HealthServer>> HealthServer::start(const std::string& bindAddress) {
  auto ports = civetListeningPorts(bindAddress);
  if (!ports) {
    return ports.error();
  }
  if (!ports->has_value()) {
    return makeError(ErrorCode::kInvalidArgument, "health server disabled (bind address 0)");
  }
  initCivetweb();
  std::unique_ptr<HealthServer> server(new HealthServer());
  mg_callbacks callbacks;
  std::memset(&callbacks, 0, sizeof callbacks);
  callbacks.log_message = quietLog;
  const std::string listening = **ports;
  const char* options[] = {"listening_ports", listening.c_str(), "num_threads", "2", nullptr};
  mg_init_data init{};
  init.callbacks = &callbacks;
  init.user_data = server.get();
  init.configuration_options = options;
  char errorText[256] = {};
  unsigned errorCode = 0;
  mg_error_data error{};
  error.code = &errorCode;
  error.text = errorText;
  error.text_buffer_size = sizeof errorText;
  server->ctx_ = mg_start2(&init, &error);
  if (server->ctx_ == nullptr) {
    return makeError(ErrorCode::kUnavailable, "cannot serve health probes on " + bindAddress +
                                                  ": " + (errorText[0] ? errorText : "unknown"));
  }
  mg_set_request_handler(server->ctx_, "/healthz", &HealthServer::handle, server.get());
  mg_set_request_handler(server->ctx_, "/readyz", &HealthServer::handle, server.get());
  mg_server_port bound[4];
  std::memset(bound, 0, sizeof bound);
  if (mg_get_server_ports(server->ctx_, 4, bound) > 0) {
    server->port_ = bound[0].port;
  }
  return server;
}

HealthServer::~HealthServer() {
  if (ctx_ == nullptr) {
    return;
  }
  stopWithWakeups(port_, [this] { mg_stop(ctx_); });
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

int HealthServer::handle(mg_connection* conn, void* self) {
  const auto* server = static_cast<const HealthServer*>(self);
  const mg_request_info* info = mg_get_request_info(conn);
  const std::string uri = info->local_uri ? info->local_uri : "";
  if (uri != "/healthz" && uri != "/readyz") {
    reply(conn, 404, "not found\n");
    return 404;
  }
  const bool verbose =
      info->query_string != nullptr && std::strstr(info->query_string, "verbose") != nullptr;
  auto [status, body] = server->evaluate(uri == "/readyz", verbose);
  reply(conn, status, body);
  return status;
}

}  // namespace mlops::server
