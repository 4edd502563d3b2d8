#include "runtime/informer.h"

#include <gtest/gtest.h>

#include <mutex>
#include <vector>

#include "fake_client.h"
#include "runtime/cache_reader.h"
#include "runtime/object.h"
#include "test_util.h"

namespace mlops::runtime {
namespace {

using namespace std::chrono_literals;
using testing::configMap;
using testing::eventually;
using testing::FakeClient;

struct Seen {
  std::string what;
  std::string key;
  bool flag = false;  // isInInitialList / finalStateUnknown
  std::string data;   // data.v of the (new) object
};

class Recorder {
 public:
  EventHandler handler() {
    return EventHandler{[this](const nlohmann::json& o, bool initial) {
                          push({"add", objectKey(o), initial, v(o)});
                        },
                        [this](const nlohmann::json&, const nlohmann::json& n) {
                          push({"update", objectKey(n), false, v(n)});
                        },
                        [this](const nlohmann::json& o, bool unknown) {
                          push({"delete", objectKey(o), unknown, v(o)});
                        }};
  }
  std::vector<Seen> seen() const {
    std::lock_guard lock(mu_);
    return seen_;
  }
  size_t count() const {
    std::lock_guard lock(mu_);
    return seen_.size();
  }

 private:
  static std::string v(const nlohmann::json& o) {
    return o.contains("data") && o["data"].contains("v") ? o["data"]["v"].get<std::string>() : "";
  }
  void push(Seen s) {
    std::lock_guard lock(mu_);
    seen_.push_back(std::move(s));
  }
  mutable std::mutex mu_;
  std::vector<Seen> seen_;
};

InformerOptions fast() {
  InformerOptions o;
  o.backoff.initial = 1ms;
  o.backoff.max = 4ms;
  o.backoff.jitter = 0;
  return o;
}

TEST(InformerTest, CachesObjectsWithoutManagedFieldsAndWithKind) {
  FakeClient client;
  auto cm = configMap("ns", "a");
  cm["metadata"]["managedFields"] = nlohmann::json::array({{{"manager", "kubectl"}}});
  client.put(cms(), cm);
  Informer informer(client, client, cms(), fast());
  EXPECT_FALSE(informer.hasSynced());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(5s));
  auto obj = informer.indexer().get("ns/a");
  ASSERT_NE(obj, nullptr);
  EXPECT_FALSE((*obj)["metadata"].contains("managedFields"));
  EXPECT_EQ((*obj)["kind"], "ConfigMap");  // list items arrive without it
  EXPECT_EQ((*obj)["apiVersion"], "v1");

  auto cm2 = configMap("ns", "b");
  cm2["metadata"]["managedFields"] = nlohmann::json::array({{{"manager", "x"}}});
  client.put(cms(), cm2);
  ASSERT_TRUE(eventually([&] { return informer.indexer().get("ns/b") != nullptr; }));
  EXPECT_FALSE((*informer.indexer().get("ns/b"))["metadata"].contains("managedFields"));
}

// kubectl apply's copy of the object is dropped (an annotation that is
// alone goes with its map); the options' transform runs on every object,
// listed or watched, before it is cached and before handlers see it.
TEST(InformerTest, CachesObjectsAsTransformedWithoutKubectlsAppliedCopy) {
  FakeClient client;
  auto cm = configMap("ns", "a");
  cm["metadata"]["annotations"] = {
      {"kubectl.kubernetes.io/last-applied-configuration", std::string(4096, 'x')}, {"team", "ml"}};
  cm["data"]["v"] = "kept";
  cm["data"]["big"] = std::string(4096, 'y');
  client.put(cms(), cm);
  InformerOptions o = fast();
  o.transform = {"drop-big", [](nlohmann::json& obj) { obj["data"].erase("big"); }};
  Recorder rec;
  Informer informer(client, client, cms(), o);
  informer.addEventHandler(rec.handler());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(5s));
  auto obj = informer.indexer().get("ns/a");
  ASSERT_NE(obj, nullptr);
  EXPECT_EQ((*obj)["metadata"]["annotations"], (nlohmann::json{{"team", "ml"}}));
  EXPECT_FALSE((*obj)["data"].contains("big"));
  EXPECT_EQ(obj->at("data").at("v"), "kept");

  auto cm2 = configMap("ns", "b");
  cm2["metadata"]["annotations"] = {{"kubectl.kubernetes.io/last-applied-configuration", "{}"}};
  cm2["data"]["big"] = "z";
  client.put(cms(), cm2);
  ASSERT_TRUE(eventually([&] { return informer.indexer().get("ns/b") != nullptr; }));
  const auto b = informer.indexer().get("ns/b");
  EXPECT_FALSE((*b)["metadata"].contains("annotations"));
  EXPECT_FALSE((*b)["data"].contains("big"));
  // The indexer holds an object before its handlers are told of it.
  ASSERT_TRUE(eventually([&] { return rec.count() == 2u; }));
}

TEST(InformerTest, DeliversAddUpdateDeleteInOrder) {
  FakeClient client;
  client.put(cms(), configMap("ns", "a", {}, {{"v", "1"}}));
  Recorder rec;
  Informer informer(client, client, cms(), fast());
  informer.addEventHandler(rec.handler());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(5s));
  ASSERT_TRUE(eventually([&] { return client.openWatches() == 1; }));
  client.put(cms(), configMap("ns", "a", {}, {{"v", "2"}}));
  client.put(cms(), configMap("ns", "b", {}, {{"v", "1"}}));
  client.erase(cms(), "ns", "a");
  ASSERT_TRUE(eventually([&] { return rec.count() == 4; }));
  auto seen = rec.seen();
  EXPECT_EQ(seen[0].what, "add");
  EXPECT_TRUE(seen[0].flag) << "from the initial list";
  EXPECT_EQ(seen[1].what, "update");
  EXPECT_EQ(seen[1].data, "2");
  EXPECT_EQ(seen[2].what, "add");
  EXPECT_FALSE(seen[2].flag);
  EXPECT_EQ(seen[3].what, "delete");
  EXPECT_EQ(seen[3].key, "ns/a");
  EXPECT_FALSE(seen[3].flag);
  EXPECT_EQ(informer.indexer().keys(), (std::vector<std::string>{"ns/b"}));
}

TEST(InformerTest, RelistAfterGoneReportsMissedDeletesAsTombstones) {
  FakeClient client;
  client.put(cms(), configMap("ns", "keep", {}, {{"v", "1"}}));
  client.put(cms(), configMap("ns", "gone", {}, {{"v", "1"}}));
  client.put(cms(), configMap("ns", "same", {}, {{"v", "1"}}));
  Recorder rec;
  Informer informer(client, client, cms(), fast());
  informer.addEventHandler(rec.handler());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(5s));
  ASSERT_TRUE(eventually([&] { return client.openWatches() == 1; }));

  client.failNextWatches(1'000'000, makeError(ErrorCode::kUnavailable, "refused"));
  client.breakAllWatches(makeError(ErrorCode::kUnavailable, "reset"));
  ASSERT_TRUE(eventually([&] { return client.watchCalls().size() >= 2; }));
  client.erase(cms(), "ns", "gone");
  client.put(cms(), configMap("ns", "keep", {}, {{"v", "2"}}));
  client.put(cms(), configMap("ns", "new", {}, {{"v", "1"}}));
  client.compact();
  client.clearFailures();

  ASSERT_TRUE(eventually([&] { return informer.listCount() == 2; }));
  ASSERT_TRUE(eventually([&] { return rec.count() == 6; }));
  auto seen = rec.seen();
  // 3 initial adds, then from the relist: update keep, add new, delete gone.
  std::map<std::string, Seen> after;
  for (size_t i = 3; i < seen.size(); ++i) after[seen[i].key] = seen[i];
  EXPECT_EQ(after["ns/keep"].what, "update");
  EXPECT_EQ(after["ns/keep"].data, "2");
  EXPECT_EQ(after["ns/new"].what, "add");
  EXPECT_FALSE(after["ns/new"].flag) << "not part of the initial list";
  EXPECT_EQ(after["ns/gone"].what, "delete");
  EXPECT_TRUE(after["ns/gone"].flag) << "a tombstone: final state unknown";
  EXPECT_EQ(after.count("ns/same"), 0u) << "unchanged objects raise no event";
  EXPECT_EQ(informer.indexer().keys(), (std::vector<std::string>{"ns/keep", "ns/new", "ns/same"}));
}

TEST(InformerTest, HandlerAddedAfterSyncIsReplayedTheCache) {
  FakeClient client;
  client.put(cms(), configMap("ns", "a"));
  client.put(cms(), configMap("ns", "b"));
  Recorder rec;  // outlives the informer, whose thread calls it
  Informer informer(client, client, cms(), fast());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(5s));
  informer.addEventHandler(rec.handler());
  auto seen = rec.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].what, "add");
  EXPECT_TRUE(seen[0].flag);
  client.put(cms(), configMap("ns", "c"));
  ASSERT_TRUE(eventually([&] { return rec.count() == 3; }));
}

TEST(InformerTest, LabelSelectedInformerCachesOnlyMatchingObjects) {
  FakeClient client;
  client.put(cms(), configMap("ns", "ours", {{"app.kubernetes.io/managed-by", "mlops-operator"}}));
  client.put(cms(), configMap("ns", "theirs"));
  auto o = fast();
  o.labelSelector = "app.kubernetes.io/managed-by=mlops-operator";
  Informer informer(client, client, cms(), o);
  informer.start();
  ASSERT_TRUE(informer.waitForSync(5s));
  EXPECT_EQ(informer.indexer().keys(), (std::vector<std::string>{"ns/ours"}));
  client.put(cms(), configMap("ns", "theirs2"));
  client.put(cms(), configMap("ns", "ours2", {{"app.kubernetes.io/managed-by", "mlops-operator"}}));
  ASSERT_TRUE(eventually([&] { return informer.indexer().size() == 2; }));
  EXPECT_EQ(informer.indexer().keys(), (std::vector<std::string>{"ns/ours", "ns/ours2"}));
}

TEST(InformerTest, NamespacedInformerListsAndWatchesOneNamespace) {
  FakeClient client;
  client.put(cms(), configMap("a", "x"));
  client.put(cms(), configMap("b", "x"));
  auto o = fast();
  o.ns = "a";
  Informer informer(client, client, cms(), o);
  informer.start();
  ASSERT_TRUE(informer.waitForSync(5s));
  EXPECT_EQ(informer.indexer().keys(), (std::vector<std::string>{"a/x"}));
}

TEST(InformerTest, IndexesByNamespaceAndCustomFunctions) {
  FakeClient client;
  client.put(cms(), configMap("a", "v1", {{"mlops.dev/model", "churn"}}));
  client.put(cms(), configMap("a", "v2", {{"mlops.dev/model", "churn"}}));
  client.put(cms(), configMap("a", "other", {{"mlops.dev/model", "fraud"}}));
  client.put(cms(), configMap("b", "v1", {{"mlops.dev/model", "churn"}}));
  Informer informer(client, client, cms(), fast());
  ASSERT_TRUE(informer.addIndex("model", indexByLabel("mlops.dev/model")).ok());
  EXPECT_FALSE(informer.addIndex("model", indexByLabel("x")).ok());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(5s));
  auto churnInA = informer.indexer().byIndex("model", "a/churn");
  ASSERT_TRUE(churnInA.ok());
  EXPECT_EQ(churnInA->size(), 2u);
  auto inB = informer.indexer().byIndex(kNamespaceIndex, "b");
  ASSERT_TRUE(inB.ok());
  EXPECT_EQ(inB->size(), 1u);
  // The index follows changes: relabel one version.
  client.put(cms(), configMap("a", "v2", {{"mlops.dev/model", "fraud"}}));
  ASSERT_TRUE(
      eventually([&] { return informer.indexer().byIndex("model", "a/churn")->size() == 1; }));
  EXPECT_EQ(informer.indexer().byIndex("model", "a/fraud")->size(), 2u);
  EXPECT_FALSE(informer.indexer().byIndex("nope", "x").ok());
}

TEST(InformerTest, StopReturnsPromptlyAndWaitForSyncGivesUp) {
  FakeClient client;
  client.holdLists(true);
  Informer informer(client, client, cms(), fast());
  informer.start();
  EXPECT_FALSE(informer.waitForSync(20ms));
  client.holdLists(false);
  ASSERT_TRUE(informer.waitForSync(5s));
  informer.stop();
  informer.stop();  // idempotent
}

TEST(CacheReaderTest, GetsAndListsFromTheInformer) {
  FakeClient client;
  client.put(cms(), configMap("a", "x", {{"tier", "web"}}));
  client.put(cms(), configMap("a", "y", {{"tier", "db"}}));
  client.put(cms(), configMap("b", "x", {{"tier", "web"}}));
  Informer informer(client, client, cms(), fast());
  CacheReader cache;
  cache.registerInformer(informer);

  auto early = cache.get(cms(), "a", "x");
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().code, ErrorCode::kUnavailable) << "not synced yet";

  informer.start();
  ASSERT_TRUE(informer.waitForSync(5s));
  auto got = cache.get(cms(), "a", "x");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(nameOf(*got), "x");
  auto missing = cache.get(cms(), "a", "zzz");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);

  auto all = cache.list(cms(), "");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->items.size(), 3u);
  EXPECT_EQ(all->resourceVersion, informer.lastSyncResourceVersion());
  auto inA = cache.list(cms(), "a");
  EXPECT_EQ(inA->items.size(), 2u);
  kube::ListOptions web;
  web.labelSelector = "tier=web";
  EXPECT_EQ(cache.list(cms(), "", web)->items.size(), 2u);
  EXPECT_EQ(cache.list(cms(), "a", web)->items.size(), 1u);
  kube::ListOptions byName;
  byName.fieldSelector = "metadata.name=y";
  EXPECT_EQ(cache.list(cms(), "", byName)->items.size(), 1u);
  kube::ListOptions badField;
  badField.fieldSelector = "status.phase=Running";
  EXPECT_EQ(cache.list(cms(), "", badField).error().code, ErrorCode::kInvalidArgument);
  kube::ListOptions badLabel;
  badLabel.labelSelector = "tier in (web";
  EXPECT_FALSE(cache.list(cms(), "", badLabel).ok());

  auto noInformer = cache.get(kube::resources::kPods, "a", "x");
  EXPECT_EQ(noInformer.error().code, ErrorCode::kInvalidArgument);

  ASSERT_TRUE(informer.addIndex("tier", indexByLabel("tier")).ok());
  auto webInA = cache.byIndex(cms(), "tier", "a/web");
  ASSERT_TRUE(webInA.ok());
  EXPECT_EQ(webInA->size(), 1u);
}

}  // namespace
}  // namespace mlops::runtime
