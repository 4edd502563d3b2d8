// Leader election on a coordination.k8s.io/v1 Lease, with client-go's
// semantics (tools/leaderelection).
//
//            tryAcquireOrRenew() every retryPeriod (+ jitter)
//   ┌──────────┐  lease absent, expired, released or ours  ┌─────────┐
//   │ follower │ ─────────────────────────────────────────▶│ leader  │
//   └──────────┘                                           └─────────┘
//        ▲   renew every retryPeriod; no success for renewDeadline │
//        └────────────── onLostLeadership() (process exits) ◀──────┘
//                        stop(): release (holderIdentity := "")
//
// Expiry is judged by the local monotonic clock: a lease is expired when its
// record has not changed for leaseDurationSeconds since *we observed* the
// change — the holder's renewTime is never compared with our clock, so clock
// skew between machines does not matter.
//
// A released lease (empty holderIdentity) is taken at once by a follower.
// Defaults: leaseDuration 15 s, renewDeadline 10 s, retryPeriod 2 s.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/result.h"
#include "kube/client.h"
#include "runtime/logger.h"

namespace mlops::runtime {

// The spec of a Lease, as leader election reads and writes it. Times are
// RFC 3339 with microseconds (metav1.MicroTime).
struct LeaderElectionRecord {
  std::string holderIdentity;
  int leaseDurationSeconds = 0;
  std::string acquireTime;
  std::string renewTime;
  int leaseTransitions = 0;
  bool operator==(const LeaderElectionRecord&) const = default;
};

// Storage of the record (the Lease object). get() remembers the version it
// read; update() writes conditionally on it (optimistic concurrency), so two
// candidates racing for one lease cannot both win.
class LeaseLock {
 public:
  virtual ~LeaseLock() = default;
  // kNotFound when there is no lease yet.
  virtual Result<LeaderElectionRecord> get() = 0;
  virtual Status create(const LeaderElectionRecord& record) = 0;
  virtual Status update(const LeaderElectionRecord& record) = 0;
  virtual std::string describe() const = 0;  // "namespace/name"
};

// A LeaseLock on a real coordination.k8s.io/v1 Lease.
class KubeLeaseLock final : public LeaseLock {
 public:
  KubeLeaseLock(kube::Reader& reader, kube::Writer& writer, std::string ns, std::string name);
  Result<LeaderElectionRecord> get() override;
  Status create(const LeaderElectionRecord& record) override;
  Status update(const LeaderElectionRecord& record) override;
  std::string describe() const override { return ns_ + "/" + name_; }

 private:
  kube::Reader& reader_;
  kube::Writer& writer_;
  const std::string ns_;
  const std::string name_;
  std::mutex mu_;
  nlohmann::json lastLease_;  // the object last read or written
};

struct LeaderCallbacks {
  std::function<void()> onStartedLeading;  // called once, on the elector's thread
  std::function<void()> onLostLeadership;  // renew failed past the deadline
  std::function<void(const std::string& identity)> onNewLeader;  // observed holder changed
};

struct LeaderElectionConfig {
  std::string identity;  // must be unique per process; see makeLeaderIdentity()
  std::chrono::milliseconds leaseDuration{15'000};
  std::chrono::milliseconds renewDeadline{10'000};
  std::chrono::milliseconds retryPeriod{2'000};
  bool releaseOnStop = true;
  LeaderCallbacks callbacks;
};

class LeaderElector {
 public:
  LeaderElector(LeaseLock& lock, LeaderElectionConfig config,
                const Clock& clock = SystemClock::instance(),
                const Logger& logger = Logger("leader-election"));
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  // Campaigns, then renews, until stop() or leadership is lost. On stop(),
  // releases the lease if leading (and releaseOnStop). Call from one thread.
  void run();
  // Thread safe; interrupts waits promptly.
  void stop();

  // One attempt: acquires the lease if it is free or expired, renews it if
  // ours. True if we hold the lease afterwards. Exposed for tests.
  bool tryAcquireOrRenew();
  // Clears holderIdentity if we hold the lease, so a follower takes over at
  // once. Exposed for tests.
  Status release();

  bool isLeader() const;
  std::string leader() const;  // the last observed holder
  const std::string& identity() const { return config_.identity; }

 private:
  bool acquire();    // false if stopped first
  bool renewLoop();  // returns when leadership is lost (false) or stopped (true)
  bool sleepFor(std::chrono::milliseconds d);  // false if stopped
  // How long until the lease we last observed held by someone expires, by
  // our clock; nullopt when nobody holds it.
  std::optional<std::chrono::milliseconds> timeUntilObservedExpiry() const;
  void recordSuccess(const LeaderElectionRecord& record, Clock::TimePoint now);
  std::string nowMicroTime() const;

  LeaseLock& lock_;
  const LeaderElectionConfig config_;
  const Clock& clock_;
  Logger log_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::atomic<bool> stopped_{false};
  std::optional<LeaderElectionRecord> observed_;
  Clock::TimePoint observedTime_{};
  std::string reportedLeader_;
};

// "<hostname>_<random uuid>": unique per process, readable in the Lease.
std::string makeLeaderIdentity();

// Lease JSON <-> record (exposed for tests).
LeaderElectionRecord recordFromLease(const nlohmann::json& lease);
void writeRecordToLease(const LeaderElectionRecord& record, nlohmann::json& lease);

}  // namespace mlops::runtime
