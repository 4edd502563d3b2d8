// Leader election with two in-process candidates on a real
// coordination.k8s.io/v1 Lease. Their time is a fake clock that the test
// advances in small steps (waiting after each until both candidates are
// asleep again), so "b did not take over for 6 s" is a fact, not a sleep.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <thread>

#include "fake_clock.h"
#include "it_util.h"
#include "runtime/leader_election.h"
#include "support/plane.h"

namespace mlops::runtime {
namespace {

using namespace std::chrono_literals;
using it::eventually;
using runtime::testing::FakeClock;

class LeaderElectionIntegrationTest : public mlops::testing::PlaneTest {
 protected:
  std::string namespacePrefix() const override { return "it-leader"; }
};

struct Candidate {
  Candidate(kube::Client& client, const std::string& ns, const std::string& id, bool releaseOnStop,
            const FakeClock& clock)
      : lock(client, client, ns, "test-leader") {
    LeaderElectionConfig c;
    c.identity = id;
    c.leaseDuration = 3s;
    c.renewDeadline = 2s;
    c.retryPeriod = 250ms;
    c.releaseOnStop = releaseOnStop;
    c.callbacks.onStartedLeading = [this, &clock] {
      startedAt = clock.now();
      leading = true;
    };
    c.callbacks.onLostLeadership = [this] { lost = true; };
    elector = std::make_unique<LeaderElector>(lock, c, clock);
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
  Clock::TimePoint startedAt;  // on the fake clock
};

// Advances the clock in 50 ms steps until `done` or `limit`, letting the
// `sleepers` candidates act after each step. False if they did not settle.
bool advanceUntil(FakeClock& clock, const std::function<bool()>& done,
                  std::chrono::milliseconds limit, int sleepers) {
  for (auto passed = 0ms; passed < limit && !done(); passed += 50ms) {
    clock.advance(50ms);
    if (!clock.settle(sleepers)) return false;
  }
  return true;
}

nlohmann::json lease(kube::Client& client, const std::string& ns) {
  auto l = client.get(kube::resources::kLeases, ns, "test-leader");
  return l.ok() ? *l : nlohmann::json();
}

TEST_F(LeaderElectionIntegrationTest, ExactlyOneLeadsAndTheOtherTakesOverAfterExpiry) {
  FakeClock clock;
  // "a" stops abruptly (no release), like a process that was killed.
  Candidate a(client(), ns(), "a", /*releaseOnStop=*/false, clock);
  ASSERT_TRUE(eventually([&] { return a.leading.load(); }));
  Candidate b(client(), ns(), "b", true, clock);
  ASSERT_TRUE(eventually([&] { return b.elector->leader() == "a"; }));
  // Twice the lease duration: a renews, b campaigns, b never leads.
  ASSERT_TRUE(clock.advanceInSteps(6s, 50ms, 2));
  EXPECT_TRUE(a.elector->isLeader());
  EXPECT_FALSE(b.leading.load()) << "two leaders";
  EXPECT_EQ(b.elector->leader(), "a");
  auto l = lease(client(), ns());
  EXPECT_EQ(l["spec"]["holderIdentity"], "a");
  EXPECT_EQ(l["spec"]["leaseDurationSeconds"], 3);

  const auto killedAt = clock.now();
  a.stop();
  EXPECT_EQ(lease(client(), ns())["spec"]["holderIdentity"], "a") << "a crash releases nothing";
  ASSERT_TRUE(advanceUntil(
      clock, [&] { return b.leading.load(); }, 15s, 1));
  ASSERT_TRUE(b.leading.load());
  const auto took = b.startedAt - killedAt;
  // b waits for the lease to expire on its own clock: leaseDuration after it
  // first saw a's last renewal. a renewed at most one retry period (250 ms)
  // before the stop; b saw it within one jittered retry period (at most
  // 250 ms + 1.2 × 250 ms) of the renewal, and acts 50 ms after expiry.
  EXPECT_GE(took, 3s - 250ms);
  EXPECT_LE(took, 3s + 550ms + 100ms);
  l = lease(client(), ns());
  EXPECT_EQ(l["spec"]["holderIdentity"], "b");
  EXPECT_EQ(l["spec"]["leaseTransitions"], 1);
  EXPECT_FALSE(a.lost.load());
}

TEST_F(LeaderElectionIntegrationTest, ReleaseHandsOverAtOnce) {
  FakeClock clock;
  Candidate a(client(), ns(), "a", /*releaseOnStop=*/true, clock);
  ASSERT_TRUE(eventually([&] { return a.leading.load(); }));
  Candidate b(client(), ns(), "b", true, clock);
  ASSERT_TRUE(eventually([&] { return b.elector->leader() == "a"; }));
  ASSERT_TRUE(clock.advanceInSteps(1s, 50ms, 2));
  ASSERT_FALSE(b.leading.load());

  const auto releasedAt = clock.now();
  a.stop();
  EXPECT_EQ(lease(client(), ns())["spec"]["holderIdentity"], "");
  ASSERT_TRUE(advanceUntil(
      clock, [&] { return b.leading.load(); }, 10s, 1));
  ASSERT_TRUE(b.leading.load());
  // At b's next attempt, within one jittered retry period, not after expiry.
  EXPECT_LE(b.startedAt - releasedAt, 600ms) << "no waiting for expiry after a release";
  b.stop();
  EXPECT_EQ(lease(client(), ns())["spec"]["holderIdentity"], "");
}

}  // namespace
}  // namespace mlops::runtime
