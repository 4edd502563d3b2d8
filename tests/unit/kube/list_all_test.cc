#include <gtest/gtest.h>

#include <map>

#include "kube/client.h"

namespace mlops::kube {
namespace {

// A Reader serving `total` items in pages of the requested size.
class PagedReader final : public Reader {
 public:
  explicit PagedReader(int total) : total_(total) {}

  Result<Json> get(const Resource&, const std::string&, const std::string&) override {
    return makeError(ErrorCode::kNotFound, "unused");
  }

  Result<ListPage> list(const Resource&, const std::string&, const ListOptions& opts) override {
    calls.push_back(opts);
    if (failAt >= 0 && static_cast<int>(calls.size()) - 1 == failAt) {
      return makeError(ErrorCode::kGone, "continue token expired");
    }
    int start = opts.continueToken.empty() ? 0 : std::stoi(opts.continueToken);
    int end = std::min<int>(total_, start + static_cast<int>(opts.limit));
    ListPage page;
    page.resourceVersion = "rv-" + std::to_string(calls.size());
    for (int i = start; i < end; ++i) page.items.push_back({{"i", i}});
    if (end < total_) page.continueToken = repeatToken ? "0" : std::to_string(end);
    if (repeatToken && start == 0 && calls.size() > 1) page.continueToken = "0";
    return page;
  }

  std::vector<ListOptions> calls;
  int failAt = -1;
  bool repeatToken = false;

 private:
  int total_;
};

TEST(ListAllTest, FollowsContinueTokensAndKeepsFirstResourceVersion) {
  PagedReader reader(523);
  ListOptions opts;
  opts.labelSelector = "app=x";
  opts.resourceVersion = "0";
  Result<ListPage> all = listAll(reader, resources::kConfigMaps, "ns", opts, 100);
  ASSERT_TRUE(all.ok()) << all.error().message;
  ASSERT_EQ(all->items.size(), 523u);
  for (int i = 0; i < 523; ++i) EXPECT_EQ(all->items[i]["i"], i);
  EXPECT_EQ(all->resourceVersion, "rv-1");
  EXPECT_TRUE(all->continueToken.empty());
  ASSERT_EQ(reader.calls.size(), 6u);
  for (const auto& c : reader.calls) {
    EXPECT_EQ(c.limit, 100);
    EXPECT_EQ(c.labelSelector, "app=x");
  }
  EXPECT_EQ(reader.calls[0].resourceVersion, "0");
  EXPECT_EQ(reader.calls[1].resourceVersion, "");  // not allowed with continue
  EXPECT_EQ(reader.calls[1].continueToken, "100");
}

TEST(ListAllTest, EmptyList) {
  PagedReader reader(0);
  Result<ListPage> all = listAll(reader, resources::kPods, "", {});
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->items.empty());
  EXPECT_EQ(reader.calls.size(), 1u);
  EXPECT_EQ(reader.calls[0].limit, 500);
}

TEST(ListAllTest, ErrorOnALaterPageIsReturned) {
  PagedReader reader(300);
  reader.failAt = 2;
  Result<ListPage> all = listAll(reader, resources::kPods, "", {}, 100);
  ASSERT_FALSE(all.ok());
  EXPECT_EQ(all.error().code, ErrorCode::kGone);
}

TEST(ListAllTest, RepeatedContinueTokenStopsTheLoop) {
  PagedReader reader(300);
  reader.repeatToken = true;
  Result<ListPage> all = listAll(reader, resources::kPods, "", {}, 100);
  ASSERT_FALSE(all.ok());
  EXPECT_EQ(all.error().code, ErrorCode::kInternal);
  EXPECT_LE(reader.calls.size(), 3u);
}

}  // namespace
}  // namespace mlops::kube
