// The reflector's answer to 410 Gone, against the real API server: an
// informer loses its watch, changes happen, etcd is compacted past the
// revision it holds, and on reconnecting it gets 410, relists, and its cache
// converges — including the delete whose event it never saw.
//
// Uses the second API server of the plane, which runs with
// --watch-cache=false: the watch cache would serve old revisions from memory
// and never answer 410.
#include <gtest/gtest.h>

#include <atomic>
#include <set>

#include "it_util.h"
#include "kube/config.h"
#include "kube/rest_client.h"
#include "runtime/informer.h"
#include "support/plane.h"

namespace mlops::runtime {
namespace {

using namespace std::chrono_literals;
using it::configMap;
using it::eventually;
const kube::Resource& cms() {
  return kube::resources::kConfigMaps;
}

// A Watcher that the test can cut off: close() cancels open streams and
// refuses new watches until open(). Counts the 410s it passes through.
class GatedWatcher final : public kube::Watcher {
 public:
  explicit GatedWatcher(kube::Watcher& inner) : inner_(inner) {}

  Result<std::unique_ptr<kube::WatchStream>> watch(const kube::Resource& r, const std::string& ns,
                                                   const kube::WatchOptions& opts) override {
    {
      std::lock_guard lock(mu_);
      if (closed_) return makeError(ErrorCode::kUnavailable, "test gate closed");
      watchedFrom_.push_back(opts.resourceVersion);
    }
    auto stream = inner_.watch(r, ns, opts);
    if (!stream) {
      if (stream.error().code == ErrorCode::kGone) ++gone_;
      return stream.error();
    }
    return std::unique_ptr<kube::WatchStream>(new Stream(*this, std::move(*stream)));
  }

  void close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    for (auto* s : open_) s->cancel();
  }
  void open() {
    std::lock_guard lock(mu_);
    closed_ = false;
  }
  int gone() const { return gone_.load(); }
  std::vector<std::string> watchedFrom() const {
    std::lock_guard lock(mu_);
    return watchedFrom_;
  }

 private:
  class Stream final : public kube::WatchStream {
   public:
    Stream(GatedWatcher& gate, std::unique_ptr<kube::WatchStream> inner)
        : gate_(gate), inner_(std::move(inner)) {
      std::lock_guard lock(gate_.mu_);
      gate_.open_.insert(this);
    }
    ~Stream() override {
      std::lock_guard lock(gate_.mu_);
      gate_.open_.erase(this);
    }
    Result<std::optional<kube::WatchEvent>> next() override {
      auto ev = inner_->next();
      if (!ev && ev.error().code == ErrorCode::kGone) ++gate_.gone_;
      return ev;
    }
    void cancel() override { inner_->cancel(); }

   private:
    GatedWatcher& gate_;
    std::unique_ptr<kube::WatchStream> inner_;
  };

  kube::Watcher& inner_;
  mutable std::mutex mu_;
  bool closed_ = false;
  std::set<Stream*> open_;
  std::vector<std::string> watchedFrom_;
  std::atomic<int> gone_{0};
};

class RelistIntegrationTest : public testing::PlaneTest {
 protected:
  std::string namespacePrefix() const override { return "it-relist"; }

  void SetUp() override {
    testing::PlaneTest::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_FALSE(env().kubeconfigNoWatchCache().empty()) << "KUBECONFIG_NO_WATCH_CACHE not set";
    ASSERT_FALSE(env().etcdctl().empty()) << "ETCDCTL not set";
    auto cfg = kube::loadKubeconfig(env().kubeconfigNoWatchCache());
    ASSERT_TRUE(cfg.ok()) << cfg.error().toString();
    auto c = kube::makeRestClient(*cfg);
    ASSERT_TRUE(c.ok()) << c.error().toString();
    direct_ = std::move(*c);
  }

  // Compacts etcd up to `revision` (a resourceVersion is an etcd revision).
  void compactTo(const std::string& revision) {
    auto result = testing::runCommand(
        {env().etcdctl(), "--endpoints", env().etcdEndpoints(), "compact", revision});
    ASSERT_EQ(result.exitCode, 0) << result.describe();
  }

  std::unique_ptr<kube::Client> direct_;  // the server without watch cache
};

TEST_F(RelistIntegrationTest, ReflectorRelistsAfterGoneAndLosesNoDelete) {
  for (const char* name : {"keep", "doomed", "changed"}) {
    ASSERT_TRUE(client().create(cms(), ns(), configMap(name, {}, {{"v", "1"}})).ok());
  }
  GatedWatcher gate(*direct_);
  InformerOptions opts;
  opts.ns = ns();
  opts.backoff.initial = 50ms;
  opts.backoff.max = 200ms;
  Informer informer(*direct_, gate, cms(), opts);
  it::EventLog log;
  informer.addEventHandler(log.handler());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(30s));
  ASSERT_TRUE(eventually([&] { return !gate.watchedFrom().empty(); }));
  const std::string heldRv = informer.lastSyncResourceVersion();
  ASSERT_FALSE(heldRv.empty());

  // Cut the watch off; the informer keeps retrying from heldRv.
  gate.close();
  ASSERT_TRUE(client().remove(cms(), ns(), "doomed").ok());
  auto changed = client().get(cms(), ns(), "changed");
  ASSERT_TRUE(changed.ok());
  (*changed)["data"]["v"] = "2";
  ASSERT_TRUE(client().update(cms(), ns(), *changed).ok());
  auto added = client().create(cms(), ns(), configMap("added", {}, {{"v", "1"}}));
  ASSERT_TRUE(added.ok());
  EXPECT_EQ(informer.lastSyncResourceVersion(), heldRv) << "nothing seen while cut off";

  // Compact past every revision the informer could resume from.
  compactTo(resourceVersionOf(*added));

  // The held revision is now gone for good: a direct watch from it gets 410.
  {
    kube::WatchOptions w;
    w.resourceVersion = heldRv;
    auto stream = direct_->watch(cms(), ns(), w);
    bool gone = !stream.ok() && stream.error().code == ErrorCode::kGone;
    if (stream.ok()) {
      auto first = (*stream)->next();
      gone = !first.ok() && first.error().code == ErrorCode::kGone;
    }
    EXPECT_TRUE(gone) << "a watch from a compacted revision must answer 410";
  }

  gate.open();
  ASSERT_TRUE(eventually([&] { return informer.listCount() >= 2; }, 30s))
      << "the informer never relisted";
  EXPECT_GE(gate.gone(), 1) << "the relist must have been caused by 410 Gone";
  bool resumedFromHeld = false;
  for (const auto& rv : gate.watchedFrom()) resumedFromHeld = resumedFromHeld || rv == heldRv;
  EXPECT_TRUE(resumedFromHeld);

  // The cache converged, and the missed delete was reported as a tombstone.
  ASSERT_TRUE(eventually([&] { return log.contains("tombstone doomed"); })) << log.dump();
  EXPECT_TRUE(log.contains("update changed 2")) << log.dump();
  EXPECT_TRUE(log.contains("add added")) << log.dump();
  EXPECT_EQ(informer.indexer().get(ns() + "/doomed"), nullptr);
  ASSERT_NE(informer.indexer().get(ns() + "/changed"), nullptr);
  EXPECT_EQ((*informer.indexer().get(ns() + "/changed"))["data"]["v"], "2");
  EXPECT_NE(informer.indexer().get(ns() + "/added"), nullptr);
  EXPECT_NE(informer.indexer().get(ns() + "/keep"), nullptr);

  // And it is watching again: later changes arrive as ordinary events.
  ASSERT_TRUE(client().remove(cms(), ns(), "keep").ok());
  ASSERT_TRUE(eventually([&] { return log.contains("delete keep"); })) << log.dump();
  informer.stop();
}

}  // namespace
}  // namespace mlops::runtime
