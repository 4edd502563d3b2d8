// Leader election with two in-process candidates on a real
// coordination.k8s.io/v1 Lease.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "it_util.h"
#include "runtime/leader_election.h"
#include "support/plane.h"

namespace mlops::runtime {
namespace {

using namespace std::chrono_literals;
using it::eventually;

class LeaderElectionIntegrationTest : public testing::PlaneTest {
 protected:
  std::string namespacePrefix() const override { return "it-leader"; }
};

struct Candidate {
  Candidate(kube::Client& client, const std::string& ns, const std::string& id, bool releaseOnStop)
      : lock(client, client, ns, "test-leader") {
    LeaderElectionConfig c;
    c.identity = id;
    c.leaseDuration = 3s;
    c.renewDeadline = 2s;
    c.retryPeriod = 250ms;
    c.releaseOnStop = releaseOnStop;
    c.callbacks.onStartedLeading = [this] {
      startedAt = std::chrono::steady_clock::now();
      leading = true;
    };
    c.callbacks.onLostLeadership = [this] { lost = true; };
    elector = std::make_unique<LeaderElector>(lock, c);
    thread = std::thread([this] { elector->run(); });
  }
  ~Candidate() { stop(); }
  void stop() {
    elector->stop();
    if (thread.joinable()) thread.join();
  }

  KubeLeaseLock lock;
  std::unique_ptr<LeaderElector> elector;
  std::thread thread;
  std::atomic<bool> leading{false};
  std::atomic<bool> lost{false};
  std::chrono::steady_clock::time_point startedAt;
};

nlohmann::json lease(kube::Client& client, const std::string& ns) {
  auto l = client.get(kube::resources::kLeases, ns, "test-leader");
  return l.ok() ? *l : nlohmann::json();
}

TEST_F(LeaderElectionIntegrationTest, ExactlyOneLeadsAndTheOtherTakesOverAfterExpiry) {
  // "a" stops abruptly (no release), like a process that was killed.
  Candidate a(client(), ns(), "a", /*releaseOnStop=*/false);
  ASSERT_TRUE(eventually([&] { return a.leading.load(); }));
  Candidate b(client(), ns(), "b", true);
  std::this_thread::sleep_for(2s);
  EXPECT_TRUE(a.elector->isLeader());
  EXPECT_FALSE(b.leading.load()) << "two leaders";
  EXPECT_EQ(b.elector->leader(), "a");
  auto l = lease(client(), ns());
  EXPECT_EQ(l["spec"]["holderIdentity"], "a");
  EXPECT_EQ(l["spec"]["leaseDurationSeconds"], 3);

  const auto killedAt = std::chrono::steady_clock::now();
  a.stop();
  EXPECT_EQ(lease(client(), ns())["spec"]["holderIdentity"], "a") << "a crash releases nothing";
  ASSERT_TRUE(eventually([&] { return b.leading.load(); }, 15s));
  const auto took = b.startedAt - killedAt;
  // b waits for the lease to expire on its own clock: about leaseDuration
  // after the last renewal it observed (at most one retry period before the stop).
  EXPECT_GE(took, 2500ms);
  EXPECT_LE(took, 6s);
  l = lease(client(), ns());
  EXPECT_EQ(l["spec"]["holderIdentity"], "b");
  EXPECT_EQ(l["spec"]["leaseTransitions"], 1);
  EXPECT_FALSE(a.lost.load());
}

TEST_F(LeaderElectionIntegrationTest, ReleaseHandsOverAtOnce) {
  Candidate a(client(), ns(), "a", /*releaseOnStop=*/true);
  ASSERT_TRUE(eventually([&] { return a.leading.load(); }));
  Candidate b(client(), ns(), "b", true);
  std::this_thread::sleep_for(1s);
  ASSERT_FALSE(b.leading.load());

  const auto releasedAt = std::chrono::steady_clock::now();
  a.stop();
  EXPECT_EQ(lease(client(), ns())["spec"]["holderIdentity"], "");
  ASSERT_TRUE(eventually([&] { return b.leading.load(); }, 10s));
  EXPECT_LT(b.startedAt - releasedAt, 1500ms) << "no waiting for expiry after a release";
  b.stop();
  EXPECT_EQ(lease(client(), ns())["spec"]["holderIdentity"], "");
}

}  // namespace
}  // namespace mlops::runtime
