// Watch streams against the real API server: events as they happen, 410
// after compaction, and resuming after the API server restarts.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <thread>

#include "kube/rest_client.h"
#include "kube/watch_decoder.h"
#include "support/plane.h"
#include "watch_helpers.h"

namespace mlops::kube {
namespace {

using namespace std::chrono_literals;
using testing::collect;
using testing::Collected;
using testing::nameOf;
using testing::resourceVersionOf;

Json configMap(const std::string& name) {
  return {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", name}}}};
}

std::string describe(const Collected& c) {
  std::string out = std::to_string(c.events.size()) + " events:";
  for (const auto& e : c.events)
    out += std::string(" ") + watchEventTypeName(e.type) + " " + nameOf(e);
  if (c.error) out += "; error " + c.error->toString();
  if (c.ended) out += "; ended";
  if (c.timedOut) out += "; timed out";
  return out;
}

class KubeWatchTest : public testing::PlaneTest {
 protected:
  std::string namespacePrefix() const override { return "kube-watch"; }
};

TEST_F(KubeWatchTest, SeesCreateUpdateAndDelete) {
  Result<ListPage> start = client().list(resources::kConfigMaps, ns(), {});
  ASSERT_TRUE(start.ok()) << start.error().toString();
  WatchOptions opts;
  opts.resourceVersion = start->resourceVersion;
  opts.timeoutSeconds = 60;
  auto stream = client().watch(resources::kConfigMaps, ns(), opts);
  ASSERT_TRUE(stream.ok()) << stream.error().toString();

  ASSERT_TRUE(client().create(resources::kConfigMaps, ns(), configMap("w1")).ok());
  ASSERT_TRUE(
      client().mergePatch(resources::kConfigMaps, ns(), "w1", {{"data", {{"k", "v"}}}}).ok());
  ASSERT_TRUE(client().remove(resources::kConfigMaps, ns(), "w1").ok());

  Collected got = collect(
      **stream,
      [](const WatchEvent& e) { return e.type == WatchEventType::kDeleted && nameOf(e) == "w1"; },
      30s);
  std::vector<WatchEvent> mine;
  for (auto& e : got.events) {
    if (nameOf(e) == "w1") mine.push_back(e);
  }
  ASSERT_EQ(mine.size(), 3u) << describe(got);
  EXPECT_EQ(mine[0].type, WatchEventType::kAdded);
  EXPECT_EQ(mine[1].type, WatchEventType::kModified);
  EXPECT_EQ(mine[1].object["data"]["k"], "v");
  EXPECT_EQ(mine[2].type, WatchEventType::kDeleted);
}

TEST_F(KubeWatchTest, ServerEndsTheWatchAtTimeoutSeconds) {
  WatchOptions opts;
  opts.timeoutSeconds = 2;
  auto stream = client().watch(resources::kConfigMaps, ns(), opts);
  ASSERT_TRUE(stream.ok()) << stream.error().toString();
  auto start = std::chrono::steady_clock::now();
  Collected got = collect(
      **stream, [](const WatchEvent&) { return false; }, 20s);
  EXPECT_TRUE(got.ended) << describe(got);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

// Watching from a compacted revision answers 410. Needs the API server
// without watch cache (the cache would serve old revisions from memory).
class KubeCompactionTest : public KubeWatchTest {};

TEST_F(KubeCompactionTest, WatchFromCompactedRevisionIsGone) {
  ASSERT_FALSE(env().kubeconfigNoWatchCache().empty()) << "KUBECONFIG_NO_WATCH_CACHE not set";
  ASSERT_FALSE(env().etcdctl().empty()) << "ETCDCTL not set";
  Result<ClientConfig> cfg = loadKubeconfig(env().kubeconfigNoWatchCache());
  ASSERT_TRUE(cfg.ok()) << cfg.error().toString();
  auto direct = makeRestClient(*cfg);
  ASSERT_TRUE(direct.ok()) << direct.error().toString();

  Result<Json> first = client().create(resources::kConfigMaps, ns(), configMap("old"));
  ASSERT_TRUE(first.ok());
  const std::string oldVersion = resourceVersionOf(*first);
  // Two more writes, so the revision right after `old` is compacted away.
  ASSERT_TRUE(client().create(resources::kConfigMaps, ns(), configMap("new")).ok());
  Result<Json> later = client().create(resources::kConfigMaps, ns(), configMap("newer"));
  ASSERT_TRUE(later.ok());
  const std::string compactAt = resourceVersionOf(*later);

  testing::CommandResult compact = testing::runCommand(
      {env().etcdctl(), "--endpoints", env().etcdEndpoints(), "compact", compactAt});
  ASSERT_EQ(compact.exitCode, 0) << compact.describe();

  WatchOptions opts;
  opts.resourceVersion = oldVersion;
  opts.timeoutSeconds = 30;
  auto stream = (*direct)->watch(resources::kConfigMaps, ns(), opts);
  Error gone;
  if (!stream.ok()) {
    gone = stream.error();  // HTTP 410
  } else {
    Collected got = collect(
        **stream, [](const WatchEvent&) { return true; }, 20s);
    ASSERT_TRUE(got.error.has_value()) << describe(got);
    gone = *got.error;  // an ERROR event with code 410
  }
  EXPECT_EQ(gone.code, ErrorCode::kGone) << gone.toString();
  EXPECT_NE(gone.message.find("too old"), std::string::npos) << gone.message;
}

// Restarts the shared API server: runs alone (RUN_SERIAL).
class KubeWatchRestartTest : public KubeWatchTest {};

TEST_F(KubeWatchRestartTest, ResumesAfterApiServerRestart) {
  const std::string script = env().repoRoot() + "/hack/cluster-restart-apiserver.sh";
  ASSERT_TRUE(std::filesystem::exists(script)) << script << " is missing";

  Result<ListPage> start = client().list(resources::kConfigMaps, ns(), {});
  ASSERT_TRUE(start.ok()) << start.error().toString();
  WatchOptions opts;
  opts.resourceVersion = start->resourceVersion;
  opts.timeoutSeconds = 300;
  auto before = client().watch(resources::kConfigMaps, ns(), opts);
  ASSERT_TRUE(before.ok()) << before.error().toString();
  ASSERT_TRUE(client().create(resources::kConfigMaps, ns(), configMap("before-1")).ok());
  Collected first = collect(
      **before, [](const WatchEvent& e) { return nameOf(e) == "before-1"; }, 30s);
  ASSERT_FALSE(first.events.empty()) << describe(first);
  const std::string lastVersion = resourceVersionOf(first.events.back().object);

  std::vector<std::string> command = {"bash", script};
  if (!env().clusterDir().empty()) {
    command = {"env", "MLOPS_CLUSTER_DIR=" + env().clusterDir(), "bash", script};
  }
  testing::CommandResult restart = testing::runCommand(command, "", 180s);
  ASSERT_EQ(restart.exitCode, 0) << restart.describe();

  // The old stream must stop promptly: ended by the server's shutdown or cut.
  auto t0 = std::chrono::steady_clock::now();
  Collected old = collect(
      **before, [](const WatchEvent&) { return false; }, 60s);
  EXPECT_FALSE(old.timedOut) << "the old watch did not notice the restart: " << describe(old);
  EXPECT_TRUE(old.ended || (old.error && old.error->code == ErrorCode::kUnavailable))
      << describe(old);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 60s);
  before->reset();

  // Objects created after the restart (retry while the server settles).
  for (const std::string name : {"after-1", "after-2"}) {
    Result<Json> r = client().create(resources::kConfigMaps, ns(), configMap(name));
    for (int i = 0; i < 60 && !r.ok() && r.error().transient(); ++i) {
      std::this_thread::sleep_for(500ms);
      r = client().create(resources::kConfigMaps, ns(), configMap(name));
    }
    ASSERT_TRUE(r.ok()) << r.error().toString();
  }
  auto isAfter2 = [](const WatchEvent& e) { return nameOf(e) == "after-2"; };
  auto expectExactlyAfterEvents = [&](const Collected& got, const char* server) {
    std::vector<std::string> names;
    for (const auto& e : got.events) {
      names.push_back(nameOf(e));
      EXPECT_GT(std::stoull(resourceVersionOf(e.object)), std::stoull(lastVersion))
          << server << ": replayed an event at or before the resume point: " << describe(got);
    }
    EXPECT_EQ(names, (std::vector<std::string>{"after-1", "after-2"}))
        << server << ": " << describe(got);
  };

  // Resume on the restarted server from the last version we saw.
  opts.resourceVersion = lastVersion;
  auto resumed = client().watch(resources::kConfigMaps, ns(), opts);
  std::optional<Error> gone;
  if (!resumed.ok()) {
    ASSERT_EQ(resumed.error().code, ErrorCode::kGone) << resumed.error().toString();
    gone = resumed.error();
  } else {
    Collected got = collect(**resumed, isAfter2, 30s);
    if (got.error && got.error->code == ErrorCode::kGone && got.events.empty()) {
      gone = got.error;
    } else {
      expectExactlyAfterEvents(got, "restarted server");
    }
  }
  RecordProperty("resume_on_restarted_server", gone ? "410 Gone, relisted" : "resumed");
  if (gone) {
    // A freshly started watch cache begins at its own list: older versions
    // are 410 Gone, which is the reflector's cue to relist. Do that, and
    // check the relist plus a watch from it miss nothing and repeat nothing.
    Result<ListPage> relist = client().list(resources::kConfigMaps, ns(), {});
    ASSERT_TRUE(relist.ok()) << relist.error().toString();
    std::multiset<std::string> names;
    for (const auto& item : relist->items) {
      const std::string name = item["metadata"]["name"];
      if (name.rfind("before-", 0) == 0 || name.rfind("after-", 0) == 0) names.insert(name);
    }
    EXPECT_EQ(names, (std::multiset<std::string>{"after-1", "after-2", "before-1"}));
    opts.resourceVersion = relist->resourceVersion;
    auto fresh = client().watch(resources::kConfigMaps, ns(), opts);
    ASSERT_TRUE(fresh.ok()) << fresh.error().toString();
    ASSERT_TRUE(client().create(resources::kConfigMaps, ns(), configMap("after-3")).ok());
    Collected got = collect(
        **fresh, [](const WatchEvent& e) { return nameOf(e) == "after-3"; }, 30s);
    ASSERT_EQ(got.events.size(), 1u) << describe(got);
    EXPECT_EQ(nameOf(got.events[0]), "after-3");
  }

  // The same resume point on the API server without watch cache (same
  // etcd) must replay exactly what happened after it.
  if (!env().kubeconfigNoWatchCache().empty()) {
    Result<ClientConfig> cfg = loadKubeconfig(env().kubeconfigNoWatchCache());
    ASSERT_TRUE(cfg.ok()) << cfg.error().toString();
    auto direct = makeRestClient(*cfg);
    ASSERT_TRUE(direct.ok());
    opts.resourceVersion = lastVersion;
    auto replay = (*direct)->watch(resources::kConfigMaps, ns(), opts);
    ASSERT_TRUE(replay.ok()) << replay.error().toString();
    Collected got = collect(**replay, isAfter2, 30s);
    expectExactlyAfterEvents(got, "server without watch cache");
  }
}

}  // namespace
}  // namespace mlops::kube
