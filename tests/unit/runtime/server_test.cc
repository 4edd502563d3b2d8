// Tests of src/server (kept with the runtime tests, which own the HTTP test
// helper): bind addresses, health probes and the metrics endpoint, on
// 127.0.0.1 with free ports.
#include <gtest/gtest.h>

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

TEST(BindAddressTest, TranslatesFlagSyntaxToCivetweb) {
  EXPECT_EQ(**civetListeningPorts(":8080"), "8080");
  EXPECT_EQ(**civetListeningPorts("0.0.0.0:8081"), "8081");
  EXPECT_EQ(**civetListeningPorts("127.0.0.1:0"), "127.0.0.1:0");
  EXPECT_EQ(**civetListeningPorts("localhost:9000"), "127.0.0.1:9000");
  EXPECT_EQ(**civetListeningPorts("[::1]:8080"), "[::1]:8080");
  EXPECT_FALSE(civetListeningPorts("0")->has_value());
  for (const char* bad : {"8080", ":http", ":70000", "example.com:80", "1.2.3:80", "[zz]:1", ""}) {
    EXPECT_FALSE(civetListeningPorts(bad).ok()) << bad;
  }
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
