// The reflector on the real REST client and watch decoder, against a fake
// API server on 127.0.0.1: what a real server sends (an ERROR event with code
// 410) and what a stuck one does (no answer, an error reply whose body never
// comes) reach the reflector exactly as in production.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fake_clock.h"
#include "kube/config.h"
#include "kube/protobuf_objects.h"
#include "kube/rest_client.h"
#include "runtime/reflector.h"
#include "support/fake_api_server.h"
#include "test_util.h"

namespace mlops::runtime {
namespace {

using namespace std::chrono_literals;
using mlops::testing::FakeApiServer;
using mlops::testing::HttpRequest;
using mlops::testing::ResponseWriter;
using testing::eventually;
using testing::FakeClock;

class CountingStore final : public ReflectorStore {
 public:
  void replace(std::vector<nlohmann::json>, const std::string&) override { ++replaced; }
  void added(nlohmann::json) override {}
  void modified(nlohmann::json) override {}
  void deleted(nlohmann::json) override {}
  std::atomic<int> replaced{0};
};

const char* kList =
    R"({"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"10"},)"
    R"("items":[{"metadata":{"name":"a","namespace":"ns","resourceVersion":"9"}}]})";

const char* kExpired =
    R"({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},)"
    R"("status":"Failure","message":"too old resource version: 10, current: 20","reason":"Expired",)"
    R"("code":410}})"
    "\n";

bool isWatch(const HttpRequest& req) {
  return req.param("watch") == "1";
}

std::unique_ptr<kube::Client> clientFor(const std::string& url) {
  kube::ClientConfig cfg;
  cfg.server = url;
  cfg.source = "test";
  // Long enough that waiting it out would fail the tests: stop() must not.
  cfg.requestTimeout = 30s;
  auto c = kube::makeRestClient(cfg);
  EXPECT_TRUE(c.ok()) << c.error().toString();
  return c.ok() ? std::move(*c) : nullptr;
}

// Runs a reflector on its own thread; records the backoffs it waits.
class Running {
 public:
  Running(kube::Client& client, ReflectorOptions o) {
    o.onBackoff = [this](std::chrono::milliseconds d) {
      std::lock_guard lock(mu_);
      backoffs_.push_back(d);
    };
    reflector_ = std::make_unique<Reflector>(client, client, kube::resources::kConfigMaps, store,
                                             std::move(o));
    thread_ = std::thread([this] {
      reflector_->run();
      returned = true;
    });
  }
  ~Running() { stopAndJoin(); }
  void stopAndJoin() {
    reflector_->stop();
    if (thread_.joinable()) thread_.join();
  }
  Reflector& reflector() { return *reflector_; }
  std::vector<std::chrono::milliseconds> backoffs() {
    std::lock_guard lock(mu_);
    return backoffs_;
  }

  CountingStore store;
  std::atomic<bool> returned{false};

 private:
  std::mutex mu_;
  std::vector<std::chrono::milliseconds> backoffs_;
  std::unique_ptr<Reflector> reflector_;
  std::thread thread_;
};

ReflectorOptions optionsWith(const Clock* clock) {
  ReflectorOptions o;
  o.ns = "ns";
  o.backoff.initial = 1s;
  o.backoff.max = 8s;
  o.backoff.jitter = 0;
  o.clock = clock;
  return o;
}

int countRequests(const FakeApiServer& server, bool watches) {
  int n = 0;
  for (const auto& r : server.requests()) n += isWatch(r) == watches ? 1 : 0;
  return n;
}

TEST(ReflectorRestTest, RelistsAfterBackoffWhenTheServerSendsA410ErrorEvent) {
  FakeApiServer server([](const HttpRequest& req, ResponseWriter& w) {
    if (!isWatch(req)) {
      w.send(200, kList);
      return;
    }
    // HTTP 200, then the Status: how an API server without watch cache
    // answers a watch from a compacted resourceVersion.
    w.startChunked(200);
    w.chunk(kExpired);
    w.endChunked();
  });
  auto client = clientFor(server.url());
  ASSERT_NE(client, nullptr);
  FakeClock clock;
  Running r(*client, optionsWith(&clock));
  ASSERT_TRUE(eventually([&] { return countRequests(server, true) == 1; }));
  ASSERT_TRUE(clock.settle(1)) << "after the 410 the reflector waits for its backoff";
  EXPECT_EQ(r.backoffs(), (std::vector<std::chrono::milliseconds>{1s}));
  EXPECT_EQ(r.store.replaced.load(), 1);
  for (const auto& req : server.requests()) {
    if (isWatch(req)) {
      EXPECT_EQ(req.param("resourceVersion"), "10");
    }
  }
  clock.advance(999ms);
  ASSERT_TRUE(clock.settle(1));
  EXPECT_EQ(countRequests(server, false), 1) << "no relist before the backoff has passed";
  clock.advance(1ms);
  ASSERT_TRUE(eventually([&] { return r.store.replaced.load() == 2; }));
  // The reflector counts a list once the store holds it: after replace().
  ASSERT_TRUE(eventually([&] { return r.reflector().listCount() == 2u; }));
}

TEST(ReflectorRestTest, StopInterruptsAListTheServerNeverAnswers) {
  FakeApiServer server([](const HttpRequest&, ResponseWriter& w) { w.wait(60s); });
  auto client = clientFor(server.url());
  ASSERT_NE(client, nullptr);
  Running r(*client, optionsWith(nullptr));
  ASSERT_TRUE(eventually([&] { return server.requests().size() == 1; }));
  r.reflector().stop();
  EXPECT_TRUE(eventually([&] { return r.returned.load(); }, 3s))
      << "stop() must not wait for the request timeout";
  server.stop();
}

TEST(ReflectorRestTest, StopInterruptsOpeningAWatchTheServerNeverAnswers) {
  FakeApiServer server([](const HttpRequest& req, ResponseWriter& w) {
    if (!isWatch(req)) {
      w.send(200, kList);
      return;
    }
    w.wait(60s);  // no headers
  });
  auto client = clientFor(server.url());
  ASSERT_NE(client, nullptr);
  Running r(*client, optionsWith(nullptr));
  ASSERT_TRUE(eventually([&] { return countRequests(server, true) == 1; }));
  r.reflector().stop();
  EXPECT_TRUE(eventually([&] { return r.returned.load(); }, 3s))
      << "stop() must not wait for the request timeout";
  server.stop();
}

TEST(ReflectorRestTest, StopInterruptsReadingAWatchErrorReplyThatNeverEnds) {
  FakeApiServer server([](const HttpRequest& req, ResponseWriter& w) {
    if (!isWatch(req)) {
      w.send(200, kList);
      return;
    }
    w.startChunked(500);  // headers of an error reply, then no body
    w.wait(60s);
  });
  auto client = clientFor(server.url());
  ASSERT_NE(client, nullptr);
  Running r(*client, optionsWith(nullptr));
  ASSERT_TRUE(eventually([&] { return countRequests(server, true) == 1; }));
  r.reflector().stop();
  EXPECT_TRUE(eventually([&] { return r.returned.load(); }, 3s))
      << "stop() must not wait for the watch's idle timeout";
  server.stop();
}

// A protobuf reply the decoders cannot read would fail the same way on every
// retry; the reflector asks for JSON from then on.
bool asksForProtobuf(const HttpRequest& req) {
  return req.header("accept").find("protobuf") != std::string::npos;
}

ReflectorOptions protobufOptionsWith(const Clock* clock) {
  ReflectorOptions o = optionsWith(clock);
  o.protobuf = kube::decodePodProtobuf;
  return o;
}

TEST(ReflectorRestTest, AProtobufListItCannotDecodeIsListedAgainInJson) {
  FakeApiServer server([](const HttpRequest& req, ResponseWriter& w) {
    if (isWatch(req)) {
      w.wait(60s);
      return;
    }
    if (asksForProtobuf(req)) {
      // The envelope's raw field claims 16 bytes; none follow.
      w.send(200, std::string("k8s\0\x12\x10", 6), "application/vnd.kubernetes.protobuf");
      return;
    }
    w.send(200, kList);
  });
  auto client = clientFor(server.url());
  ASSERT_NE(client, nullptr);
  FakeClock clock;
  Running r(*client, protobufOptionsWith(&clock));
  ASSERT_TRUE(clock.settle(1)) << "the failed list waits for its backoff";
  EXPECT_EQ(r.store.replaced.load(), 0);
  clock.advance(1s);
  ASSERT_TRUE(eventually([&] { return r.store.replaced.load() == 1; }));
  ASSERT_TRUE(eventually([&] { return countRequests(server, true) == 1; }));
  std::vector<bool> protobuf;
  for (const auto& req : server.requests()) protobuf.push_back(asksForProtobuf(req));
  EXPECT_EQ(protobuf, (std::vector<bool>{true, false, false}))
      << "one protobuf list, then a JSON list and a JSON watch";
  r.stopAndJoin();
  server.stop();
}

TEST(ReflectorRestTest, AProtobufWatchEventItCannotDecodeIsWatchedAgainInJsonFromTheSameVersion) {
  const std::string added =
      R"({"type":"ADDED","object":{"metadata":{"name":"b","namespace":"ns","resourceVersion":"11"}}})"
      "\n";
  FakeApiServer server([&](const HttpRequest& req, ResponseWriter& w) {
    if (!isWatch(req)) {
      w.send(200, kList);  // a JSON answer to a protobuf request is read as JSON
      return;
    }
    if (asksForProtobuf(req)) {
      // One frame: an ADDED event whose object field claims 16 bytes.
      const std::string event = std::string(
          "\x0a\x05"
          "ADDED"
          "\x12\x10",
          9);
      w.startChunked(200, "application/vnd.kubernetes.protobuf;stream=watch");
      w.chunk(std::string("\0\0\0", 3) + static_cast<char>(event.size()) + event);
      w.endChunked();
      return;
    }
    w.startChunked(200);
    w.chunk(added);
    w.wait(60s);
  });
  auto client = clientFor(server.url());
  ASSERT_NE(client, nullptr);
  FakeClock clock;
  Running r(*client, protobufOptionsWith(&clock));
  ASSERT_TRUE(eventually([&] { return countRequests(server, true) == 1; }));
  ASSERT_TRUE(clock.settle(1)) << "the failed watch waits for its backoff";
  clock.advance(1s);
  ASSERT_TRUE(eventually([&] { return r.reflector().lastSyncResourceVersion() == "11"; }));
  std::vector<std::pair<bool, std::string>> watches;
  for (const auto& req : server.requests()) {
    if (isWatch(req)) watches.emplace_back(asksForProtobuf(req), req.param("resourceVersion"));
  }
  EXPECT_EQ(watches, (std::vector<std::pair<bool, std::string>>{{true, "10"}, {false, "10"}}));
  EXPECT_EQ(r.reflector().listCount(), 1u) << "no relist: the watch resumes where it failed";
  r.stopAndJoin();
  server.stop();
}

}  // namespace
}  // namespace mlops::runtime
