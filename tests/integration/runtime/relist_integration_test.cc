// The reflector's answer to 410 Gone, against the real API server: an
// informer loses its watch, changes happen, etcd is compacted past the
// revision it holds, and on reconnecting it gets 410, relists, and its cache
// converges — including the delete whose event it never saw.
//
// Uses the second API server of the plane, which runs with
// --watch-cache=false: the watch cache would serve old revisions from memory
// and never answer 410.
#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <set>
#include <vector>

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
// A Watcher that the test can cut off: close() cancels every open stream and
// refuses new watches until open(). A watch that was being opened when
// close() ran is cancelled as soon as it is open, so nothing reaches the
// informer while the gate is closed. Counts the 410s it passes through after
// the last open().
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
    std::lock_guard lock(mu_);
    if (!stream) {
      if (stream.error().code == ErrorCode::kGone) ++gone_;
      return stream.error();
    }
    // Registered under the same lock that close() takes: either close()
    // sees this stream and cancels it, or we see closed_ here.
    if (closed_) {
      (*stream)->cancel();
      return makeError(ErrorCode::kUnavailable, "test gate closed while the watch was opening");
    }
    auto gated = std::make_unique<Stream>(*this, std::move(*stream));
    open_.insert(gated.get());
    return std::unique_ptr<kube::WatchStream>(std::move(gated));
  }

  void close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    for (auto* s : open_) s->cancel();
  }
  void open() {
    std::lock_guard lock(mu_);
    closed_ = false;
    gone_ = 0;
    watchedFrom_.clear();
  }
  int openStreams() const {
    std::lock_guard lock(mu_);
    return static_cast<int>(open_.size());
  }
  // 410s seen since the last open().
  int gone() const {
    std::lock_guard lock(mu_);
    return gone_;
  }
  // The resourceVersions of the watches opened since the last open().
  std::vector<std::string> watchedFrom() const {
    std::lock_guard lock(mu_);
    return watchedFrom_;
  }

 private:
  class Stream final : public kube::WatchStream {
   public:
    Stream(GatedWatcher& gate, std::unique_ptr<kube::WatchStream> inner)
        : gate_(gate), inner_(std::move(inner)) {}
    ~Stream() override {
      std::lock_guard lock(gate_.mu_);
      gate_.open_.erase(this);
    }
    Result<std::optional<kube::WatchEvent>> next() override {
      auto ev = inner_->next();
      if (!ev && ev.error().code == ErrorCode::kGone) {
        std::lock_guard lock(gate_.mu_);
        ++gate_.gone_;
      }
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
  int gone_ = 0;
};

class RelistIntegrationTest : public mlops::testing::PlaneTest {
 protected:
  std::string namespacePrefix() const override { return "it-relist"; }

  void SetUp() override {
    mlops::testing::PlaneTest::SetUp();
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
    auto result = mlops::testing::runCommand(
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
  // Cut off an open watch, not one still being opened.
  ASSERT_TRUE(eventually([&] { return gate.openStreams() == 1; }));

  // Cut the watch off; the informer keeps retrying from what it holds now.
  gate.close();
  ASSERT_TRUE(eventually([&] { return gate.openStreams() == 0; }));
  const std::string heldRv = informer.lastSyncResourceVersion();
  ASSERT_FALSE(heldRv.empty());
  ASSERT_TRUE(client().remove(cms(), ns(), "doomed").ok());
  auto changed = client().get(cms(), ns(), "changed");
  ASSERT_TRUE(changed.ok());
  (*changed)["data"]["v"] = "2";
  ASSERT_TRUE(client().update(cms(), ns(), *changed).ok());
  auto added = client().create(cms(), ns(), configMap("added", {}, {{"v", "1"}}));
  ASSERT_TRUE(added.ok());

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

  // Nothing got through the closed gate: no event, no relist.
  EXPECT_EQ(informer.lastSyncResourceVersion(), heldRv) << "nothing seen while cut off";
  EXPECT_EQ(informer.listCount(), 1u) << "no relist while cut off";
  EXPECT_FALSE(log.contains("tombstone doomed")) << log.dump();

  gate.open();
  ASSERT_TRUE(eventually([&] { return informer.listCount() >= 2; }, 30s))
      << "the informer never relisted";
  // The relist was caused by a 410 on a watch opened after the gate
  // reopened, from the revision held while cut off.
  EXPECT_GE(gate.gone(), 1) << "the relist must have been caused by 410 Gone";
  const auto watched = gate.watchedFrom();
  ASSERT_FALSE(watched.empty());
  EXPECT_EQ(watched.front(), heldRv) << "the first watch after reopening resumes from heldRv";

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
