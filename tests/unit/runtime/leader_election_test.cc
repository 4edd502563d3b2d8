#include "runtime/leader_election.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <optional>
#include <thread>

#include "fake_client.h"
#include "fake_clock.h"
#include "test_util.h"

namespace mlops::runtime {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::FakeClock;

// One Lease, shared by the candidates' locks, with optimistic concurrency.
struct LeaseStore {
  std::mutex mu;
  std::optional<LeaderElectionRecord> record;
  int version = 0;
  std::atomic<bool> failWrites{false};
  std::atomic<bool> failReads{false};
};

class FakeLeaseLock final : public LeaseLock {
 public:
  explicit FakeLeaseLock(LeaseStore& store) : store_(store) {}
  Result<LeaderElectionRecord> get() override {
    if (store_.failReads) return makeError(ErrorCode::kUnavailable, "connection refused");
    std::lock_guard lock(store_.mu);
    if (!store_.record) return makeError(ErrorCode::kNotFound, "lease not found");
    readVersion_ = store_.version;
    return *store_.record;
  }
  Status create(const LeaderElectionRecord& r) override {
    if (store_.failWrites) return makeError(ErrorCode::kUnavailable, "connection refused");
    std::lock_guard lock(store_.mu);
    if (store_.record) return makeError(ErrorCode::kAlreadyExists, "exists");
    store_.record = r;
    readVersion_ = ++store_.version;
    return okStatus();
  }
  Status update(const LeaderElectionRecord& r) override {
    if (store_.failWrites) return makeError(ErrorCode::kUnavailable, "connection refused");
    std::lock_guard lock(store_.mu);
    if (readVersion_ != store_.version) return makeError(ErrorCode::kConflict, "conflict");
    store_.record = r;
    readVersion_ = ++store_.version;
    return okStatus();
  }
  std::string describe() const override { return "test/lease"; }

 private:
  LeaseStore& store_;
  int readVersion_ = -1;
};

LeaderElectionConfig config(const std::string& identity) {
  LeaderElectionConfig c;
  c.identity = identity;
  return c;  // 15 s / 10 s / 2 s
}

class LeaderElectionTest : public ::testing::Test {
 protected:
  LeaseStore store_;
  FakeClock clock_;
  FakeLeaseLock lockA_{store_};
  FakeLeaseLock lockB_{store_};
  LeaderElector a_{lockA_, config("a"), clock_};
  LeaderElector b_{lockB_, config("b"), clock_};
};

TEST_F(LeaderElectionTest, AcquiresAnAbsentLease) {
  EXPECT_TRUE(a_.tryAcquireOrRenew());
  EXPECT_TRUE(a_.isLeader());
  ASSERT_TRUE(store_.record.has_value());
  EXPECT_EQ(store_.record->holderIdentity, "a");
  EXPECT_EQ(store_.record->leaseDurationSeconds, 15);
  EXPECT_EQ(store_.record->renewTime, "2023-11-14T22:13:20.000000Z");
  EXPECT_EQ(store_.record->acquireTime, store_.record->renewTime);
}

TEST_F(LeaderElectionTest, OnlyOneCandidateLeads) {
  EXPECT_TRUE(a_.tryAcquireOrRenew());
  EXPECT_FALSE(b_.tryAcquireOrRenew());
  EXPECT_FALSE(b_.isLeader());
  EXPECT_EQ(b_.leader(), "a");
}

TEST_F(LeaderElectionTest, RenewKeepsAcquireTimeAndUpdatesRenewTime) {
  ASSERT_TRUE(a_.tryAcquireOrRenew());
  const auto acquired = store_.record->acquireTime;
  clock_.advance(2s);
  ASSERT_TRUE(a_.tryAcquireOrRenew());
  EXPECT_EQ(store_.record->acquireTime, acquired);
  EXPECT_EQ(store_.record->renewTime, "2023-11-14T22:13:22.000000Z");
  EXPECT_EQ(store_.record->leaseTransitions, 0);
}

TEST_F(LeaderElectionTest, NoTakeoverWhileTheHolderRenews) {
  ASSERT_TRUE(a_.tryAcquireOrRenew());
  for (int i = 0; i < 20; ++i) {  // 40 s of renewals every 2 s
    clock_.advance(2s);
    ASSERT_TRUE(a_.tryAcquireOrRenew());
    EXPECT_FALSE(b_.tryAcquireOrRenew());
  }
}

TEST_F(LeaderElectionTest, TakeoverOnlyAfterTheLeaseDurationWithoutChange) {
  ASSERT_TRUE(a_.tryAcquireOrRenew());
  EXPECT_FALSE(b_.tryAcquireOrRenew());  // b observes the record now
  // a stops renewing. Just before 15 s: still a's.
  clock_.advance(14'999ms);
  EXPECT_FALSE(b_.tryAcquireOrRenew());
  clock_.advance(2ms);
  EXPECT_TRUE(b_.tryAcquireOrRenew());
  EXPECT_TRUE(b_.isLeader());
  EXPECT_EQ(store_.record->holderIdentity, "b");
  EXPECT_EQ(store_.record->leaseTransitions, 1);
  // a comes back: it has lost the lease and cannot renew it.
  EXPECT_FALSE(a_.tryAcquireOrRenew());
  EXPECT_FALSE(a_.isLeader());
}

TEST_F(LeaderElectionTest, ExpiryIsMeasuredFromLocalObservationNotRenewTime) {
  // A record whose renewTime is ancient by any clock, first seen now.
  store_.record = LeaderElectionRecord{"a", 15, "2000-01-01T00:00:00.000000Z",
                                       "2000-01-01T00:00:00.000000Z", 3};
  store_.version = 1;
  EXPECT_FALSE(b_.tryAcquireOrRenew()) << "never compare the holder's timestamps with our clock";
  clock_.advance(10s);
  EXPECT_FALSE(b_.tryAcquireOrRenew());
  clock_.advance(6s);
  EXPECT_TRUE(b_.tryAcquireOrRenew());
  EXPECT_EQ(store_.record->leaseTransitions, 4);
}

TEST_F(LeaderElectionTest, ARenewalSeenRestartsTheExpiryClock) {
  ASSERT_TRUE(a_.tryAcquireOrRenew());
  EXPECT_FALSE(b_.tryAcquireOrRenew());
  clock_.advance(10s);
  ASSERT_TRUE(a_.tryAcquireOrRenew());  // renewal changes the record
  clock_.advance(1s);
  EXPECT_FALSE(b_.tryAcquireOrRenew());  // b sees the change: 15 s from now
  clock_.advance(14s);
  EXPECT_FALSE(b_.tryAcquireOrRenew());
  clock_.advance(2s);
  EXPECT_TRUE(b_.tryAcquireOrRenew());
}

TEST_F(LeaderElectionTest, ReleaseLetsAFollowerTakeOverAtOnce) {
  ASSERT_TRUE(a_.tryAcquireOrRenew());
  EXPECT_FALSE(b_.tryAcquireOrRenew());
  ASSERT_TRUE(a_.release().ok());
  EXPECT_FALSE(a_.isLeader());
  EXPECT_EQ(store_.record->holderIdentity, "");
  EXPECT_EQ(store_.record->leaseDurationSeconds, 1);
  EXPECT_TRUE(b_.tryAcquireOrRenew()) << "no waiting for expiry after a release";
  EXPECT_EQ(store_.record->holderIdentity, "b");
}

TEST_F(LeaderElectionTest, ReleaseByANonLeaderChangesNothing) {
  ASSERT_TRUE(a_.tryAcquireOrRenew());
  const int version = store_.version;
  ASSERT_TRUE(b_.release().ok());
  EXPECT_EQ(store_.version, version);
  EXPECT_EQ(store_.record->holderIdentity, "a");
}

TEST_F(LeaderElectionTest, RacingCandidatesCannotBothWin) {
  ASSERT_TRUE(a_.tryAcquireOrRenew());
  ASSERT_TRUE(a_.release().ok());
  // Both read the released record; the first write wins, the second conflicts.
  ASSERT_TRUE(lockA_.get().ok());
  ASSERT_TRUE(lockB_.get().ok());
  LeaderElectionRecord r{"a", 15, "t", "t", 1};
  EXPECT_TRUE(lockA_.update(r).ok());
  r.holderIdentity = "b";
  EXPECT_EQ(lockB_.update(r).error().code, ErrorCode::kConflict);
}

TEST_F(LeaderElectionTest, FailsWhenTheLeaseCannotBeRead) {
  store_.failReads = true;
  EXPECT_FALSE(a_.tryAcquireOrRenew());
  EXPECT_FALSE(a_.isLeader());
}

TEST_F(LeaderElectionTest, ReportsNewLeaders) {
  std::vector<std::string> leaders;
  LeaderElectionConfig c = config("b");
  c.callbacks.onNewLeader = [&](const std::string& id) { leaders.push_back(id); };
  LeaderElector b(lockB_, c, clock_);
  ASSERT_TRUE(a_.tryAcquireOrRenew());
  EXPECT_FALSE(b.tryAcquireOrRenew());
  EXPECT_FALSE(b.tryAcquireOrRenew());
  EXPECT_EQ(leaders, (std::vector<std::string>{"a"}));
}

TEST(LeaseJsonTest, RoundTripsTheLeaseSpec) {
  LeaderElectionRecord r{"host_1", 15, "2024-01-01T00:00:00.000000Z", "2024-01-01T00:00:02.000000Z",
                         2};
  nlohmann::json lease = {{"metadata", {{"name", "x"}, {"resourceVersion", "7"}}}};
  writeRecordToLease(r, lease);
  EXPECT_EQ(lease["spec"]["holderIdentity"], "host_1");
  EXPECT_EQ(lease["spec"]["leaseDurationSeconds"], 15);
  EXPECT_EQ(lease["metadata"]["resourceVersion"], "7");
  EXPECT_EQ(recordFromLease(lease), r);
  EXPECT_EQ(recordFromLease(nlohmann::json::object()), LeaderElectionRecord{});
}

TEST(LeaderIdentityTest, IsHostnameUnderscoreUuid) {
  const std::string a = makeLeaderIdentity();
  const std::string b = makeLeaderIdentity();
  EXPECT_NE(a, b);
  const auto underscore = a.rfind('_');
  ASSERT_NE(underscore, std::string::npos);
  EXPECT_EQ(a.size() - underscore - 1, 36u);  // a UUID
  EXPECT_EQ(a[underscore + 15], '4');         // version 4
}

TEST(KubeLeaseLockTest, CreatesReadsAndUpdatesALeaseObject) {
  testing::FakeClient client;
  KubeLeaseLock lock(client, client, "ops", "leader");
  EXPECT_EQ(lock.get().error().code, ErrorCode::kNotFound);
  LeaderElectionRecord r{"me", 15, "2024-01-01T00:00:00.000000Z", "2024-01-01T00:00:00.000000Z", 0};
  ASSERT_TRUE(lock.create(r).ok());
  auto lease = client.object(kube::resources::kLeases, "ops", "leader");
  ASSERT_TRUE(lease.has_value());
  EXPECT_EQ((*lease)["apiVersion"], "coordination.k8s.io/v1");
  EXPECT_EQ((*lease)["spec"]["holderIdentity"], "me");
  auto read = lock.get();
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, r);
  r.renewTime = "2024-01-01T00:00:02.000000Z";
  ASSERT_TRUE(lock.update(r).ok());
  EXPECT_EQ((*client.object(kube::resources::kLeases, "ops", "leader"))["spec"]["renewTime"],
            r.renewTime);
  // Someone else writes: our next update, based on a stale version, conflicts.
  auto other = *client.object(kube::resources::kLeases, "ops", "leader");
  other["spec"]["holderIdentity"] = "thief";
  client.put(kube::resources::kLeases, other);
  EXPECT_EQ(lock.update(r).error().code, ErrorCode::kConflict);
}

// The run loop, on the fake clock with the default periods (lease 15 s,
// renew deadline 10 s, retry 2 s): time passes only when the test advances
// it, and FakeClock::settle() waits until the elector is asleep again.
uint64_t leaseVersion(LeaseStore& store) {
  std::lock_guard g(store.mu);
  return static_cast<uint64_t>(store.version);
}

TEST(LeaderElectorRunTest, LeadsAndRenewsUntilStoppedThenReleases) {
  LeaseStore store;
  FakeLeaseLock lock(store);
  FakeClock clock;
  std::atomic<bool> started{false}, lost{false};
  auto c = config("a");
  c.callbacks.onStartedLeading = [&] { started = true; };
  c.callbacks.onLostLeadership = [&] { lost = true; };
  LeaderElector elector(lock, c, clock);
  std::thread t([&] { elector.run(); });
  ASSERT_TRUE(eventually([&] { return started.load(); }));
  ASSERT_TRUE(clock.settle(1));
  const uint64_t before = leaseVersion(store);
  clock.advance(1999ms);
  ASSERT_TRUE(clock.settle(1));
  EXPECT_EQ(leaseVersion(store), before) << "no renewal before the retry period";
  clock.advance(1ms);
  ASSERT_TRUE(clock.settle(1));
  EXPECT_EQ(leaseVersion(store), before + 1) << "one renewal per retry period";
  ASSERT_TRUE(clock.advanceInSteps(8s, 2s, 1));
  EXPECT_EQ(leaseVersion(store), before + 5);
  EXPECT_TRUE(elector.isLeader());
  elector.stop();
  t.join();
  EXPECT_FALSE(lost.load());
  std::lock_guard g(store.mu);
  EXPECT_EQ(store.record->holderIdentity, "") << "released on stop";
}

TEST(LeaderElectorRunTest, LosesLeadershipExactlyWhenRenewalsFailPastTheDeadline) {
  LeaseStore store;
  FakeLeaseLock lock(store);
  FakeClock clock;
  std::atomic<bool> started{false}, lost{false};
  auto c = config("a");
  c.callbacks.onStartedLeading = [&] { started = true; };
  c.callbacks.onLostLeadership = [&] { lost = true; };
  LeaderElector elector(lock, c, clock);
  std::thread t([&] { elector.run(); });
  ASSERT_TRUE(eventually([&] { return started.load(); }));
  ASSERT_TRUE(clock.settle(1));
  store.failWrites = true;
  // The next round starts 2 s on; its deadline is 10 s after that. Every
  // attempt until then fails, and the elector keeps trying.
  ASSERT_TRUE(clock.advanceInSteps(10s, 2s, 1));
  EXPECT_FALSE(lost.load()) << "not before the renew deadline";
  EXPECT_TRUE(elector.isLeader());
  clock.advance(2s);  // the attempt at the deadline fails too: lost
  ASSERT_TRUE(eventually([&] { return lost.load(); }));
  t.join();  // run() returns after losing
  EXPECT_FALSE(elector.isLeader());
}

TEST(LeaderElectorRunTest, FollowerWaitsWhileTheLeaderRenewsAndTakesOverAfterARelease) {
  LeaseStore store;
  FakeLeaseLock lockA(store), lockB(store);
  FakeClock clock;
  std::atomic<bool> aLeads{false}, bLeads{false};
  auto ca = config("a");
  ca.callbacks.onStartedLeading = [&] { aLeads = true; };
  auto cb = config("b");
  cb.callbacks.onStartedLeading = [&] { bLeads = true; };
  LeaderElector a(lockA, ca, clock);
  std::thread ta([&] { a.run(); });
  ASSERT_TRUE(eventually([&] { return aLeads.load(); }));
  LeaderElector b(lockB, cb, clock);
  std::thread tb([&] { b.run(); });
  ASSERT_TRUE(eventually([&] { return b.leader() == "a"; }));
  // Twice the lease duration of a renewing leader: b never takes over.
  ASSERT_TRUE(clock.advanceInSteps(30s, 1s, 2));
  EXPECT_FALSE(bLeads.load());
  EXPECT_EQ(b.leader(), "a");
  a.stop();
  ta.join();
  // Right after a's release, within one jittered retry period (at most
  // 2 s + 1.2 × 2 s), not after the lease expires.
  ASSERT_TRUE(clock.advanceInSteps(4400ms, 100ms, 1));
  EXPECT_TRUE(bLeads.load());
  b.stop();
  tb.join();
}

}  // namespace
}  // namespace mlops::runtime
