#include "runtime/indexer.h"

#include <cstdint>
#include <limits>
#include <random>

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

// Counts follow upserts that move an object between values, removals and a
// replace; a value no object yields any more is absent.
TEST(IndexerTest, CountByIndexFollowsEveryWrite) {
  Indexer idx;
  EXPECT_FALSE(idx.countByIndex("tier").ok()) << "no such index";
  ASSERT_TRUE(idx.addIndex("tier", indexByLabel("tier")).ok());
  EXPECT_TRUE(idx.countByIndex("tier")->empty());
  idx.upsert("a/x", ptr(configMap("a", "x", {{"tier", "web"}})));
  idx.upsert("a/y", ptr(configMap("a", "y", {{"tier", "web"}})));
  idx.upsert("a/z", ptr(configMap("a", "z", {{"tier", "db"}})));
  EXPECT_EQ(*idx.countByIndex("tier"),
            (std::map<std::string, std::size_t>{{"a/db", 1}, {"a/web", 2}}));
  idx.upsert("a/y", ptr(configMap("a", "y", {{"tier", "db"}})));
  idx.remove("a/x");
  EXPECT_EQ(*idx.countByIndex("tier"), (std::map<std::string, std::size_t>{{"a/db", 2}}));
  idx.replace({{"b/w", ptr(configMap("b", "w", {{"tier", "web"}}))}});
  EXPECT_EQ(*idx.countByIndex("tier"), (std::map<std::string, std::size_t>{{"b/web", 1}}));
  EXPECT_EQ(*idx.countByIndex(kNamespaceIndex), (std::map<std::string, std::size_t>{{"b", 1}}));
}

// Index entries point at the items they index: after any sequence of
// upserts (moving between values or staying), removals and replaces, a
// lookup by index gives exactly the objects a scan of the cache would.
TEST(IndexerTest, LookupsByIndexEqualAScanAfterAnySequenceOfWrites) {
  Indexer idx;
  ASSERT_TRUE(idx.addIndex("tier", indexByLabel("tier")).ok());
  std::mt19937 random(20261201);
  const std::vector<std::string> tiers = {"web", "db", "batch"};
  auto object = [&](int k, int version) {
    nlohmann::json obj =
        configMap("ns", "o" + std::to_string(k), {{"tier", tiers[random() % tiers.size()]}});
    obj["data"] = {{"version", version}};
    return obj;
  };
  for (int step = 0; step < 3000; ++step) {
    const int k = static_cast<int>(random() % 24);
    const std::string key = "ns/o" + std::to_string(k);
    switch (random() % 10) {
      case 0:
        idx.remove(key);
        break;
      case 1: {
        std::map<std::string, ObjectPtr> next;
        for (int j = k; j < k + 6; ++j) {
          next.emplace("ns/o" + std::to_string(j), ptr(object(j, step)));
        }
        idx.replace(next);
        break;
      }
      default:
        idx.upsert(key, ptr(object(k, step)));
    }
    if (step % 50 != 0) {
      continue;
    }
    for (const auto& tier : tiers) {
      std::vector<nlohmann::json> scanned;
      for (const auto& obj : idx.listCopy()) {
        if (obj["metadata"]["labels"]["tier"] == tier) {
          scanned.push_back(obj);
        }
      }
      ASSERT_EQ(*idx.byIndexCopy("tier", "ns/" + tier), scanned) << "step " << step;
      const auto counts = *idx.countByIndex("tier");
      const auto it = counts.find("ns/" + tier);
      EXPECT_EQ(it == counts.end() ? 0u : it->second, scanned.size());
    }
  }
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

// Objects are stored encoded; what comes back must be the same JSON value,
// with every number kind kept apart (a resourceVersion-like unsigned, a
// negative, floats that are and are not exact in 32 bits) and every string
// byte kept.
TEST(IndexerTest, ReadsGiveBackExactlyTheValueStored) {
  Indexer idx;
  nlohmann::json obj = configMap("a", "x", {{"tier", "web"}});
  obj["data"] = {{"big", std::numeric_limits<std::uint64_t>::max()},
                 {"negative", std::numeric_limits<std::int64_t>::min()},
                 {"exact", 0.5},
                 {"inexact", 0.1},
                 {"huge", 1e300},
                 {"zero", 0.0},
                 {"int", 3},
                 {"text", "Genauigkeit \u00fcber 0,9 \u2014 \U0001F600"},
                 {"empty", nlohmann::json::object()},
                 {"list", {nullptr, true, false, "", nlohmann::json::array()}}};
  idx.upsert("a/x", ptr(obj));
  ObjectPtr back = idx.get("a/x");
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(*back, obj);
  EXPECT_TRUE((*back)["data"]["big"].is_number_unsigned());
  EXPECT_TRUE((*back)["data"]["int"].is_number_unsigned());
  EXPECT_TRUE((*back)["data"]["negative"].is_number_integer());
  EXPECT_TRUE((*back)["data"]["zero"].is_number_float());
  EXPECT_EQ((*back)["data"]["inexact"].get<double>(), 0.1);
  EXPECT_EQ(back->dump(), obj.dump());
  EXPECT_EQ(idx.getCopy("a/x"), obj);
  EXPECT_EQ(idx.listCopy(), std::vector<nlohmann::json>{obj});
  ASSERT_TRUE(idx.addIndex("tier", indexByLabel("tier")).ok());
  EXPECT_EQ(*idx.byIndexCopy("tier", "a/web"), std::vector<nlohmann::json>{obj});
  EXPECT_FALSE(idx.byIndexCopy("nope", "a/web").ok());
}

// The point of storing encodings: far fewer bytes than the parsed trees.
TEST(IndexerTest, StoresObjectsInAboutTheSizeOfTheirText) {
  Indexer idx;
  std::size_t textBytes = 0;
  for (int i = 0; i < 50; ++i) {
    nlohmann::json obj = configMap("ns", "object-" + std::to_string(i),
                                   {{"app.kubernetes.io/component", "training"}});
    obj["data"] = {{"results", R"({"metrics":{"accuracy":0.91}})"}, {"index", i}};
    textBytes += obj.dump().size();
    idx.upsert("ns/object-" + std::to_string(i), ptr(obj));
  }
  EXPECT_GT(idx.encodedBytes(), 0u);
  EXPECT_LE(idx.encodedBytes(), textBytes);
}

// The running total equals the encodings' sum plus their key table through
// every kind of write.
TEST(IndexerTest, EncodedBytesFollowUpsertsRemovesAndReplace) {
  // What the total should be: `held` encoded with a table that numbered
  // the keys of everything in `seen` (fewer than 127 keys here, so each key
  // takes one byte whatever its number).
  auto expected = [](const std::vector<nlohmann::json>& seen,
                     const std::vector<nlohmann::json>& held) {
    KeyTable table;
    for (const auto& obj : seen) {
      encodeCompact(obj, table);
    }
    std::size_t total = 0;
    for (const auto& obj : held) {
      total += encodeCompact(obj, table).size();
    }
    return total + table.bytes();
  };
  Indexer idx;
  nlohmann::json a = configMap("ns", "a", {{"tier", "web"}});
  nlohmann::json b = configMap("ns", "b", {});
  idx.upsert("ns/a", ptr(a));
  idx.upsert("ns/b", ptr(b));
  EXPECT_EQ(idx.encodedBytes(), expected({a, b}, {a, b}));
  nlohmann::json grown = a;
  grown["data"] = {{"grown", std::string(300, 'x')}};
  idx.upsert("ns/a", ptr(grown));
  EXPECT_EQ(idx.encodedBytes(), expected({a, b, grown}, {grown, b}));
  idx.remove("ns/b");
  idx.remove("ns/absent");
  EXPECT_EQ(idx.encodedBytes(), expected({a, b, grown}, {grown}));
  // A relist encodes everything anew, with a new table.
  nlohmann::json c = configMap("ns", "c", {{"tier", "db"}});
  idx.replace({{"ns/b", ptr(b)}, {"ns/c", ptr(c)}});
  EXPECT_EQ(idx.encodedBytes(), expected({b, c}, {b, c}));
  idx.remove("ns/b");
  idx.remove("ns/c");
  EXPECT_EQ(idx.encodedBytes(), 0u) << "an empty cache holds no key table";
  idx.upsert("ns/a", ptr(a));
  idx.replace({});
  EXPECT_EQ(idx.encodedBytes(), 0u);
}

}  // namespace
}  // namespace mlops::runtime
