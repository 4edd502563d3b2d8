#include "runtime/indexer.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace mlops::runtime {
namespace {

using testing::configMap;

ObjectPtr ptr(nlohmann::json j) {
  return std::make_shared<const nlohmann::json>(std::move(j));
}

TEST(IndexerTest, UpsertGetRemove) {
  Indexer idx;
  EXPECT_EQ(idx.upsert("a/x", ptr(configMap("a", "x"))), nullptr);
  auto previous = idx.upsert("a/x", ptr(configMap("a", "x", {{"k", "v"}})));
  ASSERT_NE(previous, nullptr);
  EXPECT_TRUE((*previous)["metadata"]["labels"].empty());
  EXPECT_EQ(idx.size(), 1u);
  EXPECT_NE(idx.remove("a/x"), nullptr);
  EXPECT_EQ(idx.remove("a/x"), nullptr);
  EXPECT_EQ(idx.get("a/x"), nullptr);
}

TEST(IndexerTest, SnapshotsStayValidAfterChanges) {
  Indexer idx;
  idx.upsert("a/x", ptr(configMap("a", "x", {{"v", "1"}})));
  ObjectPtr snapshot = idx.get("a/x");
  idx.upsert("a/x", ptr(configMap("a", "x", {{"v", "2"}})));
  idx.remove("a/x");
  EXPECT_EQ((*snapshot)["metadata"]["labels"]["v"], "1");
}

TEST(IndexerTest, ReplaceReturnsDroppedAndReindexes) {
  Indexer idx;
  ASSERT_TRUE(idx.addIndex("tier", indexByLabel("tier")).ok());
  idx.upsert("a/x", ptr(configMap("a", "x", {{"tier", "web"}})));
  idx.upsert("a/y", ptr(configMap("a", "y", {{"tier", "web"}})));
  std::map<std::string, ObjectPtr> next{{"a/y", ptr(configMap("a", "y", {{"tier", "db"}}))},
                                        {"b/z", ptr(configMap("b", "z", {{"tier", "web"}}))}};
  auto dropped = idx.replace(next);
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ((*dropped[0])["metadata"]["name"], "x");
  EXPECT_TRUE(idx.byIndex("tier", "a/web")->empty());
  EXPECT_EQ(idx.byIndex("tier", "a/db")->size(), 1u);
  EXPECT_EQ(idx.byIndex(kNamespaceIndex, "b")->size(), 1u);
}

TEST(IndexerTest, IndexAddedLaterCoversExistingObjects) {
  Indexer idx;
  nlohmann::json mv = configMap("a", "churn-v1");
  mv["spec"] = {{"model", "churn"}};
  idx.upsert("a/churn-v1", ptr(mv));
  ASSERT_TRUE(idx.addIndex("model", indexByField("/spec/model")).ok());
  EXPECT_TRUE(idx.hasIndex("model"));
  EXPECT_EQ(idx.byIndex("model", "a/churn")->size(), 1u);
}

TEST(IndexerTest, ThrowingIndexFunctionYieldsNoValues) {
  Indexer idx;
  ASSERT_TRUE(idx.addIndex("bad",
                           [](const nlohmann::json& o) -> std::vector<std::string> {
                             return {o.at("missing").get<std::string>()};
                           })
                  .ok());
  idx.upsert("a/x", ptr(configMap("a", "x")));
  EXPECT_EQ(idx.size(), 1u);
  idx.remove("a/x");
  EXPECT_EQ(idx.size(), 0u);
}

TEST(IndexerTest, RegisteringTheSameIndexAgainIsIdempotentAndAnotherOneIsAnError) {
  Indexer idx;
  ASSERT_TRUE(idx.addIndex("model", indexByLabel("mlops.dev/model")).ok());
  idx.upsert(
      "ns/a",
      std::make_shared<const nlohmann::json>(nlohmann::json{
          {"metadata",
           {{"namespace", "ns"}, {"name", "a"}, {"labels", {{"mlops.dev/model", "iris"}}}}}}));
  // A second controller wiring the same index: fine, nothing changes.
  EXPECT_TRUE(idx.addIndex("model", indexByLabel("mlops.dev/model")).ok());
  EXPECT_EQ(idx.byIndex("model", "ns/iris")->size(), 1u);

  // The same name for something else: an error that names both.
  auto other = idx.addIndex("model", indexByField("/spec/model"));
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(other.error().message.find("label mlops.dev/model"), std::string::npos);
  EXPECT_NE(other.error().message.find("field /spec/model"), std::string::npos);
  EXPECT_FALSE(idx.addIndex("model", indexByLabel("app")).ok());
  // A bare function can never be shown to be the same one.
  EXPECT_FALSE(
      idx.addIndex("model", [](const nlohmann::json&) { return std::vector<std::string>{}; }).ok());
  EXPECT_EQ(idx.byIndex("model", "ns/iris")->size(), 1u) << "the first definition stays";
}

}  // namespace
}  // namespace mlops::runtime
