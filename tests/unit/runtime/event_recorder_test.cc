#include "runtime/event_recorder.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "fake_client.h"
#include "fake_clock.h"
#include "test_util.h"

namespace mlops::runtime {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::FakeClient;

nlohmann::json trainingRun() {
  return {{"apiVersion", "mlops.dev/v1alpha1"},
          {"kind", "TrainingRun"},
          {"metadata",
           {{"namespace", "team"}, {"name", "run-1"}, {"uid", "u-1"}, {"resourceVersion", "42"}}}};
}

std::vector<nlohmann::json> events(FakeClient& client) {
  auto page = client.list(kube::resources::kEvents, "");
  std::vector<nlohmann::json> out;
  for (auto& e : page->items) out.push_back(e);
  return out;
}

EventRecorderOptions fastOptions(const Clock* clock) {
  EventRecorderOptions o;
  o.host = "test-host";
  o.retryDelay = 1ms;
  o.clock = clock;
  return o;
}

TEST(EventRecorderTest, WritesACoreV1Event) {
  FakeClient client;
  testing::FakeClock clock;
  KubeEventRecorder recorder(client, fastOptions(&clock));
  recorder.start();
  recorder.event(trainingRun(), EventType::kWarning, "ValidationFailed", "accuracy 0.8 < 0.9");
  ASSERT_TRUE(eventually([&] { return events(client).size() == 1; }));
  auto e = events(client)[0];
  EXPECT_EQ(e["metadata"]["namespace"], "team");
  EXPECT_EQ(e["metadata"]["name"].get<std::string>().rfind("run-1.", 0), 0u);
  EXPECT_EQ(e["involvedObject"]["kind"], "TrainingRun");
  EXPECT_EQ(e["involvedObject"]["apiVersion"], "mlops.dev/v1alpha1");
  EXPECT_EQ(e["involvedObject"]["name"], "run-1");
  EXPECT_EQ(e["involvedObject"]["namespace"], "team");
  EXPECT_EQ(e["involvedObject"]["uid"], "u-1");
  EXPECT_EQ(e["reason"], "ValidationFailed");
  EXPECT_EQ(e["message"], "accuracy 0.8 < 0.9");
  EXPECT_EQ(e["type"], "Warning");
  EXPECT_EQ(e["source"]["component"], "mlops-operator");
  EXPECT_EQ(e["source"]["host"], "test-host");
  EXPECT_EQ(e["reportingComponent"], "mlops-operator");
  EXPECT_EQ(e["count"], 1);
  EXPECT_EQ(e["firstTimestamp"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(e["lastTimestamp"], "2023-11-14T22:13:20Z");
  recorder.stop(1s);
}

TEST(EventRecorderTest, AggregatesRepeatsIntoACount) {
  FakeClient client;
  testing::FakeClock clock;
  KubeEventRecorder recorder(client, fastOptions(&clock));
  recorder.start();
  recorder.event(trainingRun(), EventType::kNormal, "Created", "created job run-1");
  ASSERT_TRUE(eventually([&] { return events(client).size() == 1; }));
  clock.advance(5s);
  recorder.event(trainingRun(), EventType::kNormal, "Created", "created job run-1");
  recorder.event(trainingRun(), EventType::kNormal, "Created", "created job run-1");
  recorder.event(trainingRun(), EventType::kNormal, "Other", "different reason");
  recorder.stop(5s);
  auto all = events(client);
  ASSERT_EQ(all.size(), 2u);
  for (const auto& e : all) {
    if (e["reason"] == "Created") {
      EXPECT_EQ(e["count"], 3);
      EXPECT_EQ(e["firstTimestamp"], "2023-11-14T22:13:20Z");
      EXPECT_EQ(e["lastTimestamp"], "2023-11-14T22:13:25Z");
    } else {
      EXPECT_EQ(e["count"], 1);
    }
  }
}

TEST(EventRecorderTest, StartsAnewWhenTheAggregatedEventIsGone) {
  FakeClient client;
  KubeEventRecorder recorder(client, fastOptions(nullptr));
  recorder.start();
  recorder.event(trainingRun(), EventType::kNormal, "Created", "x");
  ASSERT_TRUE(eventually([&] { return events(client).size() == 1; }));
  const std::string first = events(client)[0]["metadata"]["name"];
  client.erase(kube::resources::kEvents, "team", first);
  recorder.event(trainingRun(), EventType::kNormal, "Created", "x");
  ASSERT_TRUE(eventually([&] { return events(client).size() == 1; }));
  EXPECT_EQ(events(client)[0]["count"], 1);
  recorder.stop(1s);
}

TEST(EventRecorderTest, RetriesFailedWritesThenDrops) {
  FakeClient client;
  KubeEventRecorder recorder(client, fastOptions(nullptr));
  recorder.start();
  client.failNextWrites(2, makeError(ErrorCode::kUnavailable, "refused"));
  recorder.event(trainingRun(), EventType::kNormal, "A", "retried");
  ASSERT_TRUE(eventually([&] { return events(client).size() == 1; }));
  client.failNextWrites(3, makeError(ErrorCode::kUnavailable, "refused"));
  recorder.event(trainingRun(), EventType::kNormal, "B", "dropped");
  recorder.event(trainingRun(), EventType::kNormal, "C", "written");
  recorder.stop(5s);
  auto all = events(client);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(client.writeCalls(), 2 + 1 + 3 + 1);
}

TEST(EventRecorderTest, NeverBlocksAndDropsWhenTheQueueIsFull) {
  FakeClient client;
  auto o = fastOptions(nullptr);
  o.queueCapacity = 5;
  KubeEventRecorder recorder(client, o);  // not started: nothing drains
  const auto before = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    recorder.event(trainingRun(), EventType::kNormal, "R", "m" + std::to_string(i));
  }
  EXPECT_LT(std::chrono::steady_clock::now() - before, 1s);
  EXPECT_EQ(recorder.pending(), 5u);
  EXPECT_EQ(recorder.dropped(), 15u);
}

// Cache of two: A, B, A, C, B, C. C pushes out B (least recently used, not
// A, the first written), so B starts a second Event; the next B pushes out A,
// and C is still cached and counted.
TEST(EventRecorderTest, AggregationForgetsTheLeastRecentlyUsedEvent) {
  FakeClient client;
  testing::FakeClock clock;
  auto o = fastOptions(&clock);
  o.aggregationCacheSize = 2;
  KubeEventRecorder recorder(client, o);
  recorder.start();
  for (const char* reason : {"A", "B", "A", "C", "B", "C"}) {
    recorder.event(trainingRun(), EventType::kNormal, reason, "same message");
  }
  recorder.stop(5s);
  std::map<std::string, std::vector<int>> counts;
  for (const auto& e : events(client)) {
    counts[e["reason"].get<std::string>()].push_back(e["count"].get<int>());
  }
  for (auto& [reason, c] : counts) std::sort(c.begin(), c.end());
  EXPECT_EQ(counts,
            (std::map<std::string, std::vector<int>>{{"A", {2}}, {"B", {1, 1}}, {"C", {2}}}));
}

// Accepts every write and keeps nothing, so that the heap holds only what
// the recorder keeps.
class DiscardingWriter final : public kube::Writer {
 public:
  Result<kube::Json> create(const kube::Resource&, const std::string&, const kube::Json& obj,
                            const kube::WriteOptions&) override {
    return obj;
  }
  Result<kube::Json> update(const kube::Resource&, const std::string&, const kube::Json& obj,
                            const kube::WriteOptions&) override {
    return obj;
  }
  Result<kube::Json> mergePatch(const kube::Resource&, const std::string&, const std::string&,
                                const kube::Json& patch, const std::string&,
                                const kube::WriteOptions&) override {
    return patch;
  }
  Result<kube::Json> apply(const kube::Resource&, const std::string&, const kube::Json& obj,
                           const kube::ApplyOptions&, const std::string&) override {
    return obj;
  }
  Result<kube::Json> remove(const kube::Resource&, const std::string&, const std::string&,
                            const kube::DeleteOptions&) override {
    return kube::Json::object();
  }
};

// Figure: heap the aggregation cache holds per event, full (4096 distinct
// events of the kind a training run records: a UID and a sentence).
TEST(EventRecorderTest, FigureAggregationCacheBytesPerEvent) {
  DiscardingWriter writer;
  constexpr int kEvents = 4096;
  std::vector<nlohmann::json> runs;
  for (int i = 0; i < kEvents; ++i) {
    nlohmann::json run = trainingRun();
    run["metadata"]["name"] = "churn-model-run-" + std::to_string(i);
    run["metadata"]["uid"] = "6f1c2d3e-4b5a-4c6d-8e7f-" + std::to_string(100000000000 + i);
    runs.push_back(std::move(run));
  }
  const std::size_t before = mallinfo2().uordblks;
  {
    auto o = fastOptions(nullptr);
    o.queueCapacity = kEvents;
    KubeEventRecorder recorder(writer, o);
    recorder.start();
    for (const auto& run : runs) {
      recorder.event(run, EventType::kNormal, "Succeeded",
                     "the trainer's pod succeeded; results: 3 metrics, artifact recorded");
    }
    recorder.stop(30s);
    EXPECT_EQ(recorder.pending(), 0u);
    EXPECT_EQ(recorder.dropped(), 0u);
    const std::size_t held = mallinfo2().uordblks - before;
    std::printf("aggregation cache: %zu bytes per event over %d events\n", held / kEvents, kEvents);
  }
}

TEST(EventRecorderTest, ClusterScopedObjectsGetEventsInDefault) {
  FakeClient client;
  KubeEventRecorder recorder(client, fastOptions(nullptr));
  nlohmann::json node = {
      {"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "team"}}}};
  auto e = recorder.buildEvent(node, EventType::kNormal, "R", std::string(3000, 'x'),
                               std::chrono::system_clock::now());
  EXPECT_EQ(e["metadata"]["namespace"], "default");
  EXPECT_FALSE(e["involvedObject"].contains("namespace"));
  EXPECT_EQ(e["message"].get<std::string>().size(), 1024u);
}

TEST(CollectingEventRecorderTest, KeepsEvents) {
  CollectingEventRecorder recorder;
  recorder.event(trainingRun(), EventType::kWarning, "R", "m");
  auto all = recorder.events();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].objectKey, "team/run-1");
  EXPECT_EQ(all[0].kind, "TrainingRun");
  EXPECT_EQ(all[0].type, EventType::kWarning);
}

}  // namespace
}  // namespace mlops::runtime
