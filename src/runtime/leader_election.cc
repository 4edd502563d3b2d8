#include "runtime/leader_election.h"

#include "core/json_access.h"
#include "objects/timestamps.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <random>

namespace mlops::runtime {
namespace {

int intField(const nlohmann::json& obj, const char* key) {
  if (!obj.is_object()) {
    return 0;
  }
  auto it = obj.find(key);
  return it != obj.end() && it->is_number_integer() ? it->get<int>() : 0;
}

double uniform01() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(gen);
}

// client-go waits retryPeriod plus up to 1.2 × retryPeriod between attempts
// to acquire, so candidates do not retry in lock step.
constexpr double kAcquireJitter = 1.2;

}  // namespace

LeaderElectionRecord recordFromLease(const nlohmann::json& lease) {
  LeaderElectionRecord r;
  const nlohmann::json spec =
      lease.is_object() ? lease.value("spec", nlohmann::json::object()) : nlohmann::json::object();
  r.holderIdentity = stringMember(spec, "holderIdentity");
  r.leaseDurationSeconds = intField(spec, "leaseDurationSeconds");
  r.acquireTime = stringMember(spec, "acquireTime");
  r.renewTime = stringMember(spec, "renewTime");
  r.leaseTransitions = intField(spec, "leaseTransitions");
  return r;
}

void writeRecordToLease(const LeaderElectionRecord& record, nlohmann::json& lease) {
  auto& spec = lease["spec"];
  spec["holderIdentity"] = record.holderIdentity;
  spec["leaseDurationSeconds"] = record.leaseDurationSeconds;
  spec["leaseTransitions"] = record.leaseTransitions;
  if (record.acquireTime.empty()) {
    spec.erase("acquireTime");
  } else {
    spec["acquireTime"] = record.acquireTime;
  }
  if (record.renewTime.empty()) {
    spec.erase("renewTime");
  } else {
    spec["renewTime"] = record.renewTime;
  }
}

KubeLeaseLock::KubeLeaseLock(kube::Reader& reader, kube::Writer& writer, std::string ns,
                             std::string name)
    : reader_(reader), writer_(writer), ns_(std::move(ns)), name_(std::move(name)) {}

Result<LeaderElectionRecord> KubeLeaseLock::get() {
  auto lease = reader_.get(kube::resources::kLeases, ns_, name_);
  if (!lease) {
    return lease.error();
  }
  std::lock_guard lock(mu_);
  lastLease_ = *lease;
  return recordFromLease(lastLease_);
}

Status KubeLeaseLock::create(const LeaderElectionRecord& record) {
  nlohmann::json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                          {"kind", "Lease"},
                          {"metadata", {{"name", name_}, {"namespace", ns_}}}};
  writeRecordToLease(record, lease);
  auto created = writer_.create(kube::resources::kLeases, ns_, lease);
  if (!created) {
    return created.error();
  }
  std::lock_guard lock(mu_);
  lastLease_ = *created;
  return okStatus();
}

Status KubeLeaseLock::update(const LeaderElectionRecord& record) {
  nlohmann::json lease;
  {
    std::lock_guard lock(mu_);
    if (lastLease_.is_null()) {
      return makeError(ErrorCode::kInvalidArgument, "lease " + describe() + " not read yet");
    }
    lease = lastLease_;
  }
  writeRecordToLease(record, lease);
  // lease carries the resourceVersion we read: the update fails with a
  // conflict if anyone wrote in between.
  auto updated = writer_.update(kube::resources::kLeases, ns_, lease);
  if (!updated) {
    return updated.error();
  }
  std::lock_guard lock(mu_);
  lastLease_ = *updated;
  return okStatus();
}

LeaderElector::LeaderElector(LeaseLock& lock, LeaderElectionConfig config, const Clock& clock,
                             const Logger& logger)
    : lock_(lock),
      config_(std::move(config)),
      clock_(clock),
      log_(logger.withValues({{"lease", lock.describe()}, {"identity", config_.identity}})) {}

std::string LeaderElector::nowMicroTime() const {
  return objects::formatTimestamp(clock_.wallNow(), objects::TimePrecision::kMicroseconds);
}

bool LeaderElector::isLeader() const {
  std::lock_guard lock(mu_);
  return observed_ && observed_->holderIdentity == config_.identity;
}

std::string LeaderElector::leader() const {
  std::lock_guard lock(mu_);
  return observed_ ? observed_->holderIdentity : "";
}

bool LeaderElector::tryAcquireOrRenew() {
  const auto now = clock_.now();
  const std::string stamp = nowMicroTime();
  LeaderElectionRecord desired;
  desired.holderIdentity = config_.identity;
  desired.leaseDurationSeconds =
      static_cast<int>(std::ceil(std::chrono::duration<double>(config_.leaseDuration).count()));
  desired.acquireTime = stamp;
  desired.renewTime = stamp;

  auto current = lock_.get();
  if (!current) {
    if (current.error().code != ErrorCode::kNotFound) {
      log_.warn("reading the lease failed", {{"error", current.error().toString()}});
      return false;
    }
    if (auto created = lock_.create(desired); !created) {
      log_.warn("creating the lease failed", {{"error", created.error().toString()}});
      return false;
    }
    recordSuccess(desired, now);
    return true;
  }

  std::string newLeader;
  bool heldByOther = false;
  {
    std::lock_guard lock(mu_);
    // Expiry is measured from when we saw the record change, on our clock.
    if (!observed_ || !(*observed_ == *current)) {
      observed_ = *current;
      observedTime_ = clock_.now();
    }
    if (observed_->holderIdentity != reportedLeader_) {
      reportedLeader_ = observed_->holderIdentity;
      newLeader = reportedLeader_;
    }
    const bool leading = observed_->holderIdentity == config_.identity;
    const Clock::TimePoint::duration duration =
        current->leaseDurationSeconds > 0
            ? std::chrono::duration_cast<Clock::TimePoint::duration>(
                  std::chrono::seconds(current->leaseDurationSeconds))
            : std::chrono::duration_cast<Clock::TimePoint::duration>(config_.leaseDuration);
    heldByOther = !current->holderIdentity.empty() && !leading && observedTime_ + duration > now;
    if (leading) {
      desired.acquireTime = current->acquireTime;
      desired.leaseTransitions = current->leaseTransitions;
    } else {
      desired.leaseTransitions = current->leaseTransitions + 1;
    }
  }
  if (!newLeader.empty()) {
    log_.info("new leader observed", {{"leader", newLeader}});
    if (config_.callbacks.onNewLeader) {
      config_.callbacks.onNewLeader(newLeader);
    }
  }
  if (heldByOther) {
    return false;
  }

  if (auto updated = lock_.update(desired); !updated) {
    log_.warn("updating the lease failed", {{"error", updated.error().toString()}});
    return false;
  }
  recordSuccess(desired, now);
  return true;
}

void LeaderElector::recordSuccess(const LeaderElectionRecord& record, Clock::TimePoint now) {
  bool becameLeader = false;
  {
    std::lock_guard lock(mu_);
    observed_ = record;
    observedTime_ = now;
    if (reportedLeader_ != config_.identity) {
      reportedLeader_ = config_.identity;
      becameLeader = true;
    }
  }
  if (becameLeader && config_.callbacks.onNewLeader) {
    config_.callbacks.onNewLeader(config_.identity);
  }
}

Status LeaderElector::release() {
  LeaderElectionRecord record;
  {
    std::lock_guard lock(mu_);
    if (!observed_ || observed_->holderIdentity != config_.identity) {
      return okStatus();
    }
    record.leaseTransitions = observed_->leaseTransitions;
  }
  // As client-go: no holder, a one-second duration; whoever looks next takes it.
  const std::string stamp = nowMicroTime();
  record.holderIdentity = "";
  record.leaseDurationSeconds = 1;
  record.acquireTime = stamp;
  record.renewTime = stamp;
  if (auto updated = lock_.update(record); !updated) {
    log_.warn("releasing the lease failed", {{"error", updated.error().toString()}});
    return updated;
  }
  std::lock_guard lock(mu_);
  observed_ = record;
  observedTime_ = clock_.now();
  log_.info("lease released");
  return okStatus();
}

std::optional<std::chrono::milliseconds> LeaderElector::timeUntilObservedExpiry() const {
  std::lock_guard lock(mu_);
  if (!observed_ || observed_->holderIdentity.empty()) {
    return std::nullopt;
  }
  const auto duration = observed_->leaseDurationSeconds > 0
                            ? std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::seconds(observed_->leaseDurationSeconds))
                            : config_.leaseDuration;
  return std::chrono::duration_cast<std::chrono::milliseconds>(observedTime_ + duration -
                                                               clock_.now());
}

bool LeaderElector::sleepFor(std::chrono::milliseconds d) {
  const Clock::TimePoint deadline = clock_.now() + d;
  std::unique_lock lock(mu_);
  while (!stopped_ && clock_.now() < deadline) {
    clock_.waitUntil(wake_, lock, deadline);
  }
  return !stopped_;
}

void LeaderElector::stop() {
  stopped_ = true;
  std::lock_guard lock(mu_);
  wake_.notify_all();
}

bool LeaderElector::acquire() {
  log_.info("attempting to acquire the lease");
  while (!stopped_) {
    if (tryAcquireOrRenew()) {
      log_.info("acquired the lease");
      return true;
    }
    auto wait =
        config_.retryPeriod +
        std::chrono::milliseconds(static_cast<int64_t>(
            uniform01() * kAcquireJitter * static_cast<double>(config_.retryPeriod.count())));
    // Try again just after the lease we observed expires rather than up to a
    // whole jittered retry period later: a dead leader is replaced within
    // leaseDuration of our last observation of its renewal, not that plus 4 s.
    if (auto untilExpiry = timeUntilObservedExpiry(); untilExpiry && *untilExpiry < wait) {
      wait = std::max(*untilExpiry + std::chrono::milliseconds(50), std::chrono::milliseconds(50));
    }
    if (!sleepFor(wait)) {
      return false;
    }
  }
  return false;
}

bool LeaderElector::renewLoop() {
  while (!stopped_) {
    const auto deadline = clock_.now() + config_.renewDeadline;
    bool renewed = false;
    while (!stopped_) {
      if (tryAcquireOrRenew()) {
        renewed = true;
        break;
      }
      if (clock_.now() >= deadline) {
        break;
      }
      if (!sleepFor(config_.retryPeriod)) {
        return true;
      }
    }
    if (stopped_) {
      return true;
    }
    // An attempt that only succeeded after the deadline is too late: another
    // candidate may already consider the lease expired.
    if (!renewed || clock_.now() > deadline) {
      return false;
    }
    if (!sleepFor(config_.retryPeriod)) {
      return true;
    }
  }
  return true;
}

void LeaderElector::run() {
  if (!acquire()) {
    return;
  }
  if (config_.callbacks.onStartedLeading) {
    config_.callbacks.onStartedLeading();
  }
  if (!renewLoop()) {
    log_.error("failed to renew the lease within the renew deadline; leadership lost");
    {
      std::lock_guard lock(mu_);
      observed_.reset();
    }
    if (config_.callbacks.onLostLeadership) {
      config_.callbacks.onLostLeadership();
    }
    return;
  }
  if (config_.releaseOnStop) {
    (void)release();
  }
}

std::string makeLeaderIdentity() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') {
    std::snprintf(host, sizeof host, "unknown");
  }
  std::random_device rd;
  std::mt19937_64 gen(rd());
  uint64_t hi = gen();
  uint64_t lo = gen();
  // An RFC 4122 version 4 UUID.
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  char uuid[40];
  std::snprintf(uuid, sizeof uuid, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xffff),
                static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return std::string(host) + "_" + uuid;
}

}  // namespace mlops::runtime
