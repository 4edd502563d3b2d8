// Lists of more than one page (the server's default page size is 500).
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "support/plane.h"

namespace mlops::kube {
namespace {

class KubePaginationTest : public testing::PlaneTest {
 protected:
  std::string namespacePrefix() const override { return "kube-page"; }
};

TEST_F(KubePaginationTest, EveryObjectSeenExactlyOnceAcrossPages) {
  constexpr int kCount = 520;
  constexpr int kThreads = 4;
  std::atomic<int> next{0};
  std::mutex mu;
  std::vector<std::string> failures;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = next++; i < kCount; i = next++) {
        Json cm = {{"apiVersion", "v1"},
                   {"kind", "ConfigMap"},
                   {"metadata",
                    {{"name", "page-" + std::to_string(i)}, {"labels", {{"suite", "paging"}}}}},
                   {"data", {{"i", std::to_string(i)}}}};
        Result<Json> r = client().create(resources::kConfigMaps, ns(), cm);
        if (!r.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          failures.push_back(r.error().toString());
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(failures.empty()) << failures.size() << " creates failed, first: " << failures[0];

  // Page by hand, checking the protocol.
  ListOptions opts;
  opts.labelSelector = "suite=paging";
  opts.limit = 100;
  std::map<std::string, int> seen;
  int pages = 0;
  std::string firstVersion;
  while (true) {
    Result<ListPage> page = client().list(resources::kConfigMaps, ns(), opts);
    ASSERT_TRUE(page.ok()) << page.error().toString();
    ++pages;
    if (pages == 1) firstVersion = page->resourceVersion;
    EXPECT_LE(page->items.size(), 100u);
    for (const auto& item : page->items) ++seen[item["metadata"]["name"].get<std::string>()];
    if (page->continueToken.empty()) break;
    ASSERT_LT(pages, 20) << "pagination does not end";
    opts.continueToken = page->continueToken;
  }
  EXPECT_EQ(pages, 6);
  EXPECT_FALSE(firstVersion.empty());
  ASSERT_EQ(seen.size(), static_cast<size_t>(kCount));
  for (int i = 0; i < kCount; ++i) {
    EXPECT_EQ(seen["page-" + std::to_string(i)], 1) << "page-" << i;
  }

  // The same through listAll, default page size (500) and a small one.
  ListOptions all;
  all.labelSelector = "suite=paging";
  for (int64_t pageSize : {int64_t{500}, int64_t{100}}) {
    Result<ListPage> everything = listAll(client(), resources::kConfigMaps, ns(), all, pageSize);
    ASSERT_TRUE(everything.ok()) << everything.error().toString();
    std::set<std::string> names;
    for (const auto& item : everything->items) names.insert(item["metadata"]["name"]);
    EXPECT_EQ(everything->items.size(), static_cast<size_t>(kCount));
    EXPECT_EQ(names.size(), static_cast<size_t>(kCount));
    EXPECT_FALSE(everything->resourceVersion.empty());
  }
}

}  // namespace
}  // namespace mlops::kube
