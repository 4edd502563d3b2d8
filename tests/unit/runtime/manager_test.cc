#include "runtime/manager.h"

#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "fake_client.h"
#include "fake_clock.h"
#include "runtime/object.h"
#include "server/health_server.h"
#include "test_util.h"

namespace mlops::runtime {
namespace {

using namespace std::chrono_literals;
using testing::configMap;
using testing::eventually;
using testing::FakeClient;
using testing::FakeClock;
using testing::httpGet;

class CountingReconciler final : public Reconciler {
 public:
  Result<ReconcileResult> reconcile(const Request& r, const ReconcileContext&) override {
    std::lock_guard lock(mu_);
    seen_.insert(r.key());
    ++calls_;
    return ReconcileResult{};
  }
  std::set<std::string> seen() const {
    std::lock_guard lock(mu_);
    return seen_;
  }
  int calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  mutable std::mutex mu_;
  std::set<std::string> seen_;
  int calls_ = 0;
};

// A leader-only loop: one round every 5 s of the given clock until stopped.
class LoopRunnable final : public Runnable {
 public:
  explicit LoopRunnable(const Clock& clock) : clock_(clock) {}
  std::string name() const override { return "loop"; }
  Status run(const CancelToken& stop) override {
    started = true;
    while (!stop.waitFor(clock_, 5s)) {
      ++rounds;
    }
    stopped = true;
    return okStatus();
  }
  std::atomic<bool> started{false};
  std::atomic<bool> stopped{false};
  std::atomic<int> rounds{0};

 private:
  const Clock& clock_;
};

ControllerOptions withWorkers(int workers) {
  ControllerOptions o;
  o.workers = workers;
  return o;
}

ManagerOptions localOptions() {
  ManagerOptions o;
  o.metricsBindAddress = "127.0.0.1:0";
  o.healthProbeBindAddress = "127.0.0.1:0";
  o.handleSignals = false;
  o.gracefulShutdownTimeout = 5s;
  return o;
}

TEST(ManagerTest, ReadyOnlyAfterCachesSyncThenReconcilesAndStopsCleanly) {
  FakeClient client;
  client.put(cms(), configMap("ns", "a"));
  client.holdLists(true);
  Manager mgr(client, localOptions());
  auto& informer = mgr.informer(cms());
  EXPECT_EQ(&mgr.informer(cms()), &informer) << "one informer per resource";
  auto owned = std::make_unique<CountingReconciler>();
  CountingReconciler& reconciler = *owned;  // owned by the manager
  mgr.addController("cm", std::move(owned), withWorkers(2)).watch(informer);

  std::atomic<int> exitCode{-1};
  std::thread runner([&] { exitCode = mgr.run(); });
  ASSERT_TRUE(eventually([&] { return mgr.healthPort() > 0 && mgr.metricsPort() > 0; }));
  EXPECT_EQ(httpGet(mgr.healthPort(), "/healthz").first, 200);
  auto [notReady, body] = httpGet(mgr.healthPort(), "/readyz");
  EXPECT_EQ(notReady, 503);
  EXPECT_NE(body.find("configmaps"), std::string::npos) << body;
  EXPECT_EQ(reconciler.calls(), 0);

  client.holdLists(false);
  ASSERT_TRUE(eventually([&] { return httpGet(mgr.healthPort(), "/readyz").first == 200; }));
  ASSERT_TRUE(eventually([&] { return reconciler.seen().count("ns/a") == 1; }));
  client.put(cms(), configMap("ns", "b"));
  ASSERT_TRUE(eventually([&] { return reconciler.seen().count("ns/b") == 1; }));

  auto [metricsStatus, metrics] = httpGet(mgr.metricsPort(), "/metrics");
  EXPECT_EQ(metricsStatus, 200);
  EXPECT_NE(
      metrics.find("controller_runtime_reconcile_total{controller=\"cm\",result=\"success\"}"),
      std::string::npos);
  EXPECT_NE(metrics.find("workqueue_adds_total{name=\"cm\"}"), std::string::npos);

  auto cached = mgr.cache().get(cms(), "ns", "b");
  EXPECT_TRUE(cached.ok());

  mgr.stop();
  runner.join();
  EXPECT_EQ(exitCode.load(), 0);
}

TEST(ManagerTest, MetricsSayWhatEachInformerCaches) {
  FakeClient client;
  client.put(cms(), configMap("ns", "a"));
  client.put(cms(), configMap("ns", "b", {{"tier", "web"}}));
  Manager mgr(client, localOptions());
  auto& all = mgr.informer(cms());
  InformerOptions web;
  web.labelSelector = "tier=web";
  auto& selected = mgr.informer(cms(), web);
  std::thread runner([&] { mgr.run(); });
  ASSERT_TRUE(eventually([&] { return mgr.cachesSynced(); }));
  const std::string text = mgr.metrics().serialize();
  auto line = [](const std::string& family, const std::string& informer, std::size_t value) {
    return family + "{informer=\"" + informer + "\"} " + std::to_string(value) + "\n";
  };
  EXPECT_NE(text.find(line("mlops_informer_cached_objects", "configmaps", 2)), std::string::npos)
      << text;
  EXPECT_NE(text.find(line("mlops_informer_cached_objects", "configmaps[tier=web]", 1)),
            std::string::npos)
      << text;
  EXPECT_GT(all.indexer().encodedBytes(), selected.indexer().encodedBytes());
  EXPECT_NE(
      text.find(line("mlops_informer_cached_bytes", "configmaps", all.indexer().encodedBytes())),
      std::string::npos)
      << text;
  EXPECT_NE(text.find(line("mlops_informer_cached_bytes", "configmaps[tier=web]",
                           selected.indexer().encodedBytes())),
            std::string::npos)
      << text;
  mgr.stop();
  runner.join();
}

TEST(ManagerTest, InformersAreSharedPerSelectionAndTheCacheReadsTheCoveringOne) {
  FakeClient client;
  client.put(cms(), configMap("ns", "train", {{"component", "training"}}));
  client.put(cms(), configMap("ns", "serve", {{"component", "serving"}}));
  Manager mgr(client, localOptions());
  InformerOptions training;
  training.labelSelector = "component=training";
  InformerOptions serving;
  serving.labelSelector = "component=serving";
  // Two controllers, each with its own selection of one resource.
  Informer& a = mgr.informer(cms(), training);
  Informer& b = mgr.informer(cms(), serving);
  EXPECT_NE(&a, &b);
  EXPECT_EQ(&mgr.informer(cms(), training), &a) << "same selection, same informer";
  EXPECT_EQ(&mgr.informer(cms(), serving), &b);

  std::thread runner([&] { mgr.run(); });
  ASSERT_TRUE(eventually([&] { return mgr.cachesSynced(); }));
  kube::ListOptions servingOnly;
  servingOnly.labelSelector = "component=serving";
  auto page = mgr.cache().list(cms(), "ns", servingOnly);
  ASSERT_TRUE(page.ok()) << page.error().toString();
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(nameOf(page->items[0]), "serve");
  EXPECT_TRUE(mgr.cache().get(cms(), "ns", "train").ok());
  mgr.stop();
  runner.join();
}

// A caller asking for a transform gets an informer of its own: no other
// reader is handed objects with fields cut that it needs.
TEST(ManagerTest, AnInformerWithATransformIsNotSharedWithPlainReaders) {
  FakeClient client;
  Manager mgr(client, localOptions());
  InformerOptions reduced;
  reduced.transform = {"reduced", [](nlohmann::json& obj) { obj.erase("data"); }};
  Informer& plain = mgr.informer(cms());
  Informer& cut = mgr.informer(cms(), reduced);
  EXPECT_NE(&plain, &cut);
  EXPECT_EQ(&mgr.informer(cms(), reduced), &cut) << "same transform, same informer";
  EXPECT_EQ(&mgr.informer(cms()), &plain);
}

// Nor is an informer decoding protobuf, whose objects hold only the fields
// its decoder reads, even under the same transform.
TEST(ManagerTest, AnInformerDecodingProtobufIsNotSharedWithJsonReaders) {
  FakeClient client;
  Manager mgr(client, localOptions());
  InformerOptions json;
  json.transform = {"reduced", [](nlohmann::json& obj) { obj.erase("data"); }};
  InformerOptions protobuf = json;
  protobuf.protobuf = [](std::string_view) -> Result<nlohmann::json> {
    return nlohmann::json::object();
  };
  Informer& fromJson = mgr.informer(cms(), json);
  Informer& fromProtobuf = mgr.informer(cms(), protobuf);
  EXPECT_NE(&fromJson, &fromProtobuf);
  EXPECT_EQ(&mgr.informer(cms(), protobuf), &fromProtobuf) << "same encoding, same informer";
}

// A reconcile stuck in a slow call when SIGTERM arrives is told through its
// context, returns, and the process shuts down cleanly (exit 0) instead of
// being cut off when the grace period ends.
TEST(ManagerTest, ShutdownCancelsInFlightReconcilesInsteadOfForcingAnExit) {
  class SlowQueryReconciler final : public Reconciler {
   public:
    Result<ReconcileResult> reconcile(const Request&, const ReconcileContext& ctx) override {
      inside = true;
      // A Prometheus query with its 10 s timeout, abandoned on shutdown.
      if (ctx.cancel().waitFor(SystemClock::instance(), 10s)) {
        return makeError(ErrorCode::kCancelled, "query cancelled");
      }
      return ReconcileResult{};
    }
    std::atomic<bool> inside{false};
  };
  FakeClient client;
  client.put(cms(), configMap("ns", "a"));
  auto o = localOptions();
  o.gracefulShutdownTimeout = 3s;
  Manager mgr(client, o);
  auto owned = std::make_unique<SlowQueryReconciler>();
  SlowQueryReconciler& reconciler = *owned;
  mgr.addController("slow", std::move(owned)).watch(mgr.informer(cms()));
  std::atomic<int> exitCode{-1};
  std::thread runner([&] { exitCode = mgr.run(); });
  ASSERT_TRUE(eventually([&] { return reconciler.inside.load(); }));
  const auto stopping = std::chrono::steady_clock::now();
  mgr.stop();
  runner.join();
  EXPECT_EQ(exitCode.load(), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - stopping, 2s);
}

TEST(ManagerTest, ARunnableThatFailsShutsTheProcessDownWithOne) {
  class Failing final : public Runnable {
   public:
    std::string name() const override { return "failing"; }
    Status run(const CancelToken&) override {
      return makeError(ErrorCode::kInternal, "cannot work");
    }
  };
  FakeClient client;
  Manager mgr(client, localOptions());
  mgr.add(std::make_unique<Failing>());
  EXPECT_EQ(mgr.run(), 1);
}

// The grace period is measured on the Manager's clock: with a fake clock
// that does not move, a reconcile that ignores its context is waited for
// however long it takes in real time (on the real clock, 200 ms would have
// ended the process). Events are stamped with the same clock.
TEST(ManagerTest, TheGracePeriodAndEventTimesFollowTheInjectedClock) {
  class Stubborn final : public Reconciler {
   public:
    Result<ReconcileResult> reconcile(const Request&, const ReconcileContext&) override {
      inside = true;
      while (!release) std::this_thread::sleep_for(1ms);
      return ReconcileResult{};
    }
    std::atomic<bool> inside{false};
    std::atomic<bool> release{false};
  };
  FakeClient client;
  FakeClock clock;
  client.put(cms(), configMap("ns", "a"));
  auto o = localOptions();
  o.clock = &clock;
  o.gracefulShutdownTimeout = 200ms;
  Manager mgr(client, o);
  EXPECT_EQ(&mgr.clock(), &clock);
  auto owned = std::make_unique<Stubborn>();
  Stubborn& reconciler = *owned;
  mgr.addController("stubborn", std::move(owned)).watch(mgr.informer(cms()));
  std::atomic<int> exitCode{-1};
  std::thread runner([&] { exitCode = mgr.run(); });
  ASSERT_TRUE(eventually([&] { return reconciler.inside.load(); }));
  mgr.eventRecorder().event(configMap("ns", "a"), EventType::kNormal, "Tested", "by the clock");
  ASSERT_TRUE(eventually([&] {
    auto events = client.list(kube::resources::kEvents, "ns");
    return events.ok() && events->items.size() == 1;
  }));
  const auto event = client.list(kube::resources::kEvents, "ns")->items[0];
  EXPECT_EQ(event["firstTimestamp"], "2023-11-14T22:13:20Z") << event.dump();

  mgr.stop();
  std::this_thread::sleep_for(400ms);  // twice the grace period, in real time
  EXPECT_EQ(exitCode.load(), -1) << "still waiting: no fake time has passed";
  reconciler.release = true;
  runner.join();
  EXPECT_EQ(exitCode.load(), 0);
}

TEST(ManagerTest, RestClientObserverCountsRequests) {
  FakeClient client;
  Manager mgr(client, localOptions());
  auto observe = mgr.metrics().restClientObserver();
  observe("GET", 200);
  observe("GET", 200);
  observe("PUT", 409);
  observe("GET", 0);
  const std::string text = mgr.metrics().serialize();
  EXPECT_NE(text.find("rest_client_requests_total{code=\"200\",method=\"GET\"} 2"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("rest_client_requests_total{code=\"409\",method=\"PUT\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("rest_client_requests_total{code=\"<error>\",method=\"GET\"} 1"),
            std::string::npos);
}

TEST(ManagerTest, FailsFastWhenAPortIsTaken) {
  FakeClient client;
  auto blocker = server::HealthServer::start("127.0.0.1:0");
  ASSERT_TRUE(blocker.ok());
  auto o = localOptions();
  o.healthProbeBindAddress = "127.0.0.1:" + std::to_string((*blocker)->port());
  Manager mgr(client, o);
  EXPECT_EQ(mgr.run(), 1);
}

TEST(ManagerTest, ExitsWithAnErrorWhenCachesNeverSync) {
  FakeClient client;
  client.failNextLists(1'000'000, makeError(ErrorCode::kForbidden, "configmaps is forbidden"));
  auto o = localOptions();
  o.cacheSyncTimeout = 100ms;
  Manager mgr(client, o);
  mgr.informer(cms());
  EXPECT_EQ(mgr.run(), 1);
}

// Leader election on the fake clock, with the default periods (lease 15 s,
// renew deadline 10 s, retry 2 s).
TEST(ManagerTest, OnlyTheLeaderReconcilesAndAStoppedLeaderHandsOver) {
  FakeClient client;
  FakeClock clock;
  client.put(cms(), configMap("ns", "a"));
  auto options = [&] {
    auto o = localOptions();
    o.leaderElection = true;
    o.leaderElectionNamespace = "ops";
    o.clock = &clock;
    return o;
  };
  auto o1 = options();
  o1.identity = "one";
  auto o2 = options();
  o2.identity = "two";
  Manager m1(client, o1), m2(client, o2);
  auto owned1 = std::make_unique<CountingReconciler>();
  auto owned2 = std::make_unique<CountingReconciler>();
  CountingReconciler& r1 = *owned1;
  CountingReconciler& r2 = *owned2;
  m1.addController("cm", std::move(owned1)).watch(m1.informer(cms()));
  m2.addController("cm", std::move(owned2)).watch(m2.informer(cms()));
  // Leader-only loops start and stop with leadership, like controllers.
  auto loop1 = std::make_unique<LoopRunnable>(clock);
  auto loop2 = std::make_unique<LoopRunnable>(clock);
  LoopRunnable& l1 = *loop1;
  LoopRunnable& l2 = *loop2;
  m1.add(std::move(loop1));
  m2.add(std::move(loop2));

  std::atomic<int> exit1{-1}, exit2{-1};
  std::thread t1([&] { exit1 = m1.run(); });
  ASSERT_TRUE(eventually([&] { return m1.isLeader(); }));
  std::thread t2([&] { exit2 = m2.run(); });
  ASSERT_TRUE(eventually([&] { return r1.calls() >= 1; }));
  ASSERT_TRUE(eventually([&] { return m2.cachesSynced(); }));
  // Twice the lease duration: the leader renews, the follower campaigns
  // (two sleepers: the electors) and never leads.
  ASSERT_TRUE(eventually([&] { return l1.started.load(); }));
  // Sleepers: the two electors and the leader's runnable.
  ASSERT_TRUE(clock.advanceInSteps(30s, 1s, 3));
  EXPECT_FALSE(m2.isLeader());
  EXPECT_EQ(r2.calls(), 0) << "a follower must not reconcile";
  EXPECT_FALSE(l2.started.load()) << "nor run leader-only loops";
  EXPECT_GE(l1.rounds.load(), 5) << "the loop's waits ran on the manager's clock";
  EXPECT_NE(m1.metrics().serialize().find(
                "leader_election_master_status{name=\"mlops-operator-leader\"} 1"),
            std::string::npos);

  m1.stop();  // releases the lease
  t1.join();
  EXPECT_EQ(exit1.load(), 0);
  EXPECT_TRUE(l1.stopped.load()) << "stopped on shutdown, through its stop token";
  auto lease = client.object(kube::resources::kLeases, "ops", "mlops-operator-leader");
  ASSERT_TRUE(lease.has_value());
  // The follower takes over at its next attempt, within one jittered retry
  // period (2 s + 1.2 × 2 s), not after the lease expires.
  // One sleeper (its elector) until it leads; then its runnable sleeps too.
  for (int step = 0; step < 44 && !m2.isLeader(); ++step) {
    clock.advance(100ms);
    ASSERT_TRUE(eventually([&] { return m2.isLeader() || clock.settle(1, 20ms); }));
  }
  EXPECT_TRUE(m2.isLeader()) << "the follower takes over at once after a release";
  ASSERT_TRUE(eventually([&] { return r2.seen().count("ns/a") == 1; }));
  ASSERT_TRUE(eventually([&] { return l2.started.load(); }));
  m2.stop();
  t2.join();
  EXPECT_EQ(exit2.load(), 0);
}

TEST(ManagerTest, LosingLeadershipExitsWithOne) {
  FakeClient client;
  FakeClock clock;
  auto o = localOptions();
  o.leaderElection = true;
  o.leaderElectionNamespace = "ops";
  o.clock = &clock;
  Manager mgr(client, o);
  std::atomic<int> exitCode{-1};
  std::thread t([&] { exitCode = mgr.run(); });
  ASSERT_TRUE(eventually([&] { return mgr.isLeader(); }));
  ASSERT_TRUE(clock.settle(1));
  client.failNextWrites(1'000'000, makeError(ErrorCode::kUnavailable, "apiserver down"));
  // Renewals fail from the next one on; until the renew deadline (10 s
  // after it) the manager keeps leading.
  ASSERT_TRUE(clock.advanceInSteps(10s, 2s, 1));
  EXPECT_TRUE(mgr.isLeader());
  EXPECT_EQ(exitCode.load(), -1);
  clock.advance(2s);
  t.join();
  EXPECT_EQ(exitCode.load(), 1);
}

TEST(ManagerTest, SigtermShutsDownGracefully) {
  FakeClient client;
  auto o = localOptions();
  o.handleSignals = true;
  Manager mgr(client, o);
  std::atomic<int> exitCode{-1};
  std::thread t([&] { exitCode = mgr.run(); });
  // The signal watcher is installed before the servers start.
  ASSERT_TRUE(eventually([&] { return mgr.healthPort() > 0; }));
  ASSERT_EQ(kill(getpid(), SIGTERM), 0);
  t.join();
  EXPECT_EQ(exitCode.load(), 0);
}

}  // namespace
}  // namespace mlops::runtime
