// The cpprestsdk QueryClient against an in-process fake server on loopback:
// what goes on the wire, the body bound, the deadline, TLS verification,
// IPv6 literals, and that failures come back as Errors without the token.
#include "prometheus/http_query_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "kube/system_trust.h"
#include "support/fake_api_server.h"
#include "support/test_pki.h"

namespace mlops::prometheus {
namespace {

using namespace std::chrono_literals;
using testing::FakeApiServer;
using testing::HttpRequest;
using testing::ResponseWriter;
using SteadyClock = std::chrono::steady_clock;

constexpr const char* kToken = "tok-SECRET-123";
const std::string kOneSeries = R"({"status":"success","data":{"resultType":"vector","result":[)"
                               R"({"metric":{"job":"a"},"value":[1700000000,"0.5"]}]}})";

std::unique_ptr<QueryClient> clientFor(ClientOptions options) {
  Result<std::unique_ptr<QueryClient>> c = makeHttpQueryClientFactory()->make(options);
  if (!c.ok()) {
    ADD_FAILURE() << c.error().toString();
    return nullptr;
  }
  return std::move(*c);
}

std::unique_ptr<QueryClient> clientFor(const std::string& url) {
  ClientOptions o;
  o.url = url;
  o.timeout = 5s;
  return clientFor(o);
}

// A port nobody listens on.
int closedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

void expectNoToken(const Error& e) {
  EXPECT_EQ(e.message.find(kToken), std::string::npos) << e.message;
  EXPECT_EQ(e.toString().find(kToken), std::string::npos);
}

TEST(PrometheusHttpClient, SendsTheQueryAndParsesTheReply) {
  FakeApiServer server([](const HttpRequest&, ResponseWriter& w) { w.send(200, kOneSeries); });
  ClientOptions o;
  o.url = server.url() + "/prom/";  // a path prefix, with a trailing slash
  o.bearerToken = kToken;
  auto client = clientFor(o);
  ASSERT_NE(client, nullptr);
  // Every character that needs percent-encoding, and UTF-8.
  const std::string promql =
      "sum(rate(http_requests_total{model=\"a\\\"b\",x=~\"1|2 &+%#?\"}[5m])) / 2 \xc3\xa9";
  Result<QueryResult> r = client->query(promql);
  ASSERT_TRUE(r.ok()) << r.error().toString();
  ASSERT_EQ(r->series.size(), 1u);
  EXPECT_EQ(r->series[0].value, 0.5);

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  const HttpRequest& req = requests[0];
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.path, "/prom/api/v1/query");
  EXPECT_EQ(req.param("query"), promql);
  EXPECT_EQ(req.query.size(), 1u) << "no time parameter: the server's now";
  EXPECT_EQ(req.header("authorization"), std::string("Bearer ") + kToken);
  EXPECT_EQ(req.header("accept"), "application/json");
  EXPECT_EQ(req.header("host"), "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(req.header("accept-encoding"), "");
}

TEST(PrometheusHttpClient, NoAuthorizationWithoutToken) {
  FakeApiServer server([](const HttpRequest&, ResponseWriter& w) { w.send(200, kOneSeries); });
  auto client = clientFor(server.url());
  ASSERT_TRUE(client->query("up").ok());
  EXPECT_EQ(server.requests().at(0).header("authorization"), "");
}

TEST(PrometheusHttpClient, PrometheusErrorsAndHttpErrors) {
  FakeApiServer server([](const HttpRequest& req, ResponseWriter& w) {
    if (req.param("query") == "bad(") {
      w.send(400, R"({"status":"error","errorType":"bad_data","error":"1:5: parse error"})");
    } else if (req.param("query") == "redirect") {
      w.send(302, "");
    } else {
      w.send(502, "<html>bad gateway</html>", "text/html");
    }
  });
  auto client = clientFor(server.url());
  Result<QueryResult> bad = client->query("bad(");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message, "bad_data: 1:5: parse error");
  EXPECT_EQ(bad.error().httpStatus, 400);

  Result<QueryResult> redirect = client->query("redirect");
  ASSERT_FALSE(redirect.ok());
  EXPECT_EQ(redirect.error().httpStatus, 302);
  EXPECT_EQ(server.requests().size(), 2u) << "a redirect is never followed";

  Result<QueryResult> gateway = client->query("up");
  ASSERT_FALSE(gateway.ok());
  EXPECT_EQ(gateway.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(gateway.error().message.find("HTTP 502: <html>bad gateway</html>"), std::string::npos)
      << gateway.error().message;
}

TEST(PrometheusHttpClient, BodyLargerThanTheLimitIsAbandoned) {
  const std::string big = R"({"status":"success","data":{"resultType":"string","result":[1,")" +
                          std::string(300000, 'x') + "\"]}}";
  FakeApiServer server([&big](const HttpRequest& req, ResponseWriter& w) {
    if (req.param("query") == "chunked") {
      // No Content-Length: the bound must hold while reading.
      w.startChunked(200);
      for (std::size_t off = 0; off < big.size(); off += 16384) {
        if (!w.chunk(big.substr(off, 16384))) {
          return;
        }
      }
      w.endChunked();
    } else {
      w.send(200, big);
    }
  });
  ClientOptions o;
  o.url = server.url();
  o.maxResponseBytes = 100000;
  auto client = clientFor(o);
  for (const char* mode : {"chunked", "length"}) {
    SCOPED_TRACE(mode);
    Result<QueryResult> r = client->query(mode);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kInternal);
    EXPECT_NE(r.error().message.find("response larger than 100000 bytes"), std::string::npos)
        << r.error().message;
  }
  // The same reply within a larger limit is fine.
  o.maxResponseBytes = 400000;
  auto roomy = clientFor(o);
  Result<QueryResult> r = roomy->query("chunked");
  ASSERT_TRUE(r.ok()) << r.error().toString();
  EXPECT_EQ(r->stringValue.size(), 300000u);
}

// An endless answer over the limit is ended by the client (on cpprestsdk's
// I/O thread, kube/cpprest_body_guard.h): the server sees the connection go
// soon after the limit, and the client keeps working.
TEST(PrometheusHttpClient, AnEndlessAnswerIsCutOffSoonAfterTheLimit) {
  constexpr std::size_t kBlock = std::size_t{64} * 1024;
  constexpr std::size_t kMostSent = std::size_t{64} * 1024 * 1024;
  std::mutex mu;
  std::vector<std::size_t> sentBeforeHangUp;
  FakeApiServer server([&](const HttpRequest& req, ResponseWriter& w) {
    if (req.param("query") != "endless") {
      w.send(200, kOneSeries);
      return;
    }
    const std::string block(kBlock, ' ');
    std::size_t sent = 0;
    w.startChunked(200);
    while (sent < kMostSent && w.chunk(block)) {
      sent += kBlock;
    }
    std::lock_guard lock(mu);
    sentBeforeHangUp.push_back(sent);
  });
  ClientOptions o;
  o.url = server.url();
  o.maxResponseBytes = std::size_t{1024} * 1024;
  o.timeout = 20s;  // the limit, not the deadline, must end it
  auto client = clientFor(o);
  constexpr int kTries = 5;
  for (int i = 0; i < kTries; ++i) {
    Result<QueryResult> r = client->query("endless");
    ASSERT_FALSE(r.ok()) << i;
    EXPECT_NE(r.error().message.find("response larger than 1048576 bytes"), std::string::npos)
        << r.error().message;
    EXPECT_TRUE(client->query("up").ok()) << i;
  }
  for (int waited = 0; waited < 200; ++waited) {
    {
      std::lock_guard lock(mu);
      if (sentBeforeHangUp.size() == kTries) {
        break;
      }
    }
    std::this_thread::sleep_for(50ms);
  }
  std::lock_guard lock(mu);
  ASSERT_EQ(sentBeforeHangUp.size(), std::size_t{kTries});
  for (std::size_t sent : sentBeforeHangUp) {
    // The limit, plus what the sockets' buffers on both ends hold.
    EXPECT_LT(sent, kMostSent / 2) << "the client kept reading past its limit";
  }
}

TEST(PrometheusHttpClient, DeadlineCoversTheWholeAnswer) {
  FakeApiServer server([](const HttpRequest& req, ResponseWriter& w) {
    if (req.param("query") == "silent") {
      w.wait(10s);  // no headers at all
      return;
    }
    // Headers at once, then a byte every 100 ms: each read makes progress,
    // so only an overall deadline ends it.
    w.startChunked(200);
    for (int i = 0; i < 100; ++i) {
      if (!w.chunk(" ") || !w.wait(100ms)) {
        return;
      }
    }
    w.chunk(kOneSeries);
    w.endChunked();
  });
  ClientOptions o;
  o.url = server.url();
  o.timeout = 600ms;
  auto client = clientFor(o);
  for (const char* mode : {"silent", "dribble"}) {
    SCOPED_TRACE(mode);
    const auto start = SteadyClock::now();
    Result<QueryResult> r = client->query(mode);
    const auto took = SteadyClock::now() - start;
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kTimeout) << r.error().toString();
    EXPECT_NE(r.error().message.find("did not answer within 600ms"), std::string::npos)
        << r.error().message;
    EXPECT_GE(took, 550ms);
    EXPECT_LT(took, 2500ms);
  }
  server.stop();
}

TEST(PrometheusHttpClient, ManyConcurrentQueriesWithSlowBodies) {
  // More queries at once than cpprestsdk has pool threads (40), each body
  // arriving in two parts: reading a body must not hold a pool thread while
  // it waits, or the bytes could never be delivered. A stuck query would end
  // in its timeout, an error; no wall-clock bound (sanitizer builds are slow).
  FakeApiServer server([](const HttpRequest&, ResponseWriter& w) {
    w.startChunked(200);
    w.chunk(kOneSeries.substr(0, 20));
    w.wait(300ms);
    w.chunk(kOneSeries.substr(20));
    w.endChunked();
  });
  ClientOptions o;
  o.url = server.url();
  o.timeout = 10s;
  auto client = clientFor(o);
  constexpr int kQueries = 64;
  std::vector<std::thread> threads;
  std::atomic<int> succeeded{0};
  for (int i = 0; i < kQueries; ++i) {
    threads.emplace_back([&client, &succeeded] {
      Result<QueryResult> r = client->query("up");
      if (r.ok() && r->series.size() == 1) {
        ++succeeded;
      } else if (!r.ok()) {
        ADD_FAILURE() << r.error().toString();
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  EXPECT_EQ(succeeded.load(), kQueries);
}

TEST(PrometheusHttpClient, ConnectionRefusedIsUnavailable) {
  ClientOptions o;
  o.url = "http://127.0.0.1:" + std::to_string(closedPort());
  o.bearerToken = kToken;
  auto client = clientFor(o);
  Result<QueryResult> r = client->query("up");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find(o.url), std::string::npos) << r.error().message;
  expectNoToken(r.error());
}

TEST(PrometheusHttpClient, DroppedConnectionIsUnavailable) {
  FakeApiServer server([](const HttpRequest&, ResponseWriter& w) { w.abort(); });
  auto client = clientFor(server.url());
  Result<QueryResult> r = client->query("up");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable) << r.error().toString();
}

TEST(PrometheusHttpClient, FactoryRefusesUnusableOptions) {
  struct Case {
    const char* name;
    ClientOptions options;
    const char* expectInMessage;
  };
  const auto with = [](const std::string& url, auto tweak) {
    ClientOptions o;
    o.url = url;
    tweak(o);
    return o;
  };
  const auto none = [](ClientOptions&) {};
  const Case cases[] = {
      {"empty", with("", none), "is empty"},
      {"scheme", with("ftp://prom", none), "must start with http:// or https://"},
      {"no scheme", with("prom:9090", none), "must start with http"},
      {"credentials", with("https://user:hunter2@prom.example", none),
       "must not contain credentials"},
      {"query", with("http://prom.example/?x=1", none), "must not have a query"},
      {"timeout", with("http://prom.example", [](ClientOptions& o) { o.timeout = 0ms; }),
       "timeout must be positive"},
      {"limit", with("http://prom.example", [](ClientOptions& o) { o.maxResponseBytes = 0; }),
       "maxResponseBytes"},
      {"token", with("http://prom.example", [](ClientOptions& o) { o.bearerToken = "a\r\nX: y"; }),
       "control characters"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Result<std::unique_ptr<QueryClient>> r = makeHttpQueryClientFactory()->make(c.options);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find(c.expectInMessage), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().message.find("hunter2"), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().message.find("X: y"), std::string::npos) << r.error().message;
  }
}

// ---------------------------------------------------------------------------
// TLS.

struct Pki {
  testing::KeyPair ca = testing::makeCa("prom-ca");
  testing::KeyPair forIp =
      testing::makeLeaf(ca, {.commonName = "prom", .ipAddresses = {"127.0.0.1"}});
  testing::KeyPair forName =
      testing::makeLeaf(ca, {.commonName = "x", .dnsNames = {"example.com"}});
  testing::KeyPair forIpv6 = testing::makeLeaf(ca, {.commonName = "prom", .ipAddresses = {"::1"}});
};
const Pki& pki() {
  static const Pki p;
  return p;
}

void okHandler(const HttpRequest&, ResponseWriter& w) {
  w.send(200, kOneSeries);
}

// ClientOptions has no CA: Prometheus certificates are checked against the
// system store. OpenSSL's default store honours SSL_CERT_FILE, which lets a
// test trust its own CA without touching the machine.
class TrustTestCa {
 public:
  TrustTestCa() {
    char tmpl[] = "/tmp/prom-ca-XXXXXX";
    const int fd = mkstemp(tmpl);
    path_ = tmpl;
    close(fd);
    std::ofstream(path_) << pki().ca.certPem;
    setenv("SSL_CERT_FILE", path_.c_str(), 1);
  }
  ~TrustTestCa() {
    unsetenv("SSL_CERT_FILE");
    std::remove(path_.c_str());
  }
  TrustTestCa(const TrustTestCa&) = delete;
  TrustTestCa& operator=(const TrustTestCa&) = delete;

 private:
  std::string path_;
};

TEST(PrometheusHttpTls, VerifiesTheCertificateByDefault) {
  FakeApiServer server(okHandler,
                       testing::TlsServerOptions{pki().forIp.certPem, pki().forIp.keyPem, ""});
  ASSERT_EQ(server.url().rfind("https://", 0), 0u);
  // Our CA is not in the system store: refused.
  Result<QueryResult> untrusted = clientFor(server.url())->query("up");
  ASSERT_FALSE(untrusted.ok());
  EXPECT_EQ(untrusted.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(untrusted.error().message.find("TLS handshake failed: certificate verification failed: "
                                           "unable to get local issuer certificate"),
            std::string::npos)
      << untrusted.error().message;

  // insecureSkipVerify: accepted.
  ClientOptions o;
  o.url = server.url();
  o.insecureSkipVerify = true;
  Result<QueryResult> insecure = clientFor(o)->query("up");
  EXPECT_TRUE(insecure.ok()) << insecure.error().toString();
}

TEST(PrometheusHttpTls, TrustedCaAndMatchingAddressPass) {
  TrustTestCa trust;
  FakeApiServer good(okHandler,
                     testing::TlsServerOptions{pki().forIp.certPem, pki().forIp.keyPem, ""});
  Result<QueryResult> ok = clientFor(good.url())->query("up");
  ASSERT_TRUE(ok.ok()) << ok.error().toString();
  EXPECT_EQ(good.requests().at(0).tlsServerName, "") << "an IP address is never sent as SNI";

  // Same CA, but the certificate names another host: the name check is on.
  FakeApiServer wrongName(
      okHandler, testing::TlsServerOptions{pki().forName.certPem, pki().forName.keyPem, ""});
  Result<QueryResult> refused = clientFor(wrongName.url())->query("up");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(refused.error().message.find("IP address mismatch"), std::string::npos)
      << refused.error().message;

  // A DNS name is checked (and sent as SNI): "localhost" is not in the
  // certificate for 127.0.0.1.
  const std::string byName = "https://localhost:" + std::to_string(good.port());
  Result<QueryResult> named = clientFor(byName)->query("up");
  ASSERT_FALSE(named.ok());
  EXPECT_NE(named.error().message.find("hostname mismatch"), std::string::npos)
      << named.error().message;
  EXPECT_EQ(good.requests().size(), 1u);
}

// The system's anchors loaded once (kube/system_trust.h, as main does):
// cpprestsdk's per-connection default load then reads nothing, and a server
// signed by a system-trusted CA still verifies, through the shared store.
// Runs in a child process (installing changes the process's environment); the
// servers are destroyed before the child exits, so their threads are joined.
int verifyThroughSharedSystemTrust() {
  TrustTestCa trust;
  kube::installSharedSystemTrust();
  SSL_CTX* fresh = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_default_verify_paths(fresh);
  const int loaded = sk_X509_OBJECT_num(X509_STORE_get0_objects(SSL_CTX_get_cert_store(fresh)));
  SSL_CTX_free(fresh);
  if (loaded != 0) {
    std::fprintf(stderr, "a default load after install read %d objects\n", loaded);
    return 1;
  }
  FakeApiServer good(okHandler,
                     testing::TlsServerOptions{pki().forIp.certPem, pki().forIp.keyPem, ""});
  Result<QueryResult> ok = clientFor(good.url())->query("up");
  if (!ok.ok()) {
    std::fprintf(stderr, "trusted server refused: %s\n", ok.error().toString().c_str());
    return 1;
  }
  FakeApiServer wrongName(
      okHandler, testing::TlsServerOptions{pki().forName.certPem, pki().forName.keyPem, ""});
  if (clientFor(wrongName.url())->query("up").ok()) {
    std::fprintf(stderr, "a certificate for another name was accepted\n");
    return 1;
  }
  std::fprintf(stderr, "verified through the shared store\n");
  return 0;
}

TEST(PrometheusHttpTls, SharedSystemTrustIsLoadedOnceAndStillVerifies) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(std::exit(verifyThroughSharedSystemTrust()), ::testing::ExitedWithCode(0),
              "verified through the shared store");
}

// ---------------------------------------------------------------------------
// IPv6.

bool haveIpv6Loopback() {
  const int fd = socket(AF_INET6, SOCK_STREAM, 0);
  if (fd < 0) {
    return false;
  }
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_addr = in6addr_loopback;
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

TEST(PrometheusHttpClient, ReachesAnIpv6Literal) {
  // As in the kube client's tests: CI machines have ::1, its absence is a
  // failure to look at.
  ASSERT_TRUE(haveIpv6Loopback()) << "this machine has no IPv6 loopback (::1) to test on";
  FakeApiServer plain(okHandler, std::nullopt, "::1");
  ASSERT_EQ(plain.url().rfind("http://[::1]:", 0), 0u) << plain.url();
  Result<QueryResult> r = clientFor(plain.url())->query("up");
  ASSERT_TRUE(r.ok()) << r.error().toString();
  EXPECT_EQ(plain.requests().at(0).header("host"), "[::1]:" + std::to_string(plain.port()));

  TrustTestCa trust;
  FakeApiServer tls(
      okHandler, testing::TlsServerOptions{pki().forIpv6.certPem, pki().forIpv6.keyPem, ""}, "::1");
  Result<QueryResult> secure = clientFor(tls.url())->query("up");
  ASSERT_TRUE(secure.ok()) << secure.error().toString();
}

}  // namespace
}  // namespace mlops::prometheus
