// The REST client against a fake API server on 127.0.0.1: what goes on the
// wire, how answers and failures come back, watch streaming, TLS.
#include "kube/rest_client.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "fake_clock.h"
#include "kube/utf8.h"
#include "support/fake_api_server.h"
#include "support/test_pki.h"

namespace mlops::kube {
namespace {

using namespace std::chrono_literals;
using testing::FakeApiServer;
using testing::HttpRequest;
using testing::ResponseWriter;
using SteadyClock = std::chrono::steady_clock;

const char* kNotFoundStatus =
    R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
    R"("message":"configmaps \"x\" not found","reason":"NotFound","code":404})";

std::string event(const std::string& type, const std::string& name, int rv) {
  return Json{{"type", type},
              {"object",
               {{"kind", "ConfigMap"},
                {"apiVersion", "v1"},
                {"metadata", {{"name", name}, {"resourceVersion", std::to_string(rv)}}}}}}
             .dump() +
         "\n";
}

std::unique_ptr<Client> clientFor(const std::string& url,
                                  std::function<void(ClientConfig&)> tweak = nullptr) {
  ClientConfig cfg;
  cfg.server = url;
  cfg.source = "test";
  cfg.token = staticTokenSource("tok-123");
  if (tweak) tweak(cfg);
  Result<std::unique_ptr<Client>> c = makeRestClient(cfg);
  if (!c.ok()) {
    ADD_FAILURE() << c.error().toString();
    return nullptr;
  }
  return std::move(*c);
}

// A port nobody listens on.
int closedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// ---------------------------------------------------------------------------
// Requests.

TEST(RestClientTest, GetSendsHeadersAndReturnsObject) {
  FakeApiServer server([](const HttpRequest& req, ResponseWriter& w) {
    if (req.path == "/api/v1/namespaces/ns/configmaps/cfg") {
      w.send(200, R"({"kind":"ConfigMap","metadata":{"name":"cfg"},"data":{"a":"b"}})");
    }
  });
  auto client = clientFor(server.url(), [](ClientConfig& c) { c.userAgent = "ua-test/1"; });
  Result<Json> obj = client->get(resources::kConfigMaps, "ns", "cfg");
  ASSERT_TRUE(obj.ok()) << obj.error().toString();
  EXPECT_EQ((*obj)["data"]["a"], "b");
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "GET");
  EXPECT_EQ(reqs[0].header("authorization"), "Bearer tok-123");
  EXPECT_EQ(reqs[0].header("user-agent"), "ua-test/1");
  EXPECT_EQ(reqs[0].header("accept"), "application/json");
}

TEST(RestClientTest, NoAuthorizationHeaderWithoutToken) {
  FakeApiServer server([](const HttpRequest&, ResponseWriter& w) { w.send(200, "{}"); });
  auto client = clientFor(server.url(), [](ClientConfig& c) { c.token = nullptr; });
  ASSERT_TRUE(client->get(resources::kPods, "a", "b").ok());
  EXPECT_EQ(server.requests()[0].headers.count("authorization"), 0u);
}

TEST(RestClientTest, HttpErrorsKeepServerReasonAndMessage) {
  FakeApiServer server([](const HttpRequest&, ResponseWriter& w) { w.send(404, kNotFoundStatus); });
  auto client = clientFor(server.url());
  Result<Json> obj = client->get(resources::kConfigMaps, "ns", "x");
  ASSERT_FALSE(obj.ok());
  EXPECT_EQ(obj.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(obj.error().reason, "NotFound");
  EXPECT_EQ(obj.error().httpStatus, 404);
  EXPECT_EQ(obj.error().message, "get configmaps ns/x: configmaps \"x\" not found");
}

TEST(RestClientTest, ListBuildsQueryAndFillsKinds) {
  FakeApiServer server([](const HttpRequest&, ResponseWriter& w) {
    w.send(200,
           R"({"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"77",)"
           R"("continue":"tok=="},"items":[{"metadata":{"name":"a"}},{"metadata":{"name":"b"}}]})");
  });
  auto client = clientFor(server.url());
  ListOptions opts;
  opts.labelSelector = "app in (a,b),tier!=db";
  opts.fieldSelector = "metadata.name=a";
  opts.limit = 2;
  opts.continueToken = "abc/+=";
  Result<ListPage> page = client->list(resources::kConfigMaps, "ns", opts);
  ASSERT_TRUE(page.ok()) << page.error().toString();
  EXPECT_EQ(page->resourceVersion, "77");
  EXPECT_EQ(page->continueToken, "tok==");
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[1]["kind"], "ConfigMap");
  EXPECT_EQ(page->items[1]["apiVersion"], "v1");
  HttpRequest req = server.requests()[0];
  EXPECT_EQ(req.path, "/api/v1/namespaces/ns/configmaps");
  EXPECT_EQ(req.param("labelSelector"), "app in (a,b),tier!=db");
  EXPECT_EQ(req.param("fieldSelector"), "metadata.name=a");
  EXPECT_EQ(req.param("limit"), "2");
  EXPECT_EQ(req.param("continue"), "abc/+=");
  EXPECT_EQ(req.query.count("resourceVersion"), 0u);
}

TEST(RestClientTest, ListWithNullItems) {
  FakeApiServer server([](const HttpRequest&, ResponseWriter& w) {
    w.send(200, R"({"kind":"PodList","metadata":{"resourceVersion":"5"},"items":null})");
  });
  auto client = clientFor(server.url());
  Result<ListPage> page = client->list(resources::kPods, "", {});
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->items.empty());
  EXPECT_EQ(server.requests()[0].path, "/api/v1/pods");
}

TEST(RestClientTest, WritesHaveTheRightShape) {
  FakeApiServer server([](const HttpRequest& req, ResponseWriter& w) {
    if (req.method == "DELETE") {
      w.send(200, R"({"kind":"Status","status":"Success"})");
    } else {
      w.send(req.method == "POST" ? 201 : 200, req.body.empty() ? "{}" : req.body);
    }
  });
  auto client = clientFor(server.url());
  Json cm = {{"apiVersion", "v1"},
             {"kind", "ConfigMap"},
             {"metadata", {{"name", "c"}, {"namespace", "from-obj"}, {"resourceVersion", "9"}}}};

  WriteOptions dry;
  dry.dryRun = true;
  dry.fieldManager = "mgr";
  ASSERT_TRUE(client->create(resources::kConfigMaps, "", cm, dry).ok());
  ASSERT_TRUE(client->update(resources::kConfigMaps, "ns", cm).ok());
  ASSERT_TRUE(client->updateStatus(resources::kTrainingRuns, "ns", cm).ok());
  ASSERT_TRUE(
      client->mergePatch(resources::kModelVersions, "ns", "mv", {{"status", {{"a", 1}}}}, "status")
          .ok());
  ApplyOptions apply;
  apply.fieldManager = "mlops-operator";
  apply.force = true;
  Json bare = {{"metadata", {{"name", "dep"}}}, {"spec", {{"replicas", 2}}}};
  ASSERT_TRUE(client->apply(resources::kDeployments, "ns", bare, apply).ok());
  DeleteOptions del;
  del.propagation = PropagationPolicy::kForeground;
  del.preconditionUID = "uid-1";
  del.gracePeriodSeconds = 0;
  Result<Json> removed = client->remove(resources::kJobs, "ns", "job", del);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, Json::object());  // a Status body becomes {}

  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 6u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].path, "/api/v1/namespaces/from-obj/configmaps");
  EXPECT_EQ(reqs[0].param("dryRun"), "All");
  EXPECT_EQ(reqs[0].param("fieldManager"), "mgr");
  EXPECT_EQ(reqs[0].header("content-type"), "application/json");
  EXPECT_EQ(Json::parse(reqs[0].body), cm);

  EXPECT_EQ(reqs[1].method, "PUT");
  EXPECT_EQ(reqs[1].path, "/api/v1/namespaces/ns/configmaps/c");
  EXPECT_EQ(reqs[1].query.count("dryRun"), 0u);

  EXPECT_EQ(reqs[2].method, "PUT");
  EXPECT_EQ(reqs[2].path, "/apis/mlops.dev/v1alpha1/namespaces/ns/trainingruns/c/status");

  EXPECT_EQ(reqs[3].method, "PATCH");
  EXPECT_EQ(reqs[3].path, "/apis/mlops.dev/v1alpha1/namespaces/ns/modelversions/mv/status");
  EXPECT_EQ(reqs[3].header("content-type"), "application/merge-patch+json");
  EXPECT_EQ(Json::parse(reqs[3].body)["status"]["a"], 1);

  EXPECT_EQ(reqs[4].method, "PATCH");
  EXPECT_EQ(reqs[4].path, "/apis/apps/v1/namespaces/ns/deployments/dep");
  EXPECT_EQ(reqs[4].header("content-type"), "application/apply-patch+yaml");
  EXPECT_EQ(reqs[4].param("fieldManager"), "mlops-operator");
  EXPECT_EQ(reqs[4].param("force"), "true");
  Json applied = Json::parse(reqs[4].body);
  EXPECT_EQ(applied["apiVersion"], "apps/v1");
  EXPECT_EQ(applied["kind"], "Deployment");
  EXPECT_EQ(applied["spec"]["replicas"], 2);

  EXPECT_EQ(reqs[5].method, "DELETE");
  EXPECT_EQ(reqs[5].path, "/apis/batch/v1/namespaces/ns/jobs/job");
  Json delBody = Json::parse(reqs[5].body);
  EXPECT_EQ(delBody["propagationPolicy"], "Foreground");
  EXPECT_EQ(delBody["preconditions"]["uid"], "uid-1");
  EXPECT_EQ(delBody["gracePeriodSeconds"], 0);
}

TEST(RestClientTest, BadArgumentsAreRejectedLocally) {
  FakeApiServer server([](const HttpRequest&, ResponseWriter& w) { w.send(200, "{}"); });
  auto client = clientFor(server.url());
  EXPECT_EQ(client->get(resources::kPods, "ns", "").error().code, ErrorCode::kInvalidArgument);
  Result<Json> noNs = client->get(resources::kPods, "", "p");
  ASSERT_FALSE(noNs.ok());
  EXPECT_EQ(noNs.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(noNs.error().message.find("no namespace"), std::string::npos);
  EXPECT_EQ(client->remove(resources::kPods, "", "p").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(client->create(resources::kPods, "", Json::object()).error().code,
            ErrorCode::kInvalidArgument);  // no namespace anywhere
  EXPECT_EQ(client->apply(resources::kPods, "ns", {{"metadata", {{"name", "p"}}}}, {}).error().code,
            ErrorCode::kInvalidArgument);  // no field manager
  EXPECT_EQ(client->update(resources::kPods, "ns", Json::object()).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_TRUE(server.requests().empty());
  // Cluster-scoped objects need no namespace.
  EXPECT_TRUE(client->get(resources::kNamespaces, "", "team").ok());
  EXPECT_EQ(server.requests().at(0).path, "/api/v1/namespaces/team");
}

TEST(RestClientTest, NonJsonSuccessIsAnError) {
  FakeApiServer server(
      [](const HttpRequest&, ResponseWriter& w) { w.send(200, "<html>hi</html>", "text/html"); });
  auto client = clientFor(server.url());
  Result<Json> r = client->get(resources::kPods, "a", "b");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInternal);
  EXPECT_NE(r.error().message.find("not JSON"), std::string::npos);
}

TEST(RestClientTest, MetricsHookSeesEveryResponse) {
  FakeApiServer server([](const HttpRequest& req, ResponseWriter& w) {
    if (req.method == "GET")
      w.send(200, "{}");
    else
      w.send(409, R"({"kind":"Status","reason":"AlreadyExists","code":409})");
  });
  std::mutex mu;
  std::vector<std::pair<std::string, int>> seen;
  auto hook = [&](const std::string& method, int code) {
    std::lock_guard<std::mutex> lock(mu);
    seen.emplace_back(method, code);
  };
  auto client = clientFor(server.url(), [&](ClientConfig& c) { c.onResponse = hook; });
  (void)client->get(resources::kPods, "a", "b");
  Result<Json> created = client->create(resources::kPods, "a", {{"metadata", {{"name", "b"}}}});
  EXPECT_EQ(created.error().code, ErrorCode::kAlreadyExists);
  auto dead = clientFor("http://127.0.0.1:" + std::to_string(closedPort()),
                        [&](ClientConfig& c) { c.onResponse = hook; });
  (void)dead->get(resources::kPods, "a", "b");
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], std::make_pair(std::string("GET"), 200));
  EXPECT_EQ(seen[1], std::make_pair(std::string("POST"), 409));
  EXPECT_EQ(seen[2], std::make_pair(std::string("GET"), 0));
}

TEST(RestClientTest, ThrowingMetricsHookIsHarmless) {
  FakeApiServer server([](const HttpRequest&, ResponseWriter& w) { w.send(200, "{}"); });
  auto client = clientFor(server.url(), [](ClientConfig& c) {
    c.onResponse = [](const std::string&, int) { throw std::runtime_error("boom"); };
  });
  EXPECT_TRUE(client->get(resources::kPods, "a", "b").ok());
}

TEST(RestClientTest, ConnectionRefusedIsUnavailableAndQuick) {
  const std::string url = "http://127.0.0.1:" + std::to_string(closedPort());
  auto client = clientFor(url);
  auto start = SteadyClock::now();
  Result<Json> r = client->get(resources::kPods, "a", "b");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable) << r.error().toString();
  EXPECT_NE(r.error().message.find(url), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("get pods a/b"), std::string::npos);
  EXPECT_TRUE(r.error().transient());
  EXPECT_LT(SteadyClock::now() - start, 2s);
}

TEST(RestClientTest, SlowServerTimesOut) {
  FakeApiServer server([](const HttpRequest&, ResponseWriter& w) {
    w.wait(5s);
    w.send(200, "{}");
  });
  auto client = clientFor(server.url(), [](ClientConfig& c) { c.requestTimeout = 300ms; });
  auto start = SteadyClock::now();
  Result<Json> r = client->get(resources::kPods, "a", "b");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kTimeout) << r.error().toString();
  EXPECT_LT(SteadyClock::now() - start, 3s);
  server.stop();
}

TEST(RestClientTest, TokenSourceErrorStopsTheRequest) {
  class Broken final : public TokenSource {
   public:
    Result<std::string> token() override {
      return makeError(ErrorCode::kInvalidArgument, "bearer token file /x: cannot read");
    }
  };
  FakeApiServer server([](const HttpRequest&, ResponseWriter& w) { w.send(200, "{}"); });
  auto client =
      clientFor(server.url(), [](ClientConfig& c) { c.token = std::make_shared<Broken>(); });
  Result<Json> r = client->get(resources::kPods, "a", "b");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("bearer token file /x"), std::string::npos);
  EXPECT_TRUE(server.requests().empty());
}

TEST(RestClientTest, TokenIsAskedForEachRequest) {
  class Counting final : public TokenSource {
   public:
    Result<std::string> token() override { return "t" + std::to_string(++n); }
    std::atomic<int> n{0};
  };
  auto source = std::make_shared<Counting>();
  FakeApiServer server([](const HttpRequest&, ResponseWriter& w) { w.send(200, "{}"); });
  auto client = clientFor(server.url(), [&](ClientConfig& c) { c.token = source; });
  (void)client->get(resources::kPods, "a", "b");
  (void)client->get(resources::kPods, "a", "b");
  auto reqs = server.requests();
  EXPECT_EQ(reqs[0].header("authorization"), "Bearer t1");
  EXPECT_EQ(reqs[1].header("authorization"), "Bearer t2");
}

TEST(RestClientTest, BadConfigIsRejected) {
  ClientConfig cfg;
  EXPECT_EQ(makeRestClient(cfg).error().code, ErrorCode::kInvalidArgument);
  cfg.server = "ftp://x";
  EXPECT_EQ(makeRestClient(cfg).error().code, ErrorCode::kInvalidArgument);
  cfg.server = "https://127.0.0.1:6443";
  cfg.caPem = "not pem";
  EXPECT_EQ(makeRestClient(cfg).error().code, ErrorCode::kInvalidArgument);
}

TEST(RestClientTest, ConcurrentRequests) {
  FakeApiServer server([](const HttpRequest& req, ResponseWriter& w) {
    w.send(200, Json{{"path", req.path}}.dump());
  });
  auto client = clientFor(server.url());
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        std::string name = "p" + std::to_string(t) + "-" + std::to_string(i);
        Result<Json> r = client->get(resources::kPods, "ns", name);
        if (r.ok() && (*r)["path"] == "/api/v1/namespaces/ns/pods/" + name) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 160);
}

// ---------------------------------------------------------------------------
// Watches.

TEST(RestWatchTest, QueryAndEventsAsTheyArrive) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  FakeApiServer server([&](const HttpRequest&, ResponseWriter& w) {
    w.startChunked(200);
    w.chunk(event("ADDED", "a", 10));
    // Hold the stream open: the client must hand out the first event now,
    // not when the body ends.
    released.wait_for(5s);
    w.chunk(event("MODIFIED", "a", 11));
    w.endChunked();
  });
  auto client = clientFor(server.url());
  WatchOptions opts;
  opts.resourceVersion = "9";
  opts.timeoutSeconds = 42;
  opts.labelSelector = "app=x";
  Result<std::unique_ptr<WatchStream>> stream = client->watch(resources::kConfigMaps, "ns", opts);
  ASSERT_TRUE(stream.ok()) << stream.error().toString();
  auto start = SteadyClock::now();
  auto first = (*stream)->next();
  EXPECT_LT(SteadyClock::now() - start, 2s);
  ASSERT_TRUE(first.ok()) << first.error().toString();
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ((*first)->type, WatchEventType::kAdded);
  release.set_value();
  auto second = (*stream)->next();
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_EQ((*second)->object["metadata"]["resourceVersion"], "11");
  auto end = (*stream)->next();
  ASSERT_TRUE(end.ok()) << end.error().toString();
  EXPECT_FALSE(end->has_value());  // the server closed the watch

  HttpRequest req = server.requests()[0];
  EXPECT_EQ(req.path, "/api/v1/namespaces/ns/configmaps");
  EXPECT_EQ(req.param("watch"), "1");
  EXPECT_EQ(req.param("resourceVersion"), "9");
  EXPECT_EQ(req.param("allowWatchBookmarks"), "true");
  EXPECT_EQ(req.param("timeoutSeconds"), "42");
  EXPECT_EQ(req.param("labelSelector"), "app=x");
  EXPECT_EQ(req.header("authorization"), "Bearer tok-123");
}

TEST(RestWatchTest, EventsSplitAcrossChunksAndManyPerChunk) {
  std::string all;
  for (int i = 0; i < 30; ++i) all += event(i % 2 ? "MODIFIED" : "ADDED", "n", 100 + i);
  all += event("BOOKMARK", "", 500);
  FakeApiServer server([&](const HttpRequest&, ResponseWriter& w) {
    w.startChunked(200);
    // Odd piece sizes: 1, 7, 13, ... bytes, with small pauses.
    size_t off = 0;
    for (size_t size = 1; off < all.size(); size += 6) {
      w.chunk(all.substr(off, size));
      off += size;
      if (size % 5 == 0) w.wait(2ms);
    }
    w.endChunked();
  });
  auto client = clientFor(server.url());
  auto stream = client->watch(resources::kConfigMaps, "ns", {});
  ASSERT_TRUE(stream.ok()) << stream.error().toString();
  std::vector<WatchEvent> events;
  while (true) {
    auto e = (*stream)->next();
    ASSERT_TRUE(e.ok()) << e.error().toString();
    if (!e->has_value()) break;
    events.push_back(std::move(**e));
  }
  ASSERT_EQ(events.size(), 31u);
  for (int i = 0; i < 30; ++i) {
    EXPECT_EQ(events[i].object["metadata"]["resourceVersion"], std::to_string(100 + i));
  }
  EXPECT_EQ(events[30].type, WatchEventType::kBookmark);
}

TEST(RestWatchTest, ExpiredErrorEventIsGone) {
  FakeApiServer server([](const HttpRequest&, ResponseWriter& w) {
    w.startChunked(200);
    w.chunk(R"({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure",)"
            R"j("message":"too old resource version: 1 (50)","reason":"Expired","code":410}})j"
            "\n");
    w.endChunked();
  });
  auto client = clientFor(server.url());
  auto stream = client->watch(resources::kConfigMaps, "ns", {});
  ASSERT_TRUE(stream.ok());
  auto e = (*stream)->next();
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, ErrorCode::kGone);
  EXPECT_NE(e.error().message.find("too old resource version"), std::string::npos);
}

TEST(RestWatchTest, HttpErrorsOnWatchStart) {
  FakeApiServer server([](const HttpRequest& req, ResponseWriter& w) {
    if (req.param("resourceVersion") == "1") {
      w.send(
          410,
          R"({"kind":"Status","status":"Failure","message":"too old","reason":"Expired","code":410})");
    } else {
      w.send(
          403,
          R"({"kind":"Status","status":"Failure","message":"configmaps is forbidden","reason":"Forbidden","code":403})");
    }
  });
  auto client = clientFor(server.url());
  WatchOptions old;
  old.resourceVersion = "1";
  auto gone = client->watch(resources::kConfigMaps, "ns", old);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, ErrorCode::kGone);
  auto forbidden = client->watch(resources::kConfigMaps, "ns", {});
  ASSERT_FALSE(forbidden.ok());
  EXPECT_EQ(forbidden.error().code, ErrorCode::kForbidden);
  EXPECT_NE(forbidden.error().message.find("configmaps is forbidden"), std::string::npos);
}

TEST(RestWatchTest, GarbageLineIsAnErrorThenTheStreamGoesOn) {
  FakeApiServer server([](const HttpRequest&, ResponseWriter& w) {
    w.startChunked(200);
    w.chunk("<<garbage>>\n" + event("ADDED", "a", 1));
    w.endChunked();
  });
  auto client = clientFor(server.url());
  auto stream = client->watch(resources::kConfigMaps, "ns", {});
  ASSERT_TRUE(stream.ok());
  auto bad = (*stream)->next();
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInternal);
  auto good = (*stream)->next();
  ASSERT_TRUE(good.ok() && good->has_value());
  EXPECT_EQ((*good)->type, WatchEventType::kAdded);
}

TEST(RestWatchTest, CancelFromAnotherThreadUnblocksNext) {
  FakeApiServer server([](const HttpRequest&, ResponseWriter& w) {
    w.startChunked(200);
    w.wait(30s);  // silent
  });
  auto client = clientFor(server.url());
  auto stream = client->watch(resources::kConfigMaps, "ns", {});
  ASSERT_TRUE(stream.ok());
  WatchStream* s = stream->get();
  std::thread canceller([s] {
    std::this_thread::sleep_for(200ms);
    s->cancel();
  });
  auto start = SteadyClock::now();
  auto e = s->next();
  auto took = SteadyClock::now() - start;
  canceller.join();
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, ErrorCode::kCancelled);
  EXPECT_LT(took, 1500ms);
  stream->reset();  // destroying it must not hang either
  server.stop();
}

// A stream cancelled while events keep arriving: the read that finishes as
// the cancel comes must not start another on a connection being closed
// (cpprest_body_guard.h). Under ThreadSanitizer in CI.
TEST(RestWatchTest, CancelWhileEventsArriveEndsTheStream) {
  FakeApiServer server([](const HttpRequest&, ResponseWriter& w) {
    w.startChunked(200);
    for (int i = 0; i < 100000; ++i) {
      if (!w.chunk(event("ADDED", "cm-" + std::to_string(i), i + 1))) {
        return;
      }
    }
    w.endChunked();
  });
  auto client = clientFor(server.url());
  for (int round = 0; round < 10; ++round) {
    auto stream = client->watch(resources::kConfigMaps, "ns", {});
    ASSERT_TRUE(stream.ok()) << stream.error().toString();
    WatchStream* s = stream->get();
    for (int i = 0; i < 50 * (round + 1); ++i) {
      auto e = s->next();
      ASSERT_TRUE(e.ok() && e->has_value()) << round << " " << i;
    }
    s->cancel();
    Result<std::optional<WatchEvent>> after = s->next();
    ASSERT_FALSE(after.ok());
    EXPECT_EQ(after.error().code, ErrorCode::kCancelled);
  }
}

// The idle timeout runs on the configured clock: a fake one here, moved by
// the test, so the test neither waits for the timeout nor depends on how
// fast the machine is. The server's timeoutSeconds is long (60 s), so the
// connection's own real-time timeout (60 s + grace) never fires during the
// test: whatever ends the stream is the idle check on the fake clock.
constexpr std::chrono::seconds kWatchSeconds{60};
constexpr std::chrono::seconds kIdleGrace{30};
constexpr std::chrono::seconds kIdleTimeout = kWatchSeconds + kIdleGrace;

// next() on another thread, for a test that moves the fake clock while it
// waits. If next() still waits when this goes away (a failed assertion),
// the stream is cancelled, so a failure never leaves the test blocked.
class AsyncNext {
 public:
  explicit AsyncNext(WatchStream& stream)
      : stream_(stream),
        result_(std::async(std::launch::async, [&stream] { return stream.next(); })) {}
  AsyncNext(const AsyncNext&) = delete;
  AsyncNext& operator=(const AsyncNext&) = delete;
  ~AsyncNext() {
    if (result_.valid() && waiting()) stream_.cancel();
  }

  bool waiting() const { return result_.wait_for(0s) == std::future_status::timeout; }

  // What next() returned, waiting for it up to 10 s of real time.
  Result<std::optional<WatchEvent>> get() {
    if (result_.wait_for(10s) != std::future_status::ready) {
      ADD_FAILURE() << "next() did not return within 10 s of real time";
      stream_.cancel();
    }
    return result_.get();
  }

 private:
  WatchStream& stream_;
  std::future<Result<std::optional<WatchEvent>>> result_;
};

TEST(RestWatchTest, IdleStreamTimesOut) {
  FakeApiServer server([](const HttpRequest&, ResponseWriter& w) {
    w.startChunked(200);
    w.chunk(event("ADDED", "a", 1));
    w.wait(30s);  // then nothing, and the server "forgets" its timeout
  });
  runtime::testing::FakeClock clock;
  auto client = clientFor(server.url(), [&](ClientConfig& c) {
    c.watchIdleGrace = kIdleGrace;
    c.clock = &clock;
  });
  WatchOptions opts;
  opts.timeoutSeconds = kWatchSeconds.count();
  auto stream = client->watch(resources::kConfigMaps, "ns", opts);
  ASSERT_TRUE(stream.ok());
  ASSERT_TRUE((*stream)->next().ok());

  AsyncNext pending(**stream);
  ASSERT_TRUE(clock.settle(1)) << "next() is not waiting for bytes on the clock";
  // 1 ms short of the idle timeout: next() saw that time (settled: asleep
  // again after the advance) and still waits.
  clock.advance(kIdleTimeout - 1ms);
  ASSERT_TRUE(clock.settle(1)) << "next() gave up before the idle timeout";
  EXPECT_TRUE(pending.waiting());
  clock.advance(1ms);
  auto e = pending.get();
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, ErrorCode::kTimeout) << e.error().toString();
  EXPECT_NE(e.error().message.find("no data from " + server.url() + " for 90s"), std::string::npos)
      << e.error().message;
  server.stop();
}

// A consumer busy elsewhere for longer than the idle timeout (here: the fake
// clock moves on while nobody calls next()) must not get a timeout: idle
// time counts only while next() waits for bytes. The second event is sent
// only once next() waits for it, so what it waits on is the network, and
// a timeout counted from before the busy spell would end the stream at once.
TEST(RestWatchTest, SlowConsumerIsNotMistakenForAnIdleServer) {
  std::promise<void> sendSecond;
  std::shared_future<void> secondReleased = sendSecond.get_future().share();
  FakeApiServer server([&](const HttpRequest&, ResponseWriter& w) {
    w.startChunked(200);
    w.chunk(event("ADDED", "a", 1));
    secondReleased.wait_for(5s);
    w.chunk(event("ADDED", "b", 2));
    w.wait(30s);
  });
  runtime::testing::FakeClock clock;
  auto client = clientFor(server.url(), [&](ClientConfig& c) {
    c.watchIdleGrace = kIdleGrace;
    c.clock = &clock;
  });
  WatchOptions opts;
  opts.timeoutSeconds = kWatchSeconds.count();
  auto stream = client->watch(resources::kConfigMaps, "ns", opts);
  ASSERT_TRUE(stream.ok());
  ASSERT_TRUE((*stream)->next().ok());
  clock.advance(2 * kIdleTimeout);  // the consumer was busy elsewhere

  AsyncNext second(**stream);
  ASSERT_TRUE(clock.settle(1)) << "next() did not wait for the second event";
  sendSecond.set_value();
  auto b = second.get();
  ASSERT_TRUE(b.ok()) << b.error().toString();
  ASSERT_TRUE(b->has_value());
  EXPECT_EQ((*b)->object["metadata"]["name"], "b");

  // Then the server goes silent: the idle timeout applies from this wait.
  AsyncNext third(**stream);
  ASSERT_TRUE(clock.settle(1));
  clock.advance(kIdleTimeout);
  auto e = third.get();
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, ErrorCode::kTimeout) << e.error().toString();
  server.stop();
}

TEST(RestWatchTest, NoResponseHeadersTimesOutAtTheRequestTimeout) {
  FakeApiServer server([](const HttpRequest&, ResponseWriter& w) { w.wait(30s); });
  auto client = clientFor(server.url(), [](ClientConfig& c) { c.requestTimeout = 300ms; });
  WatchOptions opts;
  opts.timeoutSeconds = 600;  // the stream's idle timeout must not apply here
  auto start = SteadyClock::now();
  auto s = client->watch(resources::kConfigMaps, "ns", opts);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kTimeout) << s.error().toString();
  EXPECT_LT(SteadyClock::now() - start, 2s);
  server.stop();
}

TEST(RestWatchTest, DroppedConnectionIsUnavailable) {
  FakeApiServer server([](const HttpRequest&, ResponseWriter& w) {
    w.startChunked(200);
    w.chunk(event("ADDED", "a", 1));
    w.wait(100ms);
    w.abort();  // no terminating chunk: the server died
  });
  auto client = clientFor(server.url());
  auto stream = client->watch(resources::kConfigMaps, "ns", {});
  ASSERT_TRUE(stream.ok());
  ASSERT_TRUE((*stream)->next().ok());
  auto e = (*stream)->next();
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, ErrorCode::kUnavailable) << e.error().toString();
}

TEST(RestWatchTest, WatchesDoNotStarveRequests) {
  std::atomic<bool> done{false};
  FakeApiServer server([&](const HttpRequest& req, ResponseWriter& w) {
    if (req.param("watch") == "1") {
      w.startChunked(200);
      while (!done && w.wait(20ms)) {
      }
      w.endChunked();
    } else {
      w.send(200, "{}");
    }
  });
  auto client = clientFor(server.url());
  std::vector<std::unique_ptr<WatchStream>> watches;
  for (int i = 0; i < 6; ++i) {
    auto s = client->watch(resources::kConfigMaps, "ns", {});
    ASSERT_TRUE(s.ok()) << s.error().toString();
    watches.push_back(std::move(*s));
  }
  for (int i = 0; i < 10; ++i) {
    auto start = SteadyClock::now();
    ASSERT_TRUE(client->get(resources::kPods, "ns", "p").ok());
    EXPECT_LT(SteadyClock::now() - start, 1s);
  }
  EXPECT_GE(server.connections(), 7);  // one per watch, plus the request pool
  done = true;
  watches.clear();
}

TEST(RestWatchTest, ConnectionRefusedOnWatch) {
  auto client = clientFor("http://127.0.0.1:" + std::to_string(closedPort()));
  auto s = client->watch(resources::kConfigMaps, "ns", {});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);
}

// ---------------------------------------------------------------------------
// TLS.

struct TlsFixture {
  testing::KeyPair ca = testing::makeCa("kube-ca");
  testing::KeyPair otherCa = testing::makeCa("other-ca");
  testing::KeyPair serverForIp = testing::makeLeaf(
      ca,
      {.commonName = "kube-apiserver", .dnsNames = {"kubernetes"}, .ipAddresses = {"127.0.0.1"}});
  testing::KeyPair serverForName =
      testing::makeLeaf(ca, {.commonName = "elsewhere", .dnsNames = {"example.com"}});
  testing::KeyPair client = testing::makeLeaf(
      ca, {.commonName = "admin", .organizations = {"system:masters"}, .server = false});
};
const TlsFixture& tls() {
  static const TlsFixture f;
  return f;
}

void okHandler(const HttpRequest& req, ResponseWriter& w) {
  if (req.param("watch") == "1") {
    w.startChunked(200);
    w.chunk(event("ADDED", "a", 1));
    w.endChunked();
    return;
  }
  w.send(200, Json{{"cn", req.clientCertCommonName}}.dump());
}

TEST(RestTlsTest, VerifiesServerCertificateForIp) {
  FakeApiServer server(okHandler, testing::TlsServerOptions{tls().serverForIp.certPem,
                                                            tls().serverForIp.keyPem, ""});
  auto client = clientFor(server.url(), [](ClientConfig& c) { c.caPem = tls().ca.certPem; });
  Result<Json> r = client->get(resources::kPods, "a", "b");
  ASSERT_TRUE(r.ok()) << r.error().toString();
  auto stream = client->watch(resources::kPods, "a", {});
  ASSERT_TRUE(stream.ok()) << stream.error().toString();
  auto e = (*stream)->next();
  ASSERT_TRUE(e.ok() && e->has_value());
}

TEST(RestTlsTest, WrongHostIsRejected) {
  FakeApiServer server(okHandler, testing::TlsServerOptions{tls().serverForName.certPem,
                                                            tls().serverForName.keyPem, ""});
  auto client = clientFor(server.url(), [](ClientConfig& c) { c.caPem = tls().ca.certPem; });
  Result<Json> r = client->get(resources::kPods, "a", "b");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("not valid for 127.0.0.1"), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find(server.url()), std::string::npos);
}

TEST(RestTlsTest, UnknownAuthorityIsRejected) {
  FakeApiServer server(okHandler, testing::TlsServerOptions{tls().serverForIp.certPem,
                                                            tls().serverForIp.keyPem, ""});
  auto wrongCa = clientFor(server.url(), [](ClientConfig& c) {
    c.caPem = tls().otherCa.certPem;
    c.source = "kubeconfig /tmp/k (context x)";
  });
  Result<Json> r = wrongCa->get(resources::kPods, "a", "b");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("unknown authority"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("kubeconfig /tmp/k"), std::string::npos);
  auto stream = wrongCa->watch(resources::kPods, "a", {});
  ASSERT_FALSE(stream.ok());
  EXPECT_NE(stream.error().message.find("unknown authority"), std::string::npos);

  // No CA configured: the system store does not know our test CA either.
  auto systemStore = clientFor(server.url());
  EXPECT_FALSE(systemStore->get(resources::kPods, "a", "b").ok());
}

TEST(RestTlsTest, InsecureSkipVerifyOnlyWhenAsked) {
  FakeApiServer server(okHandler, testing::TlsServerOptions{tls().serverForName.certPem,
                                                            tls().serverForName.keyPem, ""});
  auto client = clientFor(server.url(), [](ClientConfig& c) { c.insecureSkipTlsVerify = true; });
  Result<Json> r = client->get(resources::kPods, "a", "b");
  EXPECT_TRUE(r.ok()) << r.error().toString();
}

TEST(RestTlsTest, ClientCertificateFromMemory) {
  FakeApiServer server(
      okHandler, testing::TlsServerOptions{tls().serverForIp.certPem, tls().serverForIp.keyPem,
                                           tls().ca.certPem});
  auto client = clientFor(server.url(), [](ClientConfig& c) {
    c.caPem = tls().ca.certPem;
    c.clientCertPem = tls().client.certPem;
    c.clientKeyPem = tls().client.keyPem;
    c.token = nullptr;
  });
  Result<Json> r = client->get(resources::kPods, "a", "b");
  ASSERT_TRUE(r.ok()) << r.error().toString();
  EXPECT_EQ((*r)["cn"], "admin");
}

TEST(RestTlsTest, ServerDemandingAClientCertificate) {
  FakeApiServer server(
      okHandler, testing::TlsServerOptions{tls().serverForIp.certPem, tls().serverForIp.keyPem,
                                           tls().ca.certPem});
  // Our fake asks for a certificate but does not insist; with none we get
  // in, anonymously.
  auto client = clientFor(server.url(), [](ClientConfig& c) { c.caPem = tls().ca.certPem; });
  Result<Json> r = client->get(resources::kPods, "a", "b");
  ASSERT_TRUE(r.ok()) << r.error().toString();
  EXPECT_EQ((*r)["cn"], "");
}

// ---------------------------------------------------------------------------
// No exception crosses the client (client.h: errors are values).

// "café" cut inside the "é", as a trainer's localized message cut at a byte
// limit would be.
const std::string kCutText = "caf\xC3";

TEST(RestClientNeverThrowsTest, InvalidUtf8InWrittenObjectsIsReplaced) {
  FakeApiServer server([](const HttpRequest& req, ResponseWriter& w) { w.send(200, req.body); });
  auto client = clientFor(server.url());
  const Json obj = {{"apiVersion", "v1"},
                    {"kind", "ConfigMap"},
                    {"metadata", {{"name", "cfg"}, {"namespace", "ns"}, {"resourceVersion", "1"}}},
                    {"data", {{"message", kCutText}, {"k" + kCutText, "v"}}}};
  std::vector<Result<Json>> results;
  results.push_back(client->create(resources::kConfigMaps, "ns", obj));
  results.push_back(client->update(resources::kConfigMaps, "ns", obj));
  results.push_back(client->updateStatus(resources::kConfigMaps, "ns", obj));
  results.push_back(client->mergePatch(resources::kConfigMaps, "ns", "cfg", obj));
  results.push_back(client->apply(resources::kConfigMaps, "ns", obj, {.fieldManager = "t"}));
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.error().toString();
    EXPECT_EQ((*r)["data"]["message"], "caf\uFFFD");
  }
  for (const HttpRequest& req : server.requests()) {
    EXPECT_TRUE(isValidUtf8(req.body)) << req.method;
    EXPECT_NE(req.body.find("caf\uFFFD"), std::string::npos) << req.body;
  }
  EXPECT_EQ(server.requests().size(), 5u);
}

TEST(RestClientNeverThrowsTest, HostileRepliesAreErrorsOrIgnoredFields) {
  FakeApiServer server([](const HttpRequest& req, ResponseWriter& w) {
    if (req.path.ends_with("/numbers")) {
      w.send(200, R"({"kind":"ConfigMap","data":{"x":1e400}})");
    } else if (req.path.ends_with("/bytes")) {
      w.send(200, "{\"kind\":\"ConfigMap\",\"data\":{\"x\":\"\xff\xfe\"}}");
    } else if (req.path.ends_with("/array")) {
      w.send(200, "[1,2,3]");
    } else if (req.method == "DELETE") {
      w.send(200, R"({"kind":5,"metadata":{"name":7}})");
    } else if (req.path.ends_with("/configmaps")) {
      // A list whose metadata fields have the wrong types.
      w.send(200, R"({"items":[{"metadata":{"name":"a"}},7,null],)"
                  R"("metadata":{"resourceVersion":5,"continue":["x"]}})");
    }
  });
  auto client = clientFor(server.url());
  for (const char* name : {"numbers", "bytes"}) {
    Result<Json> r = client->get(resources::kConfigMaps, "ns", name);
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_EQ(r.error().code, ErrorCode::kInternal);
    EXPECT_NE(r.error().message.find("not JSON"), std::string::npos) << r.error().message;
  }
  EXPECT_TRUE(client->get(resources::kConfigMaps, "ns", "array").ok());
  Result<ListPage> page = client->list(resources::kConfigMaps, "ns");
  ASSERT_TRUE(page.ok()) << page.error().toString();
  EXPECT_EQ(page->resourceVersion, "");
  EXPECT_EQ(page->continueToken, "");
  EXPECT_EQ(page->items.size(), 3u);
  EXPECT_TRUE(client->remove(resources::kConfigMaps, "ns", "gone").ok());
}

TEST(RestClientNeverThrowsTest, ErrorBodiesBecomeValidUtf8Messages) {
  // 299 ASCII bytes then "é" (2 bytes): the 300-byte cut falls inside it.
  const std::string body = std::string(299, 'x') + "\xC3\xA9 and \xff more";
  FakeApiServer server([&](const HttpRequest&, ResponseWriter& w) { w.send(500, body); });
  auto client = clientFor(server.url());
  Result<Json> r = client->get(resources::kConfigMaps, "ns", "x");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(isValidUtf8(r.error().message)) << r.error().message;
  EXPECT_NE(r.error().message.find(std::string(299, 'x') + "..."), std::string::npos);
  // The message goes into JSON (a status condition) without trouble.
  EXPECT_NO_THROW(Json({{"message", r.error().message}}).dump());
}

TEST(RestClientNeverThrowsTest, HugeBodiesAreAbandoned) {
  const std::string huge(8 * 1024 * 1024, ' ');  // 8 MiB of JSON whitespace
  FakeApiServer server([&](const HttpRequest& req, ResponseWriter& w) {
    if (req.path.ends_with("/chunked")) {
      // No Content-Length: the limit must hold while reading.
      w.startChunked(200);
      for (size_t off = 0; off < huge.size(); off += 256 * 1024) {
        if (!w.chunk(huge.substr(off, 256 * 1024))) return;
      }
      w.chunk("{}");
      w.endChunked();
      return;
    }
    w.send(req.path.ends_with("/error") ? 500 : 200, huge + "{}");
  });
  auto client = clientFor(server.url(), [](ClientConfig& c) { c.maxResponseBytes = 1024 * 1024; });
  for (const char* name : {"plain", "chunked"}) {
    Result<Json> r = client->get(resources::kConfigMaps, "ns", name);
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_EQ(r.error().code, ErrorCode::kInternal) << r.error().toString();
    EXPECT_NE(r.error().message.find("larger than 1048576 bytes"), std::string::npos)
        << r.error().message;
  }
  // An error reply is cut, not refused: its status still counts.
  Result<Json> e = client->get(resources::kConfigMaps, "ns", "error");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().httpStatus, 500);
  EXPECT_EQ(e.error().code, ErrorCode::kUnavailable);
  // And the client still works afterwards.
  FakeApiServer small([](const HttpRequest&, ResponseWriter& w) { w.send(200, "{}"); });
  auto again = clientFor(small.url(), [](ClientConfig& c) { c.maxResponseBytes = 1024 * 1024; });
  EXPECT_TRUE(again->get(resources::kConfigMaps, "ns", "x").ok());
}

// An endless body over the limit is ended by the client (on cpprestsdk's I/O
// thread, cpprest_body_guard.h): the server sees the connection go soon
// after the limit, instead of the client buffering whatever it is sent; and
// the client keeps working, however often it happens.
TEST(RestClientNeverThrowsTest, AnEndlessBodyIsCutOffSoonAfterTheLimit) {
  constexpr size_t kBlock = size_t{64} * 1024;
  constexpr size_t kMostSent = size_t{64} * 1024 * 1024;
  std::mutex mu;
  std::vector<size_t> sentBeforeHangUp;
  FakeApiServer server([&](const HttpRequest& req, ResponseWriter& w) {
    if (!req.path.ends_with("/endless")) {
      w.send(200, "{}");
      return;
    }
    const std::string block(kBlock, ' ');
    size_t sent = 0;
    w.startChunked(200);
    while (sent < kMostSent && w.chunk(block)) {
      sent += kBlock;
    }
    std::lock_guard lock(mu);
    sentBeforeHangUp.push_back(sent);
  });
  auto client = clientFor(server.url(), [](ClientConfig& c) { c.maxResponseBytes = 1024 * 1024; });
  constexpr int kTries = 5;
  for (int i = 0; i < kTries; ++i) {
    Result<Json> r = client->get(resources::kConfigMaps, "ns", "endless");
    ASSERT_FALSE(r.ok()) << i;
    EXPECT_NE(r.error().message.find("larger than 1048576 bytes"), std::string::npos)
        << r.error().message;
    EXPECT_TRUE(client->get(resources::kConfigMaps, "ns", "small").ok()) << i;
  }
  // Each stream ends once its writes fail: wait for the last one.
  for (int waited = 0; waited < 200; ++waited) {
    {
      std::lock_guard lock(mu);
      if (sentBeforeHangUp.size() == kTries) {
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::lock_guard lock(mu);
  ASSERT_EQ(sentBeforeHangUp.size(), size_t{kTries});
  for (size_t sent : sentBeforeHangUp) {
    // The limit, plus what the sockets' buffers on both ends hold.
    EXPECT_LT(sent, kMostSent / 2) << "the client kept reading past its limit";
  }
}

TEST(RestClientNeverThrowsTest, HostileWatchLinesAreErrorsAndTheStreamGoesOn) {
  FakeApiServer server([](const HttpRequest&, ResponseWriter& w) {
    w.startChunked(200);
    w.chunk(R"({"type":"ADDED","object":{"kind":"ConfigMap","n":1e400}})"
            "\n");
    w.chunk("{\"type\":\"ADDED\",\"object\":{\"kind\":\"\xff\"}}\n");
    w.chunk(R"({"type":"ERROR","object":{"code":1e400}})"
            "\n");
    w.chunk(R"({"type":"ERROR","object":{"code":99999999999999999999}})"
            "\n");
    w.chunk(event("ADDED", "ok", 2));
    w.endChunked();
  });
  auto client = clientFor(server.url());
  auto stream = client->watch(resources::kConfigMaps, "ns", {});
  ASSERT_TRUE(stream.ok()) << stream.error().toString();
  for (int i = 0; i < 3; ++i) {
    auto item = (*stream)->next();
    ASSERT_FALSE(item.ok()) << i;
    EXPECT_EQ(item.error().code, ErrorCode::kInternal);
    EXPECT_TRUE(isValidUtf8(item.error().message));
  }
  auto huge = (*stream)->next();  // a code beyond any integer: an ERROR event, not 410
  ASSERT_TRUE(huge.ok()) << huge.error().toString();
  ASSERT_TRUE(huge->has_value());
  EXPECT_EQ((*huge)->type, WatchEventType::kError);
  auto ok = (*stream)->next();
  ASSERT_TRUE(ok.ok()) << ok.error().toString();
  ASSERT_TRUE(ok->has_value());
  EXPECT_EQ((**ok).object["metadata"]["name"], "ok");
}

// ---------------------------------------------------------------------------
// IPv6 and tls-server-name.

// The machine must have ::1: CI runs on this machine kind, so its absence is
// a failure to look at, not a reason to skip.
bool haveIpv6Loopback() {
  int fd = socket(AF_INET6, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_addr = in6addr_loopback;
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

TEST(RestIpv6Test, ReachesAnApiServerAtAnIpv6Literal) {
  ASSERT_TRUE(haveIpv6Loopback()) << "this machine has no IPv6 loopback (::1) to test on";
  testing::KeyPair cert =
      testing::makeLeaf(tls().ca, {.commonName = "kube-apiserver", .ipAddresses = {"::1"}});
  FakeApiServer server(okHandler, testing::TlsServerOptions{cert.certPem, cert.keyPem, ""}, "::1");
  ASSERT_EQ(server.url().rfind("https://[::1]:", 0), 0u) << server.url();
  auto client = clientFor(server.url(), [](ClientConfig& c) { c.caPem = tls().ca.certPem; });
  Result<Json> r = client->get(resources::kPods, "a", "b");
  ASSERT_TRUE(r.ok()) << r.error().toString();
  auto stream = client->watch(resources::kPods, "a", {});
  ASSERT_TRUE(stream.ok()) << stream.error().toString();
  auto e = (*stream)->next();
  ASSERT_TRUE(e.ok() && e->has_value());
  const auto requests = server.requests();
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests[0].header("host"), "[::1]:" + std::to_string(server.port()));
  EXPECT_EQ(requests[0].tlsServerName, "") << "an IP address is never sent as SNI";

  // A certificate for 127.0.0.1 only is not valid for ::1.
  FakeApiServer wrong(
      okHandler, testing::TlsServerOptions{tls().serverForIp.certPem, tls().serverForIp.keyPem, ""},
      "::1");
  auto rejected = clientFor(wrong.url(), [](ClientConfig& c) { c.caPem = tls().ca.certPem; });
  Result<Json> bad = rejected->get(resources::kPods, "a", "b");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("not valid for ::1"), std::string::npos)
      << bad.error().message;

  // Plain HTTP on ::1 too.
  FakeApiServer plain(okHandler, std::nullopt, "::1");
  auto plainClient = clientFor(plain.url());
  EXPECT_TRUE(plainClient->get(resources::kPods, "a", "b").ok());
}

TEST(RestTlsTest, TlsServerNameIsVerifiedAndSentAsSni) {
  // The certificate names only kubernetes.internal, not the 127.0.0.1 we
  // connect to (an API server behind an address the certificate lacks).
  testing::KeyPair cert =
      testing::makeLeaf(tls().ca, {.commonName = "x", .dnsNames = {"kubernetes.internal"}});
  FakeApiServer server(okHandler, testing::TlsServerOptions{cert.certPem, cert.keyPem, ""});
  auto named = clientFor(server.url(), [](ClientConfig& c) {
    c.caPem = tls().ca.certPem;
    c.tlsServerName = "kubernetes.internal";
  });
  Result<Json> r = named->get(resources::kPods, "a", "b");
  ASSERT_TRUE(r.ok()) << r.error().toString();
  auto stream = named->watch(resources::kPods, "a", {});
  ASSERT_TRUE(stream.ok()) << stream.error().toString();
  for (const HttpRequest& req : server.requests()) {
    EXPECT_EQ(req.tlsServerName, "kubernetes.internal");
    // The Host header still names the server URL, as kubectl sends it.
    EXPECT_EQ(req.header("host"), "127.0.0.1:" + std::to_string(server.port()));
  }

  auto unnamed = clientFor(server.url(), [](ClientConfig& c) { c.caPem = tls().ca.certPem; });
  EXPECT_FALSE(unnamed->get(resources::kPods, "a", "b").ok());

  auto misnamed = clientFor(server.url(), [](ClientConfig& c) {
    c.caPem = tls().ca.certPem;
    c.tlsServerName = "other.internal";
  });
  Result<Json> bad = misnamed->get(resources::kPods, "a", "b");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("not valid for other.internal"), std::string::npos)
      << bad.error().message;
}

TEST(RestTlsTest, DnsNamesAreSentAsSniAndTheSubjectCnIsNotAName) {
  // Only a CN, no SAN: Go (kubectl) rejects it, and so do we.
  testing::KeyPair cnOnly = testing::makeLeaf(tls().ca, {.commonName = "kubernetes.internal"});
  FakeApiServer server(okHandler, testing::TlsServerOptions{cnOnly.certPem, cnOnly.keyPem, ""});
  auto client = clientFor(server.url(), [](ClientConfig& c) {
    c.caPem = tls().ca.certPem;
    c.tlsServerName = "kubernetes.internal";
  });
  EXPECT_FALSE(client->get(resources::kPods, "a", "b").ok());
}

}  // namespace
}  // namespace mlops::kube
