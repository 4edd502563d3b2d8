#include "runtime/controller.h"

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <stdexcept>

#include "fake_client.h"
#include "test_util.h"

namespace mlops::runtime {
namespace {

using namespace std::chrono_literals;
using testing::configMap;
using testing::eventually;
using testing::FakeClient;

// A reconciler whose answers are scripted per call.
class ScriptedReconciler final : public Reconciler {
 public:
  using Answer = std::function<Result<ReconcileResult>()>;
  void script(std::deque<Answer> answers) {
    std::lock_guard lock(mu_);
    answers_ = std::move(answers);
  }
  Result<ReconcileResult> reconcile(const Request& request, const ReconcileContext&) override {
    Answer answer;
    {
      std::lock_guard lock(mu_);
      calls_.push_back(request);
      if (!answers_.empty()) {
        answer = answers_.front();
        answers_.pop_front();
      }
    }
    if (answer) return answer();
    return ReconcileResult{};
  }
  std::vector<Request> calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }
  size_t count() const {
    std::lock_guard lock(mu_);
    return calls_.size();
  }

 private:
  mutable std::mutex mu_;
  std::deque<Answer> answers_;
  std::vector<Request> calls_;
};

double counterValue(RuntimeMetrics& m, const std::string& needle) {
  // Finds `needle` (a metric name with labels) in the exposition text.
  const std::string text = m.serialize();
  const auto pos = text.find(needle + " ");
  if (pos == std::string::npos) return -1;
  return std::stod(text.substr(pos + needle.size() + 1));
}

ControllerOptions options(RuntimeMetrics* metrics, int workers = 1) {
  ControllerOptions o;
  o.workers = workers;
  o.metrics = metrics;
  // Tiny per-item backoff so retries happen quickly.
  o.rateLimiter = std::make_unique<ItemExponentialFailureRateLimiter>(1ms, 10ms);
  return o;
}

TEST(RequestTest, KeysRoundTrip) {
  EXPECT_EQ(Request::fromKey("ns/name"), (Request{"ns", "name"}));
  EXPECT_EQ(Request::fromKey("cluster-scoped"), (Request{"", "cluster-scoped"}));
  EXPECT_EQ((Request{"ns", "model"}).key(), "ns/model");
}

TEST(ControllerTest, SuccessForgetsTheKey) {
  RuntimeMetrics metrics;
  ScriptedReconciler r;
  Controller c("test", r, options(&metrics));
  c.start();
  c.enqueue({"ns", "a"});
  ASSERT_TRUE(eventually([&] { return r.count() == 1; }));
  ASSERT_TRUE(eventually([&] {
    return counterValue(
               metrics,
               R"(controller_runtime_reconcile_total{controller="test",result="success"})") == 1;
  }));
  EXPECT_EQ(c.queue().numRequeues("ns/a"), 0);
  EXPECT_TRUE(c.stop(5s));
  EXPECT_EQ(r.calls()[0], (Request{"ns", "a"}));
}

TEST(ControllerTest, ErrorRequeuesWithBackoffUntilSuccess) {
  RuntimeMetrics metrics;
  ScriptedReconciler r;
  auto fail = [] { return Result<ReconcileResult>(makeError(ErrorCode::kUnavailable, "down")); };
  r.script({fail, fail, fail});
  Controller c("test", r, options(&metrics));
  c.start();
  c.enqueue({"ns", "a"});
  ASSERT_TRUE(eventually([&] { return r.count() == 4; }));
  ASSERT_TRUE(eventually([&] { return c.queue().numRequeues("ns/a") == 0; }))
      << "forgotten after the success";
  EXPECT_TRUE(c.stop(5s));
  EXPECT_EQ(counterValue(metrics,
                         R"(controller_runtime_reconcile_total{controller="test",result="error"})"),
            3);
  EXPECT_EQ(
      counterValue(metrics, R"(controller_runtime_reconcile_errors_total{controller="test"})"), 3);
  EXPECT_EQ(counterValue(metrics, R"(workqueue_retries_total{name="test"})"), 3);
  EXPECT_EQ(counterValue(metrics,
                         R"(controller_runtime_reconcile_time_seconds_count{controller="test"})"),
            4);
}

TEST(ControllerTest, ExceptionsAreCaughtAndRetried) {
  RuntimeMetrics metrics;
  ScriptedReconciler r;
  r.script({[]() -> Result<ReconcileResult> { throw std::runtime_error("boom"); }});
  Controller c("test", r, options(&metrics));
  c.start();
  c.enqueue({"ns", "a"});
  ASSERT_TRUE(eventually([&] { return r.count() == 2; }));
  EXPECT_TRUE(c.stop(5s));
  EXPECT_EQ(
      counterValue(metrics, R"(controller_runtime_reconcile_errors_total{controller="test"})"), 1);
}

TEST(ControllerTest, RequeueIsRateLimitedWithoutAnError) {
  RuntimeMetrics metrics;
  ScriptedReconciler r;
  r.script({[] { return Result<ReconcileResult>(ReconcileResult{true, 0ms}); }});
  Controller c("test", r, options(&metrics));
  c.start();
  c.enqueue({"ns", "a"});
  ASSERT_TRUE(eventually([&] { return r.count() == 2; }));
  EXPECT_TRUE(c.stop(5s));
  EXPECT_EQ(
      counterValue(metrics,
                   R"(controller_runtime_reconcile_total{controller="test",result="requeue"})"),
      1);
  EXPECT_EQ(
      counterValue(metrics, R"(controller_runtime_reconcile_errors_total{controller="test"})"), 0);
}

TEST(ControllerTest, RequeueAfterForgetsAndDelays) {
  RuntimeMetrics metrics;
  ScriptedReconciler r;
  auto fail = [] { return Result<ReconcileResult>(makeError(ErrorCode::kUnavailable, "down")); };
  auto later = [] { return Result<ReconcileResult>(ReconcileResult{false, 1h}); };
  r.script({fail, later});
  Controller c("test", r, options(&metrics));
  c.start();
  c.enqueue({"ns", "a"});
  ASSERT_TRUE(eventually([&] { return r.count() == 2 && c.queue().delayedLen() == 1; }));
  EXPECT_EQ(c.queue().numRequeues("ns/a"), 0) << "requeueAfter forgets the backoff";
  EXPECT_EQ(c.queue().len(), 0u);
  EXPECT_TRUE(c.stop(5s));
  EXPECT_EQ(counterValue(
                metrics,
                R"(controller_runtime_reconcile_total{controller="test",result="requeue_after"})"),
            1);
}

TEST(ControllerTest, WatchedInformerEventsBecomeRequests) {
  FakeClient client;
  const auto& cms = kube::resources::kConfigMaps;
  client.put(cms, configMap("ns", "existing"));
  InformerOptions io;
  io.backoff.initial = 1ms;
  Informer informer(client, client, cms, io);
  informer.start();
  ASSERT_TRUE(informer.waitForSync(5s));
  ScriptedReconciler r;
  Controller c("test", r, options(nullptr));
  c.watch(informer);
  c.start();  // replays the cache
  ASSERT_TRUE(eventually([&] { return r.count() == 1; }));
  client.put(cms, configMap("ns", "new"));
  ASSERT_TRUE(eventually([&] { return r.count() == 2; }));
  client.erase(cms, "ns", "existing");
  ASSERT_TRUE(eventually([&] { return r.count() == 3; }));
  EXPECT_TRUE(c.stop(5s));
  auto calls = r.calls();
  EXPECT_EQ(calls[0].name, "existing");
  EXPECT_EQ(calls[1].name, "new");
  EXPECT_EQ(calls[2].name, "existing");
}

TEST(ControllerTest, NeverReconcilesOneKeyConcurrently) {
  class SlowReconciler final : public Reconciler {
   public:
    Result<ReconcileResult> reconcile(const Request& req, const ReconcileContext&) override {
      {
        std::lock_guard lock(mu);
        if (++active[req.key()] > 1) overlap = true;
      }
      std::this_thread::sleep_for(1ms);
      {
        std::lock_guard lock(mu);
        --active[req.key()];
      }
      ++calls;
      return ReconcileResult{};
    }
    std::mutex mu;
    std::map<std::string, int> active;
    std::atomic<bool> overlap{false};
    std::atomic<int> calls{0};
  } r;
  Controller c("test", r, options(nullptr, 4));
  c.start();
  for (int i = 0; i < 400; ++i) c.enqueue({"ns", "k" + std::to_string(i % 3)});
  ASSERT_TRUE(eventually([&] { return c.queue().len() == 0 && c.queue().processingLen() == 0; }));
  EXPECT_TRUE(c.stop(5s));
  EXPECT_FALSE(r.overlap.load());
  EXPECT_GE(r.calls.load(), 3);
}

TEST(ControllerTest, StopWaitsForInFlightReconcilesWithinTheGracePeriod) {
  std::atomic<bool> release{false};
  std::atomic<bool> inside{false};
  ScriptedReconciler r;
  r.script({[&] {
    inside = true;
    while (!release) std::this_thread::sleep_for(1ms);
    return Result<ReconcileResult>(ReconcileResult{});
  }});
  Controller c("test", r, options(nullptr));
  c.start();
  c.enqueue({"ns", "a"});
  ASSERT_TRUE(eventually([&] { return inside.load(); }));
  EXPECT_FALSE(c.stop(30ms)) << "still running after the grace period";
  release = true;
  EXPECT_TRUE(c.stop(5s));
}

// A reconcile in the middle of a slow call (a 10 s Prometheus query, say)
// sees shutdown begin through its context and returns at once, so stop()
// never needs the whole grace period.
TEST(ControllerTest, ReconcilesSeeShutdownThroughTheirContext) {
  class WaitingReconciler final : public Reconciler {
   public:
    Result<ReconcileResult> reconcile(const Request&, const ReconcileContext& ctx) override {
      inside = true;
      sawStoppingBefore = ctx.stopping();
      if (!ctx.cancel().waitFor(SystemClock::instance(), 10s)) {
        return ReconcileResult{};
      }
      sawStoppingAfter = ctx.stopping();
      return makeError(ErrorCode::kCancelled, "query abandoned");
    }
    std::atomic<bool> inside{false};
    std::atomic<bool> sawStoppingBefore{true};
    std::atomic<bool> sawStoppingAfter{false};
  } r;
  RuntimeMetrics metrics;
  Controller c("test", r, options(&metrics));
  c.start();
  c.enqueue({"ns", "a"});
  ASSERT_TRUE(eventually([&] { return r.inside.load(); }));
  const auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.stop(5s));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  EXPECT_FALSE(r.sawStoppingBefore.load());
  EXPECT_TRUE(r.sawStoppingAfter.load());
  // Abandoned for shutdown, as the contract asks: not counted as a failure.
  EXPECT_EQ(counterValue(metrics, "controller_runtime_reconcile_errors_total{controller=\"test\"}"),
            0);
}

TEST(ControllerTest, TheBackgroundContextNeverStops) {
  EXPECT_FALSE(ReconcileContext::background().stopping());
  EXPECT_FALSE(ReconcileContext::background().cancel().cancelled());
}

TEST(MapFuncTest, RequestForOwnerFollowsTheControllerReference) {
  nlohmann::json job = configMap("ns", "run-1-job");
  job["metadata"]["ownerReferences"] = nlohmann::json::array(
      {{{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"name", "not-controller"}},
       {{"apiVersion", "mlops.dev/v1alpha1"},
        {"kind", "TrainingRun"},
        {"name", "run-1"},
        {"controller", true}}});
  auto reqs = requestForOwner("mlops.dev", "TrainingRun")(job);
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0], (Request{"ns", "run-1"}));
  EXPECT_TRUE(requestForOwner("batch", "Job")(job).empty());
  EXPECT_TRUE(requestForOwner("mlops.dev", "TrainingRun")(configMap("ns", "x")).empty());
}

TEST(MapFuncTest, GenerationChangedPassesSpecChangesOnly) {
  auto pred = generationChanged();
  nlohmann::json a = configMap("ns", "x");
  a["metadata"]["generation"] = 1;
  nlohmann::json b = a;
  b["status"] = {{"phase", "Running"}};
  EXPECT_FALSE(pred(a, b));
  b["metadata"]["generation"] = 2;
  EXPECT_TRUE(pred(a, b));
  EXPECT_TRUE(pred(configMap("ns", "x"), configMap("ns", "x"))) << "no generation: pass";
}

}  // namespace
}  // namespace mlops::runtime
