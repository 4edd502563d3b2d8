// Tests of src/server (kept with the runtime tests, which own the HTTP test
// helper): bind addresses, health probes and the metrics endpoint, on
// 127.0.0.1 and ::1 with free ports.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include "server/bind_address.h"
#include "server/health_server.h"
#include "server/metrics_server.h"
#include "test_util.h"

namespace mlops::server {
namespace {

using runtime::testing::httpGet;

TEST(BindAddressTest, ParsesFlagSyntax) {
  auto any = **parseBindAddress(":8080");
  EXPECT_EQ(any.host, "");
  EXPECT_EQ(any.port, 8080);
  EXPECT_TRUE(any.ipv6);  // dual stack, as Go's ":8080"
  auto v4any = **parseBindAddress("0.0.0.0:8081");
  EXPECT_EQ(v4any.host, "");
  EXPECT_FALSE(v4any.ipv6);
  EXPECT_EQ((**parseBindAddress("127.0.0.1:0")).host, "127.0.0.1");
  EXPECT_EQ((**parseBindAddress("localhost:9000")).host, "127.0.0.1");
  auto v6 = **parseBindAddress("[::1]:8080");
  EXPECT_EQ(v6.host, "::1");
  EXPECT_TRUE(v6.ipv6);
  EXPECT_EQ((**parseBindAddress("[::]:1")).host, "");
  EXPECT_FALSE(parseBindAddress("0")->has_value());
  for (const char* bad :
       {"8080", ":http", ":70000", "example.com:80", "1.2.3:80", "[zz]:1", "[::1:80", ""}) {
    EXPECT_FALSE(parseBindAddress(bad).ok()) << bad;
  }
}

// GET over IPv6 loopback: the status code, or -1.
int httpGetV6(int port, const std::string& path) {
  int fd = socket(AF_INET6, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_port = htons(static_cast<uint16_t>(port));
  addr.sin6_addr = in6addr_loopback;
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: [::1]\r\n\r\n";
  send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string response;
  char buf[4096];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof buf, 0)) > 0) response.append(buf, static_cast<size_t>(n));
  close(fd);
  return response.size() >= 12 ? std::stoi(response.substr(9, 3)) : -1;
}

// The machine must have ::1: CI runs on this machine kind, so its absence is
// a failure to look at, not a reason to skip.
TEST(HealthServerTest, ServesOnIpv6LoopbackAndDualStack) {
  auto v6 = HealthServer::start("[::1]:0");
  ASSERT_TRUE(v6.ok()) << v6.error().toString();
  ASSERT_GT((*v6)->port(), 0);
  EXPECT_EQ(httpGetV6((*v6)->port(), "/healthz"), 200);
  EXPECT_EQ(httpGet((*v6)->port(), "/healthz").first, -1) << "bound to ::1 only";

  auto registry = std::make_shared<prometheus::Registry>();
  auto metrics = MetricsServer::start("[::1]:0", registry);
  ASSERT_TRUE(metrics.ok()) << metrics.error().toString();
  EXPECT_EQ(httpGetV6((*metrics)->port(), "/metrics"), 200);

  // ":0" is every interface, IPv6 and IPv4.
  auto both = HealthServer::start(":0");
  ASSERT_TRUE(both.ok()) << both.error().toString();
  EXPECT_EQ(httpGetV6((*both)->port(), "/healthz"), 200);
  EXPECT_EQ(httpGet((*both)->port(), "/healthz").first, 200);
}

TEST(HealthServerTest, OnlyGetAndHeadAndBoundedHeads) {
  auto server = HealthServer::start("127.0.0.1:0");
  ASSERT_TRUE(server.ok());
  const auto raw = [&](const std::string& request) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>((*server)->port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string response;
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      send(fd, request.data(), request.size(), MSG_NOSIGNAL);
      char buf[4096];
      ssize_t n;
      while ((n = recv(fd, buf, sizeof buf, 0)) > 0) response.append(buf, static_cast<size_t>(n));
    }
    close(fd);
    return response;
  };
  EXPECT_EQ(raw("POST /healthz HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 405", 0), 0u);
  const std::string head = raw("HEAD /healthz HTTP/1.1\r\n\r\n");
  EXPECT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << head;
  EXPECT_TRUE(head.ends_with("\r\n\r\n")) << "HEAD has no body: " << head;
  EXPECT_EQ(raw("nonsense\r\n\r\n").rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_EQ(raw("GET /" + std::string(20000, 'a')).rfind("HTTP/1.1 431", 0), 0u);
}

TEST(HealthServerTest, ServesHealthzAndReadyzOnAFreePort) {
  auto server = HealthServer::start("127.0.0.1:0");
  ASSERT_TRUE(server.ok()) << server.error().toString();
  HealthServer& s = **server;
  ASSERT_GT(s.port(), 0);
  std::atomic<bool> synced{false};
  s.addHealthzCheck("ping", [] { return okStatus(); });
  s.addReadyzCheck("informers", [&]() -> Status {
    if (synced) return okStatus();
    return makeError(ErrorCode::kUnavailable, "caches not synced: configmaps");
  });

  auto [hz, hzBody] = httpGet(s.port(), "/healthz");
  EXPECT_EQ(hz, 200);
  EXPECT_EQ(hzBody, "ok");
  auto [rz, rzBody] = httpGet(s.port(), "/readyz");
  EXPECT_EQ(rz, 503);
  EXPECT_NE(rzBody.find("[-]informers failed: caches not synced: configmaps"), std::string::npos)
      << rzBody;
  synced = true;
  auto [rz2, rz2Body] = httpGet(s.port(), "/readyz");
  EXPECT_EQ(rz2, 200);
  EXPECT_EQ(rz2Body, "ok");
  auto [verbose, verboseBody] = httpGet(s.port(), "/readyz?verbose");
  EXPECT_EQ(verbose, 200);
  EXPECT_NE(verboseBody.find("[+]informers ok"), std::string::npos);
  EXPECT_EQ(httpGet(s.port(), "/other").first, 404);
}

TEST(HealthServerTest, ThrowingCheckFails) {
  auto server = HealthServer::start("127.0.0.1:0");
  ASSERT_TRUE(server.ok());
  (*server)->addReadyzCheck("bad", []() -> Status { throw std::runtime_error("oops"); });
  auto [status, body] = (*server)->evaluate(true, false);
  EXPECT_EQ(status, 503);
  EXPECT_NE(body.find("oops"), std::string::npos);
  // Not even a non-standard exception escapes.
  (*server)->addReadyzCheck("worse", []() -> Status { throw 42; });
  auto [status2, body2] = (*server)->evaluate(true, false);
  EXPECT_EQ(status2, 503);
  EXPECT_NE(body2.find("[-]worse failed"), std::string::npos) << body2;
}

TEST(HealthServerTest, PortInUseIsAnError) {
  auto first = HealthServer::start("127.0.0.1:0");
  ASSERT_TRUE(first.ok());
  auto second = HealthServer::start("127.0.0.1:" + std::to_string((*first)->port()));
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find("cannot serve health probes"), std::string::npos);
}

TEST(MetricsServerTest, ServesTheRegistry) {
  auto registry = std::make_shared<prometheus::Registry>();
  prometheus::BuildCounter()
      .Name("test_things_total")
      .Help("things")
      .Register(*registry)
      .Add({})
      .Increment(3);
  auto server = MetricsServer::start("127.0.0.1:0", registry);
  ASSERT_TRUE(server.ok()) << server.error().toString();
  ASSERT_GT((*server)->port(), 0);
  auto [status, body] = httpGet((*server)->port(), "/metrics");
  EXPECT_EQ(status, 200);
  EXPECT_NE(body.find("test_things_total 3"), std::string::npos) << body;
}

TEST(MetricsServerTest, BadAddressIsAnError) {
  auto registry = std::make_shared<prometheus::Registry>();
  EXPECT_FALSE(MetricsServer::start("nonsense", registry).ok());
}

}  // namespace
}  // namespace mlops::server
