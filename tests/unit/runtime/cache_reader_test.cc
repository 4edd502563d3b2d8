// CacheReader over several informers of one resource: which informer answers
// which read (the covering rule in cache_reader.h).
#include "runtime/cache_reader.h"

#include <gtest/gtest.h>

#include <memory>

#include "fake_client.h"
#include "runtime/object.h"
#include "test_util.h"

namespace mlops::runtime {
namespace {

using namespace std::chrono_literals;
using testing::configMap;
using testing::FakeClient;

std::vector<std::string> names(const nlohmann::json& items) {
  std::vector<std::string> out;
  for (const auto& i : items) out.push_back(nameOf(i));
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> names(const std::vector<nlohmann::json>& items) {
  return names(nlohmann::json(items));
}

class CacheReaderSelectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client_.put(cms(), configMap("a", "train-1", {{"component", "training"}, {"model", "iris"}}));
    client_.put(cms(), configMap("a", "serve-1", {{"component", "serving"}, {"model", "iris"}}));
    client_.put(cms(),
                configMap("a", "serve-2",
                          {{"component", "serving"}, {"model", "iris"}, {"track", "canary"}}));
    client_.put(cms(), configMap("a", "other", {{"model", "iris"}}));
  }
  Informer& add(const std::string& labelSelector, const std::string& fieldSelector = "") {
    InformerOptions o;
    o.labelSelector = labelSelector;
    o.fieldSelector = fieldSelector;
    informers_.push_back(std::make_unique<Informer>(client_, client_, cms(), o));
    Informer& i = *informers_.back();
    cache_.registerInformer(i);
    return i;
  }
  void startAll() {
    for (auto& i : informers_) {
      i->start();
      ASSERT_TRUE(i->waitForSync(5s));
    }
  }
  void TearDown() override {
    for (auto& i : informers_) i->stop();
  }

  FakeClient client_;
  CacheReader cache_;
  std::vector<std::unique_ptr<Informer>> informers_;
};

TEST_F(CacheReaderSelectionTest, ListsAnswerFromTheInformerWhoseSelectionCoversThem) {
  add("component=training");
  add("component=serving");
  startAll();

  kube::ListOptions serving;
  serving.labelSelector = "component=serving";
  auto page = cache_.list(cms(), "a", serving);
  ASSERT_TRUE(page.ok()) << page.error().toString();
  EXPECT_EQ(names(page->items), (std::vector<std::string>{"serve-1", "serve-2"}));

  kube::ListOptions canary;
  canary.labelSelector = "component=serving,track=canary";  // narrower: still covered
  EXPECT_EQ(names(cache_.list(cms(), "a", canary)->items), std::vector<std::string>{"serve-2"});

  kube::ListOptions training;
  training.labelSelector = "component=training";
  EXPECT_EQ(names(cache_.list(cms(), "a", training)->items), std::vector<std::string>{"train-1"});

  // No informer holds every object of these reads: a wiring mistake, said
  // loudly instead of answering with a part.
  auto everything = cache_.list(cms(), "a");
  ASSERT_FALSE(everything.ok());
  EXPECT_EQ(everything.error().code, ErrorCode::kInvalidArgument);
  kube::ListOptions byModel;
  byModel.labelSelector = "model=iris";
  EXPECT_EQ(cache_.list(cms(), "a", byModel).error().code, ErrorCode::kInvalidArgument);
}

TEST_F(CacheReaderSelectionTest, TheNarrowestCoveringInformerAnswers) {
  Informer& all = add("");
  Informer& serving = add("component=serving");
  startAll();
  // Both cover the read; the filtered one answers (its resourceVersion).
  kube::ListOptions o;
  o.labelSelector = "component=serving";
  auto page = cache_.list(cms(), "a", o);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->resourceVersion, serving.lastSyncResourceVersion());
  EXPECT_EQ(names(page->items), (std::vector<std::string>{"serve-1", "serve-2"}));
  EXPECT_EQ(cache_.list(cms(), "a")->items.size(), 4u);
  EXPECT_EQ(all.indexer().size(), 4u);
  EXPECT_EQ(serving.indexer().size(), 2u);
}

TEST_F(CacheReaderSelectionTest, GetFindsTheObjectInWhicheverInformerSelectsIt) {
  add("component=training");
  add("component=serving");
  startAll();
  auto got = cache_.get(cms(), "a", "serve-1");
  ASSERT_TRUE(got.ok()) << got.error().toString();
  EXPECT_EQ(nameOf(*got), "serve-1");
  ASSERT_TRUE(cache_.get(cms(), "a", "train-1").ok());
  auto unselected = cache_.get(cms(), "a", "other");
  ASSERT_FALSE(unselected.ok());
  EXPECT_EQ(unselected.error().code, ErrorCode::kNotFound);
}

TEST_F(CacheReaderSelectionTest, ByIndexUsesTheInformerWithTheIndexThatCoversTheSelector) {
  Informer& all = add("");
  Informer& serving = add("component=serving");
  ASSERT_TRUE(all.addIndex("model", indexByLabel("model")).ok());
  ASSERT_TRUE(serving.addIndex("model", indexByLabel("model")).ok());
  startAll();

  auto everyIris = cache_.byIndex(cms(), "model", "a/iris");
  ASSERT_TRUE(everyIris.ok());
  EXPECT_EQ(everyIris->size(), 4u);
  auto servingIris = cache_.byIndex(cms(), "model", "a/iris", "component=serving");
  ASSERT_TRUE(servingIris.ok());
  EXPECT_EQ(names(*servingIris), (std::vector<std::string>{"serve-1", "serve-2"}));
  auto canaryIris = cache_.byIndex(cms(), "model", "a/iris", "component=serving,track=canary");
  EXPECT_EQ(names(*canaryIris), std::vector<std::string>{"serve-2"});

  auto noIndex = cache_.byIndex(cms(), "track", "a/canary");
  ASSERT_FALSE(noIndex.ok());
  EXPECT_EQ(noIndex.error().code, ErrorCode::kInvalidArgument);
}

// A field-selected informer holds only what its field selector selected: its
// index answers a read that names the same field selector, and no other.
TEST_F(CacheReaderSelectionTest, AFieldSelectedInformersIndexAnswersOnlyReadsWithItsSelector) {
  Informer& failures = add("", "reason=FailedCreate,involvedObject.kind=Job");
  ASSERT_TRUE(failures.addIndex("model", indexByLabel("model")).ok());
  startAll();
  auto same =
      cache_.byIndex(cms(), "model", "a/iris", "", "involvedObject.kind=Job,reason=FailedCreate");
  ASSERT_TRUE(same.ok()) << same.error().toString();
  EXPECT_FALSE(same->empty());
  for (const char* other :
       {"", "reason=FailedCreate", "reason=FailedCreate,involvedObject.kind=Job,type=Warning"}) {
    auto read = cache_.byIndex(cms(), "model", "a/iris", "", other);
    ASSERT_FALSE(read.ok()) << other;
    EXPECT_EQ(read.error().code, ErrorCode::kInvalidArgument) << other;
  }
}

TEST_F(CacheReaderSelectionTest, AReadWaitsForTheInformerThatAnswersIt) {
  add("");
  InformerOptions o;
  o.labelSelector = "component=serving";
  informers_.push_back(std::make_unique<Informer>(client_, client_, cms(), o));
  cache_.registerInformer(*informers_.back());
  informers_.front()->start();
  ASSERT_TRUE(informers_.front()->waitForSync(5s));
  kube::ListOptions serving;
  serving.labelSelector = "component=serving";
  auto early = cache_.list(cms(), "a", serving);
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(cache_.list(cms(), "a").ok()) << "the unfiltered informer has synced";
}

}  // namespace
}  // namespace mlops::runtime
