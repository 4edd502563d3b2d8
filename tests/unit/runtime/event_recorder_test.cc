#include "runtime/event_recorder.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>

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

nlohmann::json trainingRunNamed(const std::string& name) {
  nlohmann::json run = trainingRun();
  run["metadata"]["name"] = name;
  return run;
}

std::vector<nlohmann::json> events(FakeClient& client) {
  auto page = client.list(kube::resources::kEvents, "");
  std::vector<nlohmann::json> out;
  for (auto& e : page->items) out.push_back(e);
  return out;
}

// One writer: the tests below count writes and failures in order.
EventRecorderOptions fastOptions(const Clock* clock) {
  EventRecorderOptions o;
  o.host = "test-host";
  o.retryDelay = 1ms;
  o.clock = clock;
  o.writers = 1;
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
class DiscardingWriter : public kube::Writer {
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

EventRecorderOptions withWriters(int writers) {
  EventRecorderOptions o = fastOptions(nullptr);
  o.writers = writers;
  return o;
}

// Holds every create until released, counting the creates in flight.
class GatedWriter final : public DiscardingWriter {
 public:
  Result<kube::Json> create(const kube::Resource&, const std::string&, const kube::Json& obj,
                            const kube::WriteOptions&) override {
    std::unique_lock lock(mu_);
    ++inFlight_;
    maxInFlight_ = std::max(maxInFlight_, inFlight_);
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
    --inFlight_;
    ++created_;
    return obj;
  }
  // Waits (at most 10 s) until `n` creates are in flight at once.
  bool waitForInFlight(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 10s, [&] { return inFlight_ >= n; });
  }
  void open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  int maxInFlight() const {
    std::lock_guard lock(mu_);
    return maxInFlight_;
  }
  int created() const {
    std::lock_guard lock(mu_);
    return created_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  int inFlight_ = 0;
  int maxInFlight_ = 0;
  int created_ = 0;
};

// Events about many objects are written by all writers at once: a write
// the API server is slow to answer holds up only its own writer.
TEST(EventRecorderTest, WritersWriteAtOnce) {
  GatedWriter writer;
  KubeEventRecorder recorder(writer, withWriters(4));
  recorder.start();
  constexpr int kRuns = 64;  // enough that every writer gets some (by hash)
  for (int i = 0; i < kRuns; ++i) {
    recorder.event(trainingRunNamed("run-" + std::to_string(i)), EventType::kNormal, "Succeeded",
                   "done");
  }
  EXPECT_TRUE(writer.waitForInFlight(4)) << "max in flight " << writer.maxInFlight();
  writer.open();
  recorder.stop(10s);
  EXPECT_EQ(writer.created(), kRuns);
  EXPECT_EQ(writer.maxInFlight(), 4);
  EXPECT_EQ(recorder.pending(), 0u);
}

// With several writers, the repeats of one event still go to one writer
// and fold into one Event, and an object's Events are written in the order
// they happened, whatever else is written beside them.
TEST(EventRecorderTest, RepeatsFoldIntoOneEventWithSeveralWriters) {
  FakeClient client;
  KubeEventRecorder recorder(client, withWriters(4));
  recorder.start();
  constexpr int kRepeats = 20;
  constexpr int kOthers = 8;
  for (int i = 0; i < kRepeats; ++i) {
    recorder.event(trainingRun(), EventType::kWarning, "MetricQueryFailed", "bad query");
    recorder.event(trainingRunNamed("other-" + std::to_string(i % kOthers)), EventType::kNormal,
                   "Succeeded", "done");
  }
  for (int i = 0; i < kOthers; ++i) {
    recorder.event(trainingRun(), EventType::kNormal, "Step" + std::to_string(i), "in order");
  }
  recorder.stop(10s);
  std::map<std::string, int> counts;  // object name -> count
  std::vector<std::string> steps;     // run-1's Step Events, in the order they were created
  auto all = events(client);
  std::sort(all.begin(), all.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    return std::stoll(a["metadata"]["resourceVersion"].get<std::string>()) <
           std::stoll(b["metadata"]["resourceVersion"].get<std::string>());
  });
  for (const auto& e : all) {
    const std::string name = e["involvedObject"]["name"];
    const std::string reason = e["reason"];
    if (reason.rfind("Step", 0) == 0) {
      steps.push_back(reason);
      continue;
    }
    EXPECT_EQ(counts.count(name), 0u) << "a second Event about " << name;
    counts[name] = e["count"].get<int>();
  }
  std::vector<std::string> inOrder;
  for (int i = 0; i < kOthers; ++i) inOrder.push_back("Step" + std::to_string(i));
  EXPECT_EQ(steps, inOrder);
  EXPECT_EQ(counts.size(), 1u + kOthers);
  EXPECT_EQ(counts["run-1"], kRepeats);
  for (int i = 0; i < kOthers; ++i) {
    EXPECT_EQ(counts["other-" + std::to_string(i)], kRepeats / kOthers + (i < kRepeats % kOthers));
  }
}

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
