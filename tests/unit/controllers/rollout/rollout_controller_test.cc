// The rollout reconciler's reports to the DomainRecorder: each promotion,
// rollback and check evaluation once, after the status write that records
// it, however the reconcile is retried. Over the in-memory API server
// (FakeClient), read live through a small IndexedReader (or a stale snapshot
// of it, as a lagging cache would answer), with a fixed Prometheus.
#include "controllers/rollout/rollout_controller.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "fake_client.h"
#include "fake_clock.h"
#include "hooked_client.h"
#include "objects/timestamps.h"
#include "runtime/object.h"

namespace mlops::rollout {
namespace {

using Json = nlohmann::json;
using runtime::testing::FakeClient;
using runtime::testing::FakeClock;
using training::testing::apiError;
using training::testing::HookedClient;

// Reads the fake API server as the cache would once caught up; with
// `staleVersions` set, answers the ModelVersions from that snapshot instead.
class LiveReader final : public runtime::IndexedReader {
 public:
  explicit LiveReader(FakeClient& api) : api_(api) {}

  Result<Json> get(const kube::Resource& r, const std::string& ns,
                   const std::string& name) override {
    return api_.get(r, ns, name);
  }
  Result<kube::ListPage> list(const kube::Resource& r, const std::string& ns,
                              const kube::ListOptions& opts = {}) override {
    return api_.list(r, ns, opts);
  }
  Result<std::vector<Json>> byIndex(const kube::Resource& r, const std::string& /*index*/,
                                    const std::string& value,
                                    const std::string& /*labelSelector*/ = "",
                                    const std::string& /*fieldSelector*/ = "") override {
    if (staleVersions) {
      return *staleVersions;
    }
    const auto slash = value.find('/');
    auto page = api_.list(r, value.substr(0, slash));
    if (!page.ok()) {
      return page.error();
    }
    std::vector<Json> out;
    for (const Json& item : page->items) {
      if (item["spec"].value("model", "") == value.substr(slash + 1)) {
        out.push_back(item);
      }
    }
    return out;
  }

  std::optional<std::vector<Json>> staleVersions;

 private:
  FakeClient& api_;
};

// Answers every query with the value set for the check's metric name.
class FixedPrometheus final : public prometheus::QueryClientFactory {
 public:
  void set(const std::string& metric, double value) {
    std::lock_guard lock(mu_);
    values_[metric] = value;
  }
  Result<std::unique_ptr<prometheus::QueryClient>> make(const prometheus::ClientOptions&) override {
    return std::unique_ptr<prometheus::QueryClient>(std::make_unique<Client>(*this));
  }

 private:
  class Client final : public prometheus::QueryClient {
   public:
    explicit Client(FixedPrometheus& owner) : owner_(owner) {}
    Result<prometheus::QueryResult> query(const std::string& promql) override {
      std::lock_guard lock(owner_.mu_);
      for (const auto& [metric, value] : owner_.values_) {
        if (promql.rfind(metric, 0) == 0) {
          return prometheus::QueryResult{
              prometheus::ResultType::kVector, {prometheus::Series{{}, value}}, "", {}};
        }
      }
      return makeError(ErrorCode::kUnavailable, "no value set for " + promql);
    }

   private:
    FixedPrometheus& owner_;
  };
  std::mutex mu_;
  std::map<std::string, double> values_;
};

// Every call as one line, in order.
class RecordingRecorder final : public metrics::DomainRecorder {
 public:
  void promoted(std::string_view ns, std::string_view model) override {
    add("promoted " + key(ns, model));
  }
  void rolledBack(std::string_view ns, std::string_view model, std::string_view reason) override {
    add("rolledBack " + key(ns, model) + " " + std::string(reason));
  }
  void retrainTriggered(std::string_view ns, std::string_view model) override {
    add("retrainTriggered " + key(ns, model));
  }
  void checkEvaluated(std::string_view ns, std::string_view model, std::string_view check,
                      std::string_view verdict, std::optional<double> value) override {
    add("checkEvaluated " + key(ns, model) + " " + std::string(check) + " " + std::string(verdict) +
        " " + (value ? formatValue(*value) : "none"));
  }
  void modelForgotten(std::string_view ns, std::string_view model) override {
    add("modelForgotten " + key(ns, model));
  }
  void modelGone(std::string_view ns, std::string_view model) override {
    add("modelGone " + key(ns, model));
  }

  // The calls, without the removal calls (made on every reconcile of a model
  // without a policy), unless `withRemovals`.
  std::vector<std::string> calls(bool withRemovals = false) const {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& c : calls_) {
      if (withRemovals || (c.rfind("modelForgotten", 0) != 0 && c.rfind("modelGone", 0) != 0)) {
        out.push_back(c);
      }
    }
    return out;
  }
  void clear() {
    std::lock_guard lock(mu_);
    calls_.clear();
  }

 private:
  static std::string key(std::string_view ns, std::string_view model) {
    return std::string(ns) + "/" + std::string(model);
  }
  static std::string formatValue(double v) {
    std::string s = std::to_string(v);
    s.erase(s.find_last_not_of('0') + 1);
    return s;
  }
  void add(std::string call) {
    std::lock_guard lock(mu_);
    calls_.push_back(std::move(call));
  }
  mutable std::mutex mu_;
  std::vector<std::string> calls_;
};

Json version(int64_t number, const std::string& stage) {
  const std::string name = "iris-v" + std::to_string(number);
  return Json{
      {"apiVersion", "mlops.dev/v1alpha1"},
      {"kind", "ModelVersion"},
      {"metadata", {{"name", name}, {"namespace", "ml"}}},
      {"spec",
       {{"model", "iris"},
        {"version", number},
        {"stage", stage},
        {"artifact",
         {{"uri", "s3://models/iris/" + std::to_string(number)}, {"digest", "sha256:ab"}}},
        {"serving",
         {{"template",
           {{"spec",
             {{"containers", Json::array({Json{{"name", "server"}, {"image", "srv:1"}}})}}}}},
          {"replicas", 1}}}}},
  };
}

Json policy() {
  Json checks = Json::array({Json{{"name", "error-rate"}, {"query", "errors{}"}, {"max", 0.05}},
                             Json{{"name", "latency"}, {"query", "latency{}"}, {"max", 1.0}}});
  return Json{
      {"apiVersion", "mlops.dev/v1alpha1"},
      {"kind", "DriftPolicy"},
      {"metadata", {{"name", "iris"}, {"namespace", "ml"}}},
      {"spec",
       {{"model", "iris"},
        {"analysis",
         {{"checks", checks}, {"interval", "10s"}, {"initialDelay", "0s"}, {"count", 3}}}}}};
}

class RolloutReconcilerMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RolloutControllerOptions options;
    options.defaultPrometheusUrl = "http://prometheus.test:9090";
    options.prometheus = prometheus_;
    options.recorder = &recorder_;
    reconciler_ =
        std::make_unique<RolloutReconciler>(reader_, api_, events_, std::move(options), clock_);
  }

  Result<runtime::ReconcileResult> reconcile() {
    return reconciler_->reconcile(runtime::Request{"ml", "iris"},
                                  runtime::ReconcileContext::background());
  }
  void reconcileOk() {
    auto r = reconcile();
    ASSERT_TRUE(r.ok()) << r.error().toString();
  }
  Json object(const kube::Resource& r, const std::string& name) {
    auto obj = fake_.object(r, "ml", name);
    return obj ? *obj : Json();
  }
  std::string phaseOf(const std::string& name) {
    return object(kube::resources::kModelVersions, name)["status"].value("phase", "");
  }
  // The Deployment controller's part: the Deployment rolled out, Available
  // for a minute.
  void makeAvailable(const std::string& name) {
    Json d = object(kube::resources::kDeployments, name);
    ASSERT_TRUE(d.is_object()) << "no Deployment " << name;
    const int64_t replicas = d["spec"].value("replicas", 1);
    d["status"] =
        Json{{"observedGeneration", d["metadata"]["generation"]},
             {"replicas", replicas},
             {"updatedReplicas", replicas},
             {"availableReplicas", replicas},
             {"conditions",
              Json::array(
                  {Json{{"type", "Available"},
                        {"status", "True"},
                        {"lastTransitionTime",
                         objects::formatTimestamp(clock_.wallNow() - std::chrono::minutes(1))}}})}};
    fake_.put(kube::resources::kDeployments, d);
  }
  // The next status write of a ModelVersion answers Conflict.
  void conflictOnNextStatusWrite() {
    auto armed = std::make_shared<bool>(true);
    api_.setHook([armed](const HookedClient::Call& call, const Json&) -> std::optional<Error> {
      if (call.verb == "updateStatus" && *armed) {
        *armed = false;
        return apiError(ErrorCode::kConflict, 409, "Conflict", "the object has been modified");
      }
      return std::nullopt;
    });
  }
  std::vector<Json> versionsNow() {
    auto list = fake_.list(kube::resources::kModelVersions, "ml");
    std::vector<Json> out;
    if (list.ok()) {
      out.assign(list->items.begin(), list->items.end());
    }
    return out;
  }

  FakeClient fake_;
  HookedClient api_{fake_};
  LiveReader reader_{fake_};
  FakeClock clock_;
  runtime::CollectingEventRecorder events_;
  std::shared_ptr<FixedPrometheus> prometheus_ = std::make_shared<FixedPrometheus>();
  RecordingRecorder recorder_;
  std::unique_ptr<RolloutReconciler> reconciler_;
};

TEST_F(RolloutReconcilerMetricsTest, PromotionReportedOnceAfterTheStatusWriteThatMadeIt) {
  fake_.put(kube::resources::kModelVersions, version(1, "Production"));
  reconcileOk();  // Promoting: the stable Deployment applied
  ASSERT_EQ(phaseOf("iris-v1"), "Registered");
  makeAvailable("iris");
  // The swap: the production finalizer is added first, which moves the
  // resourceVersion on, so this status write conflicts by itself.
  reconcileOk();
  EXPECT_EQ(phaseOf("iris-v1"), "Registered");
  ASSERT_EQ(object(kube::resources::kModelVersions, "iris-v1")["metadata"]["finalizers"].size(),
            1U);

  conflictOnNextStatusWrite();
  reconcileOk();  // the swap again, its status write refused
  EXPECT_EQ(phaseOf("iris-v1"), "Registered");
  EXPECT_TRUE(recorder_.calls().empty()) << "a promotion whose status write failed is not one";

  const std::vector<Json> beforeSwap = versionsNow();
  reconcileOk();
  ASSERT_EQ(phaseOf("iris-v1"), "Production");
  EXPECT_EQ(recorder_.calls(), std::vector<std::string>{"promoted ml/iris"});

  // A lagging cache still shows the version Promoting: the decision writes
  // the swap again, the API server refuses the stale resourceVersion, and
  // nothing is reported twice.
  reader_.staleVersions = beforeSwap;
  auto stale = reconcile();
  ASSERT_TRUE(stale.ok()) << stale.error().toString();
  EXPECT_TRUE(stale->requeue);
  reader_.staleVersions.reset();
  reconcileOk();
  reconcileOk();
  EXPECT_EQ(recorder_.calls(), std::vector<std::string>{"promoted ml/iris"});
}

TEST_F(RolloutReconcilerMetricsTest, CanaryEvaluationsAndRollbackReportedOnceEach) {
  // Version 1 in production, served and available.
  fake_.put(kube::resources::kModelVersions, version(1, "Production"));
  reconcileOk();
  makeAvailable("iris");
  reconcileOk();  // the finalizer (the status write conflicts)
  reconcileOk();
  ASSERT_EQ(phaseOf("iris-v1"), "Production")
      << object(kube::resources::kModelVersions, "iris-v1")["status"].dump();
  fake_.put(kube::resources::kDriftPolicies, policy());
  recorder_.clear();

  // Version 2 canaried.
  fake_.put(kube::resources::kModelVersions, version(2, "Production"));
  reconcileOk();
  ASSERT_EQ(phaseOf("iris-v2"), "Canary");
  makeAvailable("iris-canary");
  EXPECT_TRUE(recorder_.calls().empty());

  // The first evaluation's status write fails: not reported.
  prometheus_->set("errors", 0.25);
  prometheus_->set("latency", 0.5);
  conflictOnNextStatusWrite();
  reconcileOk();
  EXPECT_TRUE(recorder_.calls().empty()) << recorder_.calls().front();

  // Measured again and recorded: each check once; the failure decides a rollback.
  reconcileOk();
  EXPECT_EQ(recorder_.calls(),
            (std::vector<std::string>{"checkEvaluated ml/iris error-rate Failed 0.25",
                                      "checkEvaluated ml/iris latency Successful 0.5"}));
  EXPECT_EQ(object(kube::resources::kModelVersions, "iris-v2")["status"]["reason"], "RollingBack");

  // Carried out: RolledBack with the deciding reason, reported once.
  recorder_.clear();
  reconcileOk();
  ASSERT_EQ(phaseOf("iris-v2"), "RolledBack");
  EXPECT_EQ(recorder_.calls(), std::vector<std::string>{"rolledBack ml/iris AnalysisFailed"});
  recorder_.clear();
  reconcileOk();
  reconcileOk();
  EXPECT_TRUE(recorder_.calls().empty()) << recorder_.calls().front();
}

TEST_F(RolloutReconcilerMetricsTest, SeriesOfWhatIsGoneAreRemoved) {
  fake_.put(kube::resources::kDriftPolicies, policy());
  fake_.put(kube::resources::kModelVersions, version(1, "None"));
  reconcileOk();
  EXPECT_TRUE(recorder_.calls(true).empty()) << "policy and version live: nothing removed";

  fake_.erase(kube::resources::kDriftPolicies, "ml", "iris");
  reconcileOk();
  EXPECT_EQ(recorder_.calls(true), std::vector<std::string>{"modelForgotten ml/iris"});

  recorder_.clear();
  fake_.erase(kube::resources::kModelVersions, "ml", "iris-v1");
  reconcileOk();
  EXPECT_EQ(recorder_.calls(true),
            (std::vector<std::string>{"modelForgotten ml/iris", "modelGone ml/iris"}));
}

}  // namespace
}  // namespace mlops::rollout
