// The HTTP QueryClient, renderQuery and judge against the plane's real
// Prometheus, which scrapes the plane's test exporter every second: values
// set on the exporter come back through PromQL, hostile label values are
// matched exactly by rendered queries (the escaping proven against the real
// PromQL parser), and failures (syntax, refused, silent, too large) come back
// as the right Errors.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <cpprest/http_client.h>
#include <nlohmann/json.hpp>

#include "analysis/analysis.h"
#include "analysis/evaluate.h"
#include "prometheus/http_query_client.h"
#include "support/plane.h"

namespace mlops::prometheus {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;
using Labels = std::map<std::string, std::string>;

long long msSince(SteadyClock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start).count();
}

// PUT / DELETE /series on the plane's exporter (hack/plane/metrics_exporter.py).
class Exporter {
 public:
  explicit Exporter(const std::string& url) : client_(url) {}

  void set(const std::string& name, const Labels& labels, const Json& value) {
    send(web::http::methods::PUT, {{"name", name}, {"labels", labels}, {"value", value}});
  }
  void remove(const std::string& name, const Labels& labels) {
    send(web::http::methods::DEL, {{"name", name}, {"labels", labels}});
  }

 private:
  void send(const web::http::method& method, const Json& body) {
    try {
      web::http::http_request req(method);
      req.set_request_uri("/series");
      const std::string text = body.dump();
      req.headers().set_content_type("application/json");
      req.set_body(std::vector<unsigned char>(text.begin(), text.end()));
      web::http::http_response r = client_.request(req).get();
      const std::string reply = r.extract_utf8string(true).get();
      EXPECT_EQ(r.status_code(), 200) << method << " /series " << text << ": " << reply;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "exporter " << method << " failed: " << e.what();
    }
  }
  web::http::client::http_client client_;
};

class PrometheusIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<testing::PlaneEnv> env = testing::loadPlaneEnv();
    ASSERT_TRUE(env.ok()) << env.error().message;
    promUrl_ = env->prometheusUrl();
    ASSERT_FALSE(promUrl_.empty()) << "PROMETHEUS_URL missing from " << env->file;
    ASSERT_FALSE(env->metricsExporterUrl().empty())
        << "METRICS_EXPORTER_URL missing from " << env->file;
    exporter_ = std::make_unique<Exporter>(env->metricsExporterUrl());
    // Unique per test run: Prometheus keeps old series for a while.
    metric_ = "mlops_it_" + testing::randomSuffix(8);
  }

  void TearDown() override {
    for (const Labels& labels : setLabels_) {
      exporter_->remove(metric_, labels);
    }
  }

  void set(const Labels& labels, const Json& value) {
    exporter_->set(metric_, labels, value);
    setLabels_.push_back(labels);
  }

  std::unique_ptr<QueryClient> client(ClientOptions options = {}) {
    if (options.url.empty()) {
      options.url = promUrl_;
    }
    Result<std::unique_ptr<QueryClient>> c = makeHttpQueryClientFactory()->make(options);
    EXPECT_TRUE(c.ok()) << c.error().toString();
    return c.ok() ? std::move(*c) : nullptr;
  }

  // Queries until `done` accepts the result (the exporter is scraped every
  // second), at most `limit`; the last result either way.
  template <typename Done>
  Result<QueryResult> pollUntil(QueryClient& c, const std::string& promql, Done done,
                                std::chrono::milliseconds limit = 30s) {
    const auto start = SteadyClock::now();
    while (true) {
      Result<QueryResult> r = c.query(promql);
      if ((r.ok() && done(*r)) || SteadyClock::now() - start > limit) {
        std::printf("[timing] %s: %lld ms until scraped\n", promql.substr(0, 60).c_str(),
                    msSince(start));
        return r;
      }
      std::this_thread::sleep_for(200ms);
    }
  }

  std::string promUrl_;
  std::unique_ptr<Exporter> exporter_;
  std::string metric_;
  std::vector<Labels> setLabels_;
};

bool oneSeries(const QueryResult& r) {
  return r.type == ResultType::kVector && r.series.size() == 1;
}

TEST_F(PrometheusIntegrationTest, SetValueComesBackAndIsJudged) {
  set({{"model", "fraud"}, {"track", "canary"}}, 0.75);
  auto c = client();
  ASSERT_NE(c, nullptr);
  const std::string promql = metric_ + R"({model="fraud",track="canary"})";
  Result<QueryResult> r = pollUntil(*c, promql, oneSeries);
  ASSERT_TRUE(r.ok()) << r.error().toString();
  ASSERT_TRUE(oneSeries(*r)) << "the exporter's value never showed up in Prometheus";
  EXPECT_EQ(r->series[0].value, 0.75);
  EXPECT_EQ(r->series[0].labels.at("__name__"), metric_);
  EXPECT_EQ(r->series[0].labels.at("model"), "fraud");

  // The same through evaluateChecks: rendered, queried, judged.
  using analysis::Check;
  const std::vector<Check> checks = {
      {"in-range", metric_ + R"({model="{{model}}",track="{{track}}"})", 0.7, 0.8,
       analysis::OnNoData::kInconclusive},
      {"too-low", metric_ + R"({model="{{model}}",track="{{track}}"})", 0.9, std::nullopt,
       analysis::OnNoData::kInconclusive},
      {"absent", metric_ + R"({model="{{model}}",track="stable"})", 0.0, std::nullopt,
       analysis::OnNoData::kFail},
      {"scalar", "scalar(" + metric_ + R"({model="{{model}}"}) * 2)", 1.5, 1.5,
       analysis::OnNoData::kInconclusive},
  };
  const auto start = SteadyClock::now();
  analysis::Evaluation e =
      analysis::evaluateChecks(checks, {"fraud", "1", "ns", "canary"}, *c, "2026-01-01T00:00:00Z");
  std::printf("[timing] evaluateChecks of %d checks: %lld ms\n", e.queries, msSince(start));
  ASSERT_EQ(e.measurements.size(), 4u);
  EXPECT_EQ(e.measurements[0].verdict, analysis::Verdict::kSuccessful) << e.measurements[0].message;
  EXPECT_EQ(e.measurements[0].value, 0.75);
  EXPECT_EQ(e.measurements[1].verdict, analysis::Verdict::kFailed) << e.measurements[1].message;
  EXPECT_EQ(e.measurements[1].message, "value 0.75 is below min 0.9");
  EXPECT_EQ(e.measurements[2].verdict, analysis::Verdict::kFailed) << e.measurements[2].message;
  EXPECT_NE(e.measurements[2].message.find("no data"), std::string::npos);
  EXPECT_EQ(e.measurements[3].verdict, analysis::Verdict::kSuccessful) << e.measurements[3].message;
  EXPECT_EQ(e.verdict, analysis::Verdict::kFailed);
}

TEST_F(PrometheusIntegrationTest, NaNComesBackAsNaN) {
  set({{"model", "nan"}}, "NaN");
  auto c = client();
  ASSERT_NE(c, nullptr);
  const std::string promql = metric_ + R"({model="nan"})";
  Result<QueryResult> r = pollUntil(*c, promql, oneSeries);
  ASSERT_TRUE(r.ok()) << r.error().toString();
  ASSERT_TRUE(oneSeries(*r));
  EXPECT_TRUE(std::isnan(r->series[0].value));
  const analysis::Measurement m =
      analysis::judge({"c", promql, 0.0, 1.0, analysis::OnNoData::kPass}, promql, r, "t");
  EXPECT_EQ(m.verdict, analysis::Verdict::kInconclusive);
  EXPECT_FALSE(m.value.has_value());
}

TEST_F(PrometheusIntegrationTest, HostileLabelValuesAreMatchedExactly) {
  // Each would end the string, or the matcher, if it were not escaped; the
  // last ones try to add a second selector that matches the decoy.
  const std::vector<std::string> hostile = {
      "a\"b",
      "back\\slash\\",
      "new\nline",
      "tab\there",
      "\"} or " + std::string("vector(1)"),
      "x\"} or " + std::string("{__name__=~\".+\"") + ", a=\"",
      "\\\"} or vector(2) # \\",
      "{{model}} caf\xc3\xa9 \xf0\x9f\x9a\x80",
  };
  const std::string templ = metric_ + R"({model="{{model}}"})";
  for (std::size_t i = 0; i < hostile.size(); ++i) {
    set({{"model", hostile[i]}}, static_cast<double>(i) + 0.5);
  }
  set({{"model", "decoy"}}, 99.0);
  auto c = client();
  ASSERT_NE(c, nullptr);
  // Wait until the scrape has them all.
  Result<QueryResult> all = pollUntil(*c, "count(" + metric_ + ")", [&](const QueryResult& r) {
    return !r.series.empty() && r.series[0].value == static_cast<double>(hostile.size() + 1);
  });
  ASSERT_TRUE(all.ok()) << all.error().toString();
  for (std::size_t i = 0; i < hostile.size(); ++i) {
    SCOPED_TRACE(hostile[i]);
    analysis::Placeholders p{hostile[i], "1", "ns", "canary"};
    const std::string promql = analysis::renderQuery(templ, p);
    Result<QueryResult> r = c->query(promql);
    ASSERT_TRUE(r.ok()) << promql << ": " << r.error().toString();
    ASSERT_EQ(r->type, ResultType::kVector);
    ASSERT_EQ(r->series.size(), 1u) << promql;
    EXPECT_EQ(r->series[0].labels.at("model"), hostile[i]);
    EXPECT_EQ(r->series[0].value, static_cast<double>(i) + 0.5);
  }
}

TEST_F(PrometheusIntegrationTest, RealShapes) {
  set({{"model", "a"}}, 1.0);
  set({{"model", "b"}}, 2.0);
  auto c = client();
  ASSERT_NE(c, nullptr);
  Result<QueryResult> two =
      pollUntil(*c, metric_, [](const QueryResult& r) { return r.series.size() == 2; });
  ASSERT_TRUE(two.ok()) << two.error().toString();
  ASSERT_EQ(two->series.size(), 2u);
  const analysis::Check check{"c", "q", 0.0, 10.0, analysis::OnNoData::kPass};
  const analysis::Measurement many = analysis::judge(check, metric_, two, "t");
  EXPECT_EQ(many.verdict, analysis::Verdict::kError);
  EXPECT_NE(many.message.find("a vector of 2 series"), std::string::npos) << many.message;

  Result<QueryResult> matrix = c->query(metric_ + "[30s]");
  ASSERT_TRUE(matrix.ok()) << matrix.error().toString();
  EXPECT_EQ(matrix->type, ResultType::kMatrix);
  EXPECT_EQ(matrix->series.size(), 2u);
  EXPECT_NE(analysis::judge(check, "m", matrix, "t").message.find("matrix"), std::string::npos);

  Result<QueryResult> scalar = c->query("scalar(sum(" + metric_ + "))");
  ASSERT_TRUE(scalar.ok()) << scalar.error().toString();
  EXPECT_EQ(scalar->type, ResultType::kScalar);
  ASSERT_EQ(scalar->series.size(), 1u);
  EXPECT_EQ(scalar->series[0].value, 3.0);

  Result<QueryResult> text = c->query("\"hello \\\"world\\\"\"");
  ASSERT_TRUE(text.ok()) << text.error().toString();
  EXPECT_EQ(text->type, ResultType::kString);
  EXPECT_EQ(text->stringValue, "hello \"world\"");

  Result<QueryResult> inf = c->query("+Inf");
  ASSERT_TRUE(inf.ok()) << inf.error().toString();
  EXPECT_EQ(inf->series.at(0).value, std::numeric_limits<double>::infinity());
}

TEST_F(PrometheusIntegrationTest, SyntaxErrorIsBadData) {
  auto c = client();
  ASSERT_NE(c, nullptr);
  Result<QueryResult> r = c->query("sum(" + metric_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().reason, "bad_data");
  EXPECT_EQ(r.error().httpStatus, 400);
  EXPECT_EQ(r.error().message.rfind("bad_data: ", 0), 0u) << r.error().message;
  EXPECT_NE(r.error().message.find("parse error"), std::string::npos) << r.error().message;
  std::printf("[message] %s\n", r.error().message.c_str());
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

TEST_F(PrometheusIntegrationTest, ConnectionRefusedIsUnavailable) {
  ClientOptions o;
  o.url = "http://127.0.0.1:" + std::to_string(closedPort());
  o.bearerToken = "never-shown";
  auto c = client(o);
  ASSERT_NE(c, nullptr);
  const auto start = SteadyClock::now();
  Result<QueryResult> r = c->query("up");
  std::printf("[timing] connection refused: %lld ms\n", msSince(start));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find(o.url), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find("never-shown"), std::string::npos);
  std::printf("[message] %s\n", r.error().message.c_str());
}

TEST_F(PrometheusIntegrationTest, SilentListenerTimesOut) {
  // Listening but never accepting: the kernel completes the TCP handshake,
  // then nothing ever answers.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(fd, 16), 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ClientOptions o;
  o.url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  o.timeout = 1500ms;
  auto c = client(o);
  ASSERT_NE(c, nullptr);
  const auto start = SteadyClock::now();
  Result<QueryResult> r = c->query("up");
  const long long took = msSince(start);
  std::printf("[timing] silent listener, timeout 1500 ms: error after %lld ms\n", took);
  close(fd);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kTimeout) << r.error().toString();
  EXPECT_GE(took, 1400);
  EXPECT_LE(took, 1500 + 1000) << "the timeout plus 1 s of slack";
}

TEST_F(PrometheusIntegrationTest, TinyResponseLimit) {
  ClientOptions o;
  o.maxResponseBytes = 64;
  auto c = client(o);
  ASSERT_NE(c, nullptr);
  Result<QueryResult> r = c->query("up");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInternal);
  EXPECT_NE(r.error().message.find("response larger than 64 bytes"), std::string::npos)
      << r.error().message;
  // The same query with the default limit is fine.
  Result<QueryResult> ok = client()->query("up");
  EXPECT_TRUE(ok.ok()) << ok.error().toString();
}

}  // namespace
}  // namespace mlops::prometheus
