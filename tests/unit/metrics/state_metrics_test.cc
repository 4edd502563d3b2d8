#include "metrics/state_metrics.h"

#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <string>

#include "fake_client.h"
#include "runtime/informer.h"
#include "runtime/metrics.h"
#include "scrape.h"
#include "test_util.h"

namespace mlops::metrics {
namespace {

using nlohmann::json;
using runtime::testing::eventually;
using runtime::testing::FakeClient;
using testing::sample;
using testing::scrape;

json run(const std::string& ns, const std::string& name, const std::string& phase) {
  json r{{"apiVersion", "mlops.dev/v1alpha1"},
         {"kind", "TrainingRun"},
         {"metadata", {{"namespace", ns}, {"name", name}}},
         {"spec", {{"model", "iris"}}}};
  if (!phase.empty()) {
    r["status"] = {{"phase", phase}};
  }
  return r;
}

json version(const std::string& ns, const std::string& model, int number,
             const std::string& phase) {
  json v{{"apiVersion", "mlops.dev/v1alpha1"},
         {"kind", "ModelVersion"},
         {"metadata", {{"namespace", ns}, {"name", model + "-v" + std::to_string(number)}}},
         {"spec", {{"model", model}, {"version", number}}}};
  if (!phase.empty()) {
    v["status"] = {{"phase", phase}};
  }
  return v;
}

runtime::ObjectPtr ptr(json obj) {
  return std::make_shared<const json>(std::move(obj));
}

// What main does: the collector counts these indexes.
void addStateIndexes(runtime::Indexer& runs, runtime::Indexer& versions) {
  ASSERT_TRUE(runs.addIndex(kRunStateIndex, runStateIndex()));
  ASSERT_TRUE(versions.addIndex(kVersionStateIndex, versionStateIndex()));
}

// The scrape by counting the indexes, checked equal to the scrape by reading
// every object (the collector without its indexes).
std::string scrapeBothWays(runtime::Indexer& runs, runtime::Indexer& versions) {
  const std::string byObjects = scrape(StateCollector(runs, versions));
  addStateIndexes(runs, versions);
  const std::string byIndexes = scrape(StateCollector(runs, versions));
  EXPECT_EQ(byIndexes, byObjects);
  return byIndexes;
}

TEST(StateFamiliesTest, CountsRunsPerNamespaceAndPhaseWithZerosForTheOthers) {
  const std::string t = scrape(StateCollector(runtime::Indexer(), runtime::Indexer()));
  EXPECT_EQ(t.find("mlops_trainingruns{"), std::string::npos) << "no runs, no series:\n" << t;

  runtime::Indexer runs;
  runs.upsert("a/r1", ptr(run("a", "r1", "Succeeded")));
  runs.upsert("a/r2", ptr(run("a", "r2", "Succeeded")));
  runs.upsert("a/r3", ptr(run("a", "r3", "Running")));
  runs.upsert("a/r4", ptr(run("a", "r4", "")));  // not yet seen by the controller
  runs.upsert("b/r1", ptr(run("b", "r1", "Failed")));
  runtime::Indexer versions;
  const std::string s = scrapeBothWays(runs, versions);
  EXPECT_EQ(sample(s, R"(mlops_trainingruns{namespace="a",phase="Succeeded"})"), "2") << s;
  EXPECT_EQ(sample(s, R"(mlops_trainingruns{namespace="a",phase="Running"})"), "1");
  EXPECT_EQ(sample(s, R"(mlops_trainingruns{namespace="a",phase="Pending"})"), "1");
  EXPECT_EQ(sample(s, R"(mlops_trainingruns{namespace="a",phase="Failed"})"), "0");
  EXPECT_EQ(sample(s, R"(mlops_trainingruns{namespace="b",phase="Failed"})"), "1");
  EXPECT_EQ(sample(s, R"(mlops_trainingruns{namespace="b",phase="Succeeded"})"), "0");
  EXPECT_NE(s.find("# TYPE mlops_trainingruns gauge"), std::string::npos);
}

TEST(StateFamiliesTest, OneInfoSeriesPerVersionWithItsPhase) {
  runtime::Indexer runs;
  runtime::Indexer versions;
  versions.upsert("ml/iris-v1", ptr(version("ml", "iris", 1, "Superseded")));
  versions.upsert("ml/iris-v2", ptr(version("ml", "iris", 2, "Production")));
  versions.upsert("ml/iris-v3", ptr(version("ml", "iris", 3, "")));
  // A status the operator did not write, with the separator of the index
  // values in it: the label keeps it whole.
  versions.upsert("ml/odd-v1", ptr(version("ml", "odd", 1, "Two\nLines")));
  const std::string s = scrapeBothWays(runs, versions);
  EXPECT_NE(s.find(R"(model="odd",version="1",phase="Two\nLines"})"), std::string::npos) << s;
  EXPECT_EQ(
      sample(
          s,
          R"(mlops_modelversion_info{namespace="ml",model="iris",version="1",phase="Superseded"})"),
      "1")
      << s;
  EXPECT_EQ(
      sample(
          s,
          R"(mlops_modelversion_info{namespace="ml",model="iris",version="2",phase="Production"})"),
      "1");
  EXPECT_EQ(
      sample(s,
             R"(mlops_modelversion_info{namespace="ml",model="iris",version="3",phase="Unknown"})"),
      "1");
}

// Not a timed assertion: the cost of one scrape of the state gauges over a
// large cache, printed.
TEST(StateFamiliesTest, FigureScrapeCostOverTenThousandObjects) {
  constexpr int kObjects = 10'000;
  runtime::Indexer runs;
  runtime::Indexer versions;
  for (int i = 0; i < kObjects; ++i) {
    const std::string ns = "ns" + std::to_string(i % 20);
    runs.upsert(ns + "/r" + std::to_string(i), ptr(run(ns, "r" + std::to_string(i), "Succeeded")));
    versions.upsert(ns + "/m-v" + std::to_string(i),
                    ptr(version(ns, "m" + std::to_string(i % 100), i, "Superseded")));
  }
  auto timedCollect = [&](const char* how) {
    StateCollector collector(runs, versions);
    const auto start = std::chrono::steady_clock::now();
    auto families = collector.Collect();
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::cout << "[figures] state gauges over " << kObjects << " TrainingRuns and " << kObjects
              << " ModelVersions: one Collect() " << how << " " << ms << " ms\n";
    return families;
  };
  const auto byObjects = timedCollect("reading every object");
  addStateIndexes(runs, versions);
  const auto byIndexes = timedCollect("counting the indexes");
  ASSERT_EQ(byIndexes.size(), 2U);
  EXPECT_EQ(byIndexes[0].metric.size(), 20U * 4);  // 20 namespaces x 4 phases
  EXPECT_EQ(byIndexes[1].metric.size(), static_cast<size_t>(kObjects));
  ASSERT_EQ(byObjects.size(), 2U);
  EXPECT_EQ(byObjects[0].metric.size(), byIndexes[0].metric.size());
  EXPECT_EQ(byObjects[1].metric.size(), byIndexes[1].metric.size());
}

// Through real informers over the in-memory API server, as wired in main via
// RuntimeMetrics: a phase change moves the series, a deletion removes it, and
// a collector that is gone is no longer asked.
TEST(StateCollectorTest, FollowsTheInformerCachesThroughRuntimeMetrics) {
  FakeClient api;
  runtime::Informer runs(api, api, kube::resources::kTrainingRuns);
  runtime::Informer versions(api, api, kube::resources::kModelVersions);
  api.put(kube::resources::kTrainingRuns, run("ml", "r1", "Running"));
  api.put(kube::resources::kModelVersions, version("ml", "iris", 1, "Canary"));
  ASSERT_TRUE(runs.addIndex(kRunStateIndex, runStateIndex()));
  ASSERT_TRUE(versions.addIndex(kVersionStateIndex, versionStateIndex()));
  runs.start();
  versions.start();
  ASSERT_TRUE(runs.waitForSync(std::chrono::seconds(10)));
  ASSERT_TRUE(versions.waitForSync(std::chrono::seconds(10)));

  runtime::RuntimeMetrics metrics;
  metrics.setLeader("lease", true);
  auto collector = std::make_shared<const StateCollector>(runs.indexer(), versions.indexer());
  metrics.addCollectable(collector);
  const std::string first = metrics.serialize();
  EXPECT_EQ(sample(first, R"(mlops_trainingruns{namespace="ml",phase="Running"})"), "1") << first;
  EXPECT_TRUE(sample(
      first, R"(mlops_modelversion_info{namespace="ml",model="iris",version="1",phase="Canary"})"));
  EXPECT_NE(first.find("leader_election_master_status{name=\"lease\"} 1"), std::string::npos)
      << "the registry's families too";

  api.put(kube::resources::kTrainingRuns, run("ml", "r1", "Succeeded"));
  api.put(kube::resources::kModelVersions, version("ml", "iris", 1, "Production"));
  EXPECT_TRUE(eventually([&] {
    const std::string t = metrics.serialize();
    return sample(t, R"(mlops_trainingruns{namespace="ml",phase="Succeeded"})") == "1" &&
           sample(
               t,
               R"(mlops_modelversion_info{namespace="ml",model="iris",version="1",phase="Production"})");
  })) << metrics.serialize();
  const std::string moved = metrics.serialize();
  EXPECT_EQ(sample(moved, R"(mlops_trainingruns{namespace="ml",phase="Running"})"), "0");
  EXPECT_FALSE(sample(
      moved, R"(mlops_modelversion_info{namespace="ml",model="iris",version="1",phase="Canary"})"));

  api.erase(kube::resources::kModelVersions, "ml", "iris-v1");
  api.erase(kube::resources::kTrainingRuns, "ml", "r1");
  EXPECT_TRUE(eventually([&] {
    const std::string t = metrics.serialize();
    return t.find("mlops_modelversion_info{") == std::string::npos &&
           t.find("mlops_trainingruns{") == std::string::npos;
  })) << metrics.serialize();

  api.put(kube::resources::kTrainingRuns, run("ml", "r2", "Running"));
  ASSERT_TRUE(eventually([&] { return runs.indexer().size() == 1; }));
  collector.reset();
  EXPECT_EQ(metrics.serialize().find("mlops_trainingruns"), std::string::npos);
  runs.stop();
  versions.stop();
}

}  // namespace
}  // namespace mlops::metrics
