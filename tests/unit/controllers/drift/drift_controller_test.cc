// The drift reconciler's I/O around the decision: the in-memory API
// (FakeClient) for writes and live reads, a cache the test fills by hand (so
// it can lag the API, as after a crash), a fake Prometheus, reconcile()
// called directly.
#include "controllers/drift/drift_controller.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "fake_client.h"
#include "fake_clock.h"
#include "kube/resource.h"
#include "objects/timestamps.h"

namespace mlops::drift {
namespace {

using nlohmann::json;
using runtime::testing::FakeClient;
using runtime::testing::FakeClock;
namespace res = kube::resources;

// A cache the test controls: what it holds is what the reconciler sees,
// whatever the API holds.
class HandCache final : public runtime::IndexedReader {
 public:
  void hold(const kube::Resource& r, const json& obj) { objects_[r.resource].push_back(obj); }
  Result<json> get(const kube::Resource& r, const std::string& ns,
                   const std::string& name) override {
    for (const json& o : objects_[r.resource]) {
      if (o["metadata"]["namespace"] == ns && o["metadata"]["name"] == name) {
        return o;
      }
    }
    return makeError(ErrorCode::kNotFound, name + " not cached");
  }
  Result<kube::ListPage> list(const kube::Resource&, const std::string&,
                              const kube::ListOptions&) override {
    return kube::ListPage{};
  }
  Result<std::vector<json>> byIndex(const kube::Resource& r, const std::string& index,
                                    const std::string& value, const std::string&,
                                    const std::string&) override {
    std::vector<json> out;
    for (const json& o : objects_[r.resource]) {
      const std::string ns = o["metadata"]["namespace"];
      const std::string key =
          index == kModelVersionsByModel
              ? o["spec"].value("model", "")
              : o["metadata"].value("labels", json::object()).value(std::string(kLabelPolicy), "");
      if (ns + "/" + key == value) {
        out.push_back(o);
      }
    }
    return out;
  }

 private:
  std::map<std::string, std::vector<json>> objects_;
};

class FixedPrometheus final : public prometheus::QueryClientFactory,
                              public prometheus::QueryClient {
 public:
  explicit FixedPrometheus(double value) : value_(value) {}
  Result<std::unique_ptr<prometheus::QueryClient>> make(const prometheus::ClientOptions&) override {
    return std::unique_ptr<prometheus::QueryClient>(new Forward(*this));
  }
  Result<prometheus::QueryResult> query(const std::string&) override {
    std::lock_guard lock(mu_);
    ++queries_;
    prometheus::QueryResult r;
    r.series.push_back(prometheus::Series{{}, value_});
    return r;
  }
  int queries() {
    std::lock_guard lock(mu_);
    return queries_;
  }

 private:
  struct Forward final : prometheus::QueryClient {
    explicit Forward(FixedPrometheus& target) : p(target) {}
    Result<prometheus::QueryResult> query(const std::string& q) override { return p.query(q); }
    FixedPrometheus& p;
  };
  std::mutex mu_;
  double value_;
  int queries_ = 0;
};

struct Recorded : metrics::DomainRecorder {
  void retrainTriggered(std::string_view, std::string_view model) override {
    retrains.emplace_back(model);
  }
  void checkEvaluated(std::string_view, std::string_view, std::string_view check,
                      std::string_view verdict, std::optional<double>) override {
    checks.push_back(std::string(check) + "=" + std::string(verdict));
  }
  std::vector<std::string> retrains;
  std::vector<std::string> checks;
};

json policyAtBreachAfterMinusOne() {
  json drift{
      {"checks", json::array({json{{"name", "psi"}, {"query", "drift"}, {"max", 0.2}}})},
      {"interval", "1s"},
      {"breachAfter", 3},
      {"retrain",
       {{"template",
         {{"template",
           {{"spec", {{"containers", json::array({json{{"name", "t"}, {"image", "t:1"}}})}}}}}}},
        {"cooldown", "1h"}}}};
  return json{
      {"apiVersion", "mlops.dev/v1alpha1"},
      {"kind", "DriftPolicy"},
      {"metadata", {{"name", "iris"}, {"namespace", "ml"}}},
      {"spec", {{"model", "iris"}, {"drift", drift}}},
      {"status",
       {{"productionVersion", 1},
        {"observedGeneration", 1},
        {"retrainCount", 0},
        {"lastEvaluationTime", "2000-01-01T00:00:00Z"},
        {"checks", json::array({json{
                       {"name", "psi"}, {"verdict", "Failed"}, {"consecutiveBreaches", 2}}})}}}};
}

json runOfTrigger(int n, const std::string& policy) {
  return json{
      {"apiVersion", "mlops.dev/v1alpha1"},
      {"kind", "TrainingRun"},
      {"metadata",
       {{"name", "iris-retrain-" + std::to_string(n)},
        {"namespace", "ml"},
        {"labels",
         {{std::string(kLabelPolicy), policy}, {std::string(kLabelTrigger), std::to_string(n)}}}}},
      {"spec", {{"model", "iris"}}}};
}

class DriftReconcilerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    json version{{"apiVersion", "mlops.dev/v1alpha1"},
                 {"kind", "ModelVersion"},
                 {"metadata", {{"name", "iris-v1"}, {"namespace", "ml"}}},
                 {"spec", {{"model", "iris"}, {"version", 1}}},
                 {"status", {{"phase", "Production"}}}};
    cache_.hold(res::kModelVersions, fake_.put(res::kModelVersions, version));
    cache_.hold(res::kDriftPolicies, fake_.put(res::kDriftPolicies, policyAtBreachAfterMinusOne()));
  }

  Result<runtime::ReconcileResult> reconcile() {
    DriftControllerOptions options;
    options.defaultPrometheusUrl = "http://prometheus.test";
    options.prometheus = prometheus_;
    options.recorder = &recorded_;
    DriftReconciler reconciler(cache_, fake_, events_, options, clock_);
    return reconciler.reconcile({"ml", "iris"}, runtime::ReconcileContext::background());
  }

  json policyNow() { return *fake_.object(res::kDriftPolicies, "ml", "iris"); }

  std::vector<std::string> eventReasons() {
    std::vector<std::string> out;
    for (const auto& e : events_.events()) {
      out.push_back(e.reason);
    }
    return out;
  }

  FakeClient fake_;
  HandCache cache_;
  FakeClock clock_;
  runtime::CollectingEventRecorder events_;
  std::shared_ptr<FixedPrometheus> prometheus_ = std::make_shared<FixedPrometheus>(0.5);
  Recorded recorded_;
};

TEST_F(DriftReconcilerTest, ReachingBreachAfterCreatesTheRunWritesOnceAndReportsTheMetrics) {
  auto result = reconcile();
  ASSERT_TRUE(result.ok()) << result.error().toString();
  const auto run = fake_.object(res::kTrainingRuns, "ml", "iris-retrain-1");
  ASSERT_TRUE(run);
  EXPECT_EQ((*run)["metadata"]["labels"][std::string(kLabelTrigger)], "1");
  const json p = policyNow();
  EXPECT_EQ(p["status"]["retrainCount"], 1);
  EXPECT_EQ(p["status"]["phase"], "Retraining");
  EXPECT_EQ(prometheus_->queries(), 1);
  EXPECT_EQ(recorded_.retrains, std::vector<std::string>{"iris"});
  EXPECT_EQ(recorded_.checks, std::vector<std::string>{"psi=Failed"});
  EXPECT_EQ(eventReasons(), std::vector<std::string>{kReasonRetrainTriggered});
  EXPECT_EQ(result->requeueAfter, std::chrono::milliseconds(1000));
}

TEST_F(DriftReconcilerTest, ARunTheCacheDoesNotShowYetIsAdoptedNotCreatedTwice) {
  // Created before a crash took the status write with it; the cache lags.
  fake_.put(res::kTrainingRuns, runOfTrigger(1, "iris"));
  auto result = reconcile();
  ASSERT_TRUE(result.ok()) << result.error().toString();
  const json p = policyNow();
  EXPECT_EQ(p["status"]["retrainCount"], 1);
  EXPECT_EQ(p["status"]["lastRetrain"]["trainingRun"], "iris-retrain-1");
  EXPECT_FALSE(fake_.object(res::kTrainingRuns, "ml", "iris-retrain-2"));
  // Adopted, not created: no second retrain counted, no trigger Event.
  EXPECT_TRUE(recorded_.retrains.empty());
  EXPECT_TRUE(eventReasons().empty()) << eventReasons().front();
}

TEST_F(DriftReconcilerTest, AStrangersRunOfTheSameNameIsNeverAdopted) {
  fake_.put(res::kTrainingRuns, runOfTrigger(1, "someone-else"));
  auto result = reconcile();
  ASSERT_TRUE(result.ok()) << result.error().toString();
  const json p = policyNow();
  EXPECT_EQ(p["status"]["retrainCount"], 0);
  EXPECT_NE(p["status"]["message"].get<std::string>().find("not created by this trigger"),
            std::string::npos)
      << p["status"]["message"];
  EXPECT_EQ(eventReasons(), std::vector<std::string>{kReasonRetrainFailed});
  EXPECT_TRUE(recorded_.retrains.empty());
}

TEST_F(DriftReconcilerTest, ARunJustCreatedCountsAsUnfinishedBeforeTheCacheShowsIt) {
  // Trigger 1 recorded a second ago; its run is on the API server only.
  json p = policyNow();
  p["spec"]["drift"]["retrain"]["cooldown"] = "0s";
  p["status"]["retrainCount"] = 1;
  p["status"]["checks"][0]["consecutiveBreaches"] = 3;
  p["status"]["lastRetrain"] = {
      {"time", objects::formatTimestamp(clock_.wallNow() - std::chrono::seconds(1))},
      {"trainingRun", "iris-retrain-1"},
      {"check", "psi"}};
  cache_ = HandCache();
  cache_.hold(res::kModelVersions, *fake_.object(res::kModelVersions, "ml", "iris-v1"));
  cache_.hold(res::kDriftPolicies, fake_.put(res::kDriftPolicies, p));
  fake_.put(res::kTrainingRuns, runOfTrigger(1, "iris"));
  auto result = reconcile();
  ASSERT_TRUE(result.ok()) << result.error().toString();
  // maxConcurrent 1 holds: no second run.
  EXPECT_FALSE(fake_.object(res::kTrainingRuns, "ml", "iris-retrain-2"));
  EXPECT_EQ(policyNow()["status"]["phase"], "Retraining");
}

TEST_F(DriftReconcilerTest, ARefusedStatusWriteReportsNoMetrics) {
  // Another writer changed the policy since the cache read it: Conflict.
  json moved = policyNow();
  moved["metadata"]["labels"]["touched"] = "yes";
  fake_.put(res::kDriftPolicies, moved);
  auto result = reconcile();
  ASSERT_TRUE(result.ok()) << result.error().toString();
  EXPECT_TRUE(result->requeue);
  EXPECT_TRUE(recorded_.checks.empty());
  EXPECT_TRUE(recorded_.retrains.empty());
  // The run it created is adopted by the next reconcile, not created again.
  EXPECT_TRUE(fake_.object(res::kTrainingRuns, "ml", "iris-retrain-1"));
}

}  // namespace
}  // namespace mlops::drift
