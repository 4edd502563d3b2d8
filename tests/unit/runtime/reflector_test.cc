#include "runtime/reflector.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "fake_client.h"
#include "fake_clock.h"
#include "runtime/object.h"
#include "test_util.h"

namespace mlops::runtime {
namespace {

using namespace std::chrono_literals;
using testing::configMap;
using testing::eventually;
using testing::FakeClient;
using testing::FakeClock;

// Records what the reflector delivers.
class RecordingStore final : public ReflectorStore {
 public:
  struct Op {
    std::string what;  // replace/added/modified/deleted
    std::vector<std::string> keys;
    std::string rv;
  };
  void replace(std::vector<nlohmann::json> items, const std::string& rv) override {
    Op op{"replace", {}, rv};
    for (const auto& i : items) op.keys.push_back(objectKey(i));
    push(op);
  }
  void added(nlohmann::json obj) override {
    push({"added", {objectKey(obj)}, resourceVersionOf(obj)});
  }
  void modified(nlohmann::json obj) override {
    push({"modified", {objectKey(obj)}, resourceVersionOf(obj)});
  }
  void deleted(nlohmann::json obj) override {
    push({"deleted", {objectKey(obj)}, resourceVersionOf(obj)});
  }
  std::vector<Op> ops() const {
    std::lock_guard lock(mu_);
    return ops_;
  }
  size_t count() const {
    std::lock_guard lock(mu_);
    return ops_.size();
  }

 private:
  void push(Op op) {
    std::lock_guard lock(mu_);
    ops_.push_back(std::move(op));
  }
  mutable std::mutex mu_;
  std::vector<Op> ops_;
};

class ReflectorTest : public ::testing::Test {
 protected:
  ReflectorOptions fastOptions() {
    ReflectorOptions o;
    o.backoff.initial = 1ms;
    o.backoff.max = 8ms;
    o.backoff.jitter = 0;
    o.onBackoff = [this](std::chrono::milliseconds d) {
      std::lock_guard lock(mu_);
      backoffs_.push_back(d);
    };
    return o;
  }
  // Backoffs of 1 s doubling to 8 s, measured on the fake clock.
  ReflectorOptions fakeTimeOptions() {
    ReflectorOptions o = fastOptions();
    o.backoff.initial = 1s;
    o.backoff.max = 8s;
    o.clock = &clock_;
    return o;
  }
  void start(ReflectorOptions o) {
    reflector_ = std::make_unique<Reflector>(client_, client_, cms(), store_, std::move(o));
    thread_ = std::thread([this] {
      reflector_->run();
      returned_ = true;
    });
  }
  void TearDown() override {
    if (reflector_) reflector_->stop();
    // Without this a reflector that ignores stop() would hang the test
    // instead of failing it.
    client_.holdLists(false);
    client_.holdWatches(false);
    if (thread_.joinable()) thread_.join();
  }
  std::vector<std::chrono::milliseconds> backoffs() {
    std::lock_guard lock(mu_);
    return backoffs_;
  }

  FakeClock clock_;
  FakeClient client_;
  RecordingStore store_;
  std::atomic<bool> returned_{false};
  std::unique_ptr<Reflector> reflector_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::chrono::milliseconds> backoffs_;
};

TEST_F(ReflectorTest, ListsThenWatchesFromTheListsResourceVersion) {
  client_.put(cms(), configMap("ns", "a"));
  client_.put(cms(), configMap("ns", "b"));
  const std::string listRv = std::to_string(client_.currentResourceVersion());
  start(fastOptions());
  ASSERT_TRUE(eventually([&] { return client_.openWatches() == 1; }));

  auto ops = store_.ops();
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].what, "replace");
  EXPECT_EQ(ops[0].keys, (std::vector<std::string>{"ns/a", "ns/b"}));
  EXPECT_EQ(ops[0].rv, listRv);
  auto watches = client_.watchCalls();
  ASSERT_EQ(watches.size(), 1u);
  EXPECT_EQ(watches[0].resourceVersion, listRv);
  EXPECT_TRUE(watches[0].allowBookmarks);
  EXPECT_GE(watches[0].timeoutSeconds, 300);
  EXPECT_LE(watches[0].timeoutSeconds, 600);

  client_.put(cms(), configMap("ns", "c"));
  client_.put(cms(), configMap("ns", "a", {{"x", "y"}}));
  client_.erase(cms(), "ns", "b");
  // The reflector advances its resourceVersion just after the store applied
  // the event, so a read between the two sees the store ahead: wait for both.
  const std::string lastRv = std::to_string(client_.currentResourceVersion());
  ASSERT_TRUE(eventually(
      [&] { return store_.count() == 4 && reflector_->lastSyncResourceVersion() == lastRv; }));
  ops = store_.ops();
  EXPECT_EQ(ops[1].what, "added");
  EXPECT_EQ(ops[2].what, "modified");
  EXPECT_EQ(ops[3].what, "deleted");
  EXPECT_EQ(ops[3].keys[0], "ns/b");
}

TEST_F(ReflectorTest, ListsEveryPage) {
  for (int i = 0; i < 5; ++i) client_.put(cms(), configMap("ns", "cm" + std::to_string(i)));
  auto o = fastOptions();
  o.pageSize = 2;
  start(o);
  ASSERT_TRUE(eventually([&] { return store_.count() == 1; }));
  EXPECT_EQ(store_.ops()[0].keys.size(), 5u);
  auto lists = client_.listCalls();
  ASSERT_EQ(lists.size(), 3u);
  EXPECT_EQ(lists[0].limit, 2);
  EXPECT_EQ(lists[1].continueToken, "2");
  EXPECT_EQ(lists[2].continueToken, "4");
}

TEST_F(ReflectorTest, ResumesFromTheLastSeenResourceVersionWhenTheWatchEnds) {
  start(fastOptions());
  ASSERT_TRUE(eventually([&] { return client_.openWatches() == 1; }));
  client_.put(cms(), configMap("ns", "a"));
  ASSERT_TRUE(eventually([&] { return store_.count() == 2; }));
  client_.bookmark(cms());  // advances the resume point without an object
  const std::string bookmarkRv = std::to_string(client_.currentResourceVersion());
  ASSERT_TRUE(eventually([&] { return reflector_->lastSyncResourceVersion() == bookmarkRv; }));

  client_.endAllWatches();
  ASSERT_TRUE(eventually([&] { return client_.watchCalls().size() == 2; }));
  EXPECT_EQ(client_.watchCalls()[1].resourceVersion, bookmarkRv);
  EXPECT_EQ(client_.listCalls().size(), 1u) << "a normal end must not relist";

  // A change made while no watch was open is not lost.
  ASSERT_TRUE(eventually([&] { return client_.openWatches() == 1; }));
  client_.put(cms(), configMap("ns", "b"));
  ASSERT_TRUE(eventually([&] { return store_.count() == 3; }));
  EXPECT_EQ(store_.ops()[2].keys[0], "ns/b");
}

TEST_F(ReflectorTest, RelistsWhenTheResourceVersionIsGone) {
  client_.put(cms(), configMap("ns", "a"));
  client_.put(cms(), configMap("ns", "b"));
  start(fastOptions());
  ASSERT_TRUE(eventually([&] { return client_.openWatches() == 1; }));
  const std::string heldRv = reflector_->lastSyncResourceVersion();

  // The watch breaks and cannot reconnect while changes happen and the
  // history is compacted past the version the reflector holds.
  client_.failNextWatches(1'000'000, makeError(ErrorCode::kUnavailable, "connection refused"));
  client_.breakAllWatches(makeError(ErrorCode::kUnavailable, "connection reset"));
  ASSERT_TRUE(eventually([&] { return client_.watchCalls().size() >= 3; }));
  client_.erase(cms(), "ns", "a");
  client_.put(cms(), configMap("ns", "c"));
  client_.compact();
  client_.clearFailures();

  // The re-watch from heldRv gets 410 Gone; the reflector relists.
  ASSERT_TRUE(eventually([&] { return client_.listCalls().size() == 2; }));
  ASSERT_TRUE(eventually([&] { return client_.openWatches() == 1; }));
  auto ops = store_.ops();
  ASSERT_EQ(ops.size(), 2u);
  EXPECT_EQ(ops[1].what, "replace");
  EXPECT_EQ(ops[1].keys, (std::vector<std::string>{"ns/b", "ns/c"}));
  const auto watches = client_.watchCalls();
  bool sawHeld = false;
  for (const auto& w : watches) sawHeld = sawHeld || w.resourceVersion == heldRv;
  EXPECT_TRUE(sawHeld);
  EXPECT_EQ(watches.back().resourceVersion, std::to_string(client_.currentResourceVersion()));
}

TEST_F(ReflectorTest, RelistsAfterBackoffOnA410ErrorEvent) {
  // An ERROR event with code 410, as the server sends it, decoded by the real
  // decoder (which turns it into a kGone error).
  client_.put(cms(), configMap("ns", "a"));
  start(fakeTimeOptions());
  ASSERT_TRUE(eventually([&] { return client_.openWatches() == 1; }));
  client_.sendErrorEvent(cms(), 410);
  ASSERT_TRUE(clock_.settle(1)) << "the reflector waits for its backoff";
  EXPECT_EQ(backoffs(), (std::vector<std::chrono::milliseconds>{1s}));
  clock_.advance(999ms);
  ASSERT_TRUE(clock_.settle(1));
  EXPECT_EQ(client_.listCalls().size(), 1u) << "no relist before the backoff has passed";
  clock_.advance(1ms);
  ASSERT_TRUE(eventually([&] { return client_.listCalls().size() == 2; }));
  ASSERT_TRUE(eventually([&] { return client_.openWatches() == 1; }));
}

TEST_F(ReflectorTest, AServerThatAlwaysAnswers410IsRelistedFromLessAndLessOften) {
  client_.put(cms(), configMap("ns", "a"));
  client_.expireEveryWatch(true);
  start(fakeTimeOptions());
  // list → watch → 410 → wait, again and again: the waits grow although
  // every list succeeds.
  ASSERT_TRUE(clock_.settle(1));
  for (auto wait : {1s, 2s, 4s, 8s, 8s}) {
    const size_t lists = client_.listCalls().size();
    clock_.advance(wait - 1ms);
    ASSERT_TRUE(clock_.settle(1));
    EXPECT_EQ(client_.listCalls().size(), lists) << "relisted before the " << wait.count() << " s";
    clock_.advance(1ms);
    ASSERT_TRUE(eventually([&] { return client_.listCalls().size() == lists + 1; }));
    ASSERT_TRUE(clock_.settle(1));
  }
  EXPECT_EQ(backoffs(), (std::vector<std::chrono::milliseconds>{1s, 2s, 4s, 8s, 8s, 8s}));
}

TEST_F(ReflectorTest, OtherErrorEventsRelistAfterBackoff) {
  start(fastOptions());
  ASSERT_TRUE(eventually([&] { return client_.openWatches() == 1; }));
  client_.sendErrorEvent(cms(), 500);
  ASSERT_TRUE(eventually([&] { return client_.listCalls().size() == 2; }));
  EXPECT_EQ(backoffs().size(), 1u);
}

TEST_F(ReflectorTest, BacksOffExponentiallyOnListFailures) {
  client_.failNextLists(6, makeError(ErrorCode::kUnavailable, "connection refused"));
  start(fastOptions());
  ASSERT_TRUE(eventually([&] { return client_.openWatches() == 1; }));
  EXPECT_EQ(backoffs(), (std::vector<std::chrono::milliseconds>{1ms, 2ms, 4ms, 8ms, 8ms, 8ms}));
  EXPECT_EQ(client_.listCalls().size(), 7u);
}

TEST_F(ReflectorTest, BackoffResetsAfterAStreamThatDeliveredEvents) {
  client_.failNextLists(3, makeError(ErrorCode::kUnavailable, "refused"));
  start(fastOptions());
  ASSERT_TRUE(eventually([&] { return client_.openWatches() == 1; }));
  client_.put(cms(), configMap("ns", "a"));
  ASSERT_TRUE(eventually([&] { return store_.count() == 2; }));
  client_.failNextWatches(2, makeError(ErrorCode::kUnavailable, "refused"));
  client_.breakAllWatches(makeError(ErrorCode::kUnavailable, "reset"));
  ASSERT_TRUE(eventually([&] { return client_.watchCalls().size() == 4; }));
  ASSERT_TRUE(eventually([&] { return client_.openWatches() == 1; }));
  EXPECT_EQ(backoffs(), (std::vector<std::chrono::milliseconds>{1ms, 2ms, 4ms, 1ms, 2ms, 4ms}));
  EXPECT_EQ(client_.listCalls().size(), 4u) << "a broken stream re-watches without relisting";
}

TEST_F(ReflectorTest, BackoffResetsAfterAQuietWatchThatLivedAMinute) {
  start(fakeTimeOptions());
  ASSERT_TRUE(eventually([&] { return client_.openWatches() == 1; }));
  // The stream breaks at once (1 s), then three watches are refused (2, 4,
  // 8 s).
  client_.failNextWatches(3, makeError(ErrorCode::kUnavailable, "refused"));
  client_.breakAllWatches(makeError(ErrorCode::kUnavailable, "reset"));
  for (auto wait : {1s, 2s, 4s, 8s}) {
    ASSERT_TRUE(clock_.settle(1));
    clock_.advance(wait);
  }
  ASSERT_TRUE(eventually([&] { return client_.openWatches() == 1; }));
  ASSERT_EQ(backoffs(), (std::vector<std::chrono::milliseconds>{1s, 2s, 4s, 8s}));
  // A watch that delivered nothing for 59 s and broke: not healthy.
  clock_.advance(59s);
  client_.breakAllWatches(makeError(ErrorCode::kUnavailable, "reset"));
  ASSERT_TRUE(clock_.settle(1));
  EXPECT_EQ(backoffs().back(), 8s);
  clock_.advance(8s);
  ASSERT_TRUE(eventually([&] { return client_.openWatches() == 1; }));
  // One that stayed open a minute, quiet too, then broke: healthy.
  clock_.advance(60s);
  client_.breakAllWatches(makeError(ErrorCode::kUnavailable, "reset"));
  ASSERT_TRUE(clock_.settle(1));
  EXPECT_EQ(backoffs().back(), 1s) << "a watch that lived a minute resets the backoff";
  EXPECT_EQ(backoffs(), (std::vector<std::chrono::milliseconds>{1s, 2s, 4s, 8s, 8s, 1s}));
}

TEST_F(ReflectorTest, ASuccessfulListResetsTheListBackoff) {
  client_.failNextLists(2, makeError(ErrorCode::kUnavailable, "refused"));
  start(fastOptions());
  ASSERT_TRUE(eventually([&] { return client_.openWatches() == 1; }));
  EXPECT_EQ(backoffs(), (std::vector<std::chrono::milliseconds>{1ms, 2ms}));
  // A relist that fails once: it starts again from the initial delay.
  client_.failNextLists(1, makeError(ErrorCode::kUnavailable, "refused"));
  client_.sendErrorEvent(cms(), 500);
  ASSERT_TRUE(eventually([&] { return client_.listCalls().size() == 5; }));
  ASSERT_TRUE(eventually([&] { return client_.openWatches() == 1; }));
  // 1, 2 (lists); 1 (the error event, on the watch backoff); 1 (the list).
  EXPECT_EQ(backoffs(), (std::vector<std::chrono::milliseconds>{1ms, 2ms, 1ms, 1ms}));
}

TEST_F(ReflectorTest, AListWithoutAResourceVersionReplacesTheOldOne) {
  start(fastOptions());
  ASSERT_TRUE(eventually([&] { return client_.openWatches() == 1; }));
  client_.put(cms(), configMap("ns", "a"));
  ASSERT_TRUE(eventually([&] { return store_.count() == 2; }));
  ASSERT_FALSE(reflector_->lastSyncResourceVersion().empty());
  client_.omitListResourceVersion(true);
  client_.sendErrorEvent(cms(), 500);  // relist
  ASSERT_TRUE(eventually([&] { return client_.listCalls().size() == 2; }));
  ASSERT_TRUE(eventually([&] { return client_.watchCalls().size() == 2; }));
  EXPECT_EQ(reflector_->lastSyncResourceVersion(), "");
  EXPECT_EQ(client_.watchCalls()[1].resourceVersion, "")
      << "the watch starts from now, not from a version older than the list";
}

TEST_F(ReflectorTest, WatchesWithTheLabelSelector) {
  client_.put(cms(), configMap("ns", "mine", {{"app", "x"}}));
  client_.put(cms(), configMap("ns", "other", {{"app", "y"}}));
  auto o = fastOptions();
  o.labelSelector = "app=x";
  start(o);
  ASSERT_TRUE(eventually([&] { return client_.openWatches() == 1; }));
  EXPECT_EQ(store_.ops()[0].keys, (std::vector<std::string>{"ns/mine"}));
  EXPECT_EQ(client_.listCalls()[0].labelSelector, "app=x");
  EXPECT_EQ(client_.watchCalls()[0].labelSelector, "app=x");
  client_.put(cms(), configMap("ns", "other2", {{"app", "y"}}));
  client_.put(cms(), configMap("ns", "mine2", {{"app", "x"}}));
  ASSERT_TRUE(eventually([&] { return store_.count() == 2; }));
  EXPECT_EQ(store_.ops()[1].keys[0], "ns/mine2");
}

TEST_F(ReflectorTest, StopCancelsAnOpenWatchPromptly) {
  start(fastOptions());
  ASSERT_TRUE(eventually([&] { return client_.openWatches() == 1; }));
  const auto before = std::chrono::steady_clock::now();
  reflector_->stop();
  thread_.join();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 1s);
}

TEST_F(ReflectorTest, StopInterruptsAList) {
  client_.holdLists(true);
  start(fastOptions());
  ASSERT_TRUE(eventually([&] { return client_.listCalls().size() == 1; }));
  reflector_->stop();
  EXPECT_TRUE(eventually([&] { return returned_.load(); }, 2s));
}

TEST_F(ReflectorTest, StopInterruptsOpeningAWatch) {
  client_.holdWatches(true);
  start(fastOptions());
  ASSERT_TRUE(eventually([&] { return client_.watchCalls().size() == 1; }));
  reflector_->stop();
  EXPECT_TRUE(eventually([&] { return returned_.load(); }, 2s));
}

TEST_F(ReflectorTest, StopInterruptsABackoffWait) {
  auto o = fastOptions();
  o.backoff.initial = 60s;
  o.backoff.max = 60s;
  client_.failNextLists(1, makeError(ErrorCode::kUnavailable, "refused"));
  start(o);
  ASSERT_TRUE(eventually([&] { return backoffs().size() == 1; }));
  const auto before = std::chrono::steady_clock::now();
  reflector_->stop();
  thread_.join();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 1s);
}

}  // namespace
}  // namespace mlops::runtime
