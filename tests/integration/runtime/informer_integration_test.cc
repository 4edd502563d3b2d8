// Informers against the real API server: list, watch, label selection.
#include <gtest/gtest.h>

#include "it_util.h"
#include "runtime/cache_reader.h"
#include "runtime/informer.h"
#include "support/plane.h"

namespace mlops::runtime {
namespace {

using namespace std::chrono_literals;
using it::configMap;
using it::eventually;
class InformerIntegrationTest : public mlops::testing::PlaneTest {
 protected:
  std::string namespacePrefix() const override { return "it-informer"; }
};

TEST_F(InformerIntegrationTest, SeesCreateUpdateAndDeleteOfConfigMaps) {
  ASSERT_TRUE(client().create(cms(), ns(), configMap("before", {}, {{"v", "1"}})).ok());
  InformerOptions opts;
  opts.ns = ns();
  Informer informer(client(), client(), cms(), opts);
  it::EventLog log;
  informer.addEventHandler(log.handler());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(30s));
  EXPECT_TRUE(log.contains("add before"));
  auto cached = informer.indexer().get(ns() + "/before");
  ASSERT_NE(cached, nullptr);
  EXPECT_FALSE((*cached)["metadata"].contains("managedFields"));
  EXPECT_EQ((*cached)["kind"], "ConfigMap");

  auto created = client().create(cms(), ns(), configMap("cm", {}, {{"v", "1"}}));
  ASSERT_TRUE(created.ok()) << created.error().toString();
  ASSERT_TRUE(eventually([&] { return log.contains("add cm"); })) << log.dump();

  nlohmann::json changed = *created;
  changed["data"]["v"] = "2";
  ASSERT_TRUE(client().update(cms(), ns(), changed).ok());
  ASSERT_TRUE(eventually([&] { return log.contains("update cm 2"); })) << log.dump();
  EXPECT_EQ((*informer.indexer().get(ns() + "/cm"))["data"]["v"], "2");

  ASSERT_TRUE(client().remove(cms(), ns(), "cm").ok());
  ASSERT_TRUE(eventually([&] { return log.contains("delete cm"); })) << log.dump();
  EXPECT_EQ(informer.indexer().get(ns() + "/cm"), nullptr);

  CacheReader cache;
  cache.registerInformer(informer);
  auto listed = cache.list(cms(), ns());
  ASSERT_TRUE(listed.ok());
  bool sawBefore = false;
  for (const auto& item : listed->items) sawBefore = sawBefore || nameOf(item) == "before";
  EXPECT_TRUE(sawBefore);
  informer.stop();
}

TEST_F(InformerIntegrationTest, LabelSelectedInformerSeesOnlyItsObjects) {
  InformerOptions opts;
  opts.ns = ns();
  opts.labelSelector = "app.kubernetes.io/managed-by=mlops-operator";
  Informer informer(client(), client(), cms(), opts);
  it::EventLog log;
  informer.addEventHandler(log.handler());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(30s));
  ASSERT_TRUE(client().create(cms(), ns(), configMap("theirs")).ok());
  ASSERT_TRUE(client()
                  .create(cms(), ns(),
                          configMap("ours", {{"app.kubernetes.io/managed-by", "mlops-operator"}}))
                  .ok());
  ASSERT_TRUE(eventually([&] { return log.contains("add ours"); })) << log.dump();
  EXPECT_FALSE(log.contains("add theirs"));
  EXPECT_EQ(informer.indexer().keys(), (std::vector<std::string>{ns() + "/ours"}));
  informer.stop();
}

TEST_F(InformerIntegrationTest, PagesThroughLargeLists) {
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(client().create(cms(), ns(), configMap("cm-" + std::to_string(i))).ok());
  }
  InformerOptions opts;
  opts.ns = ns();
  opts.pageSize = 5;
  Informer informer(client(), client(), cms(), opts);
  informer.start();
  ASSERT_TRUE(informer.waitForSync(30s));
  size_t ours = 0;
  for (const auto& key : informer.indexer().keys()) ours += key.find("/cm-") != std::string::npos;
  EXPECT_EQ(ours, 12u);
  informer.stop();
}

}  // namespace
}  // namespace mlops::runtime
