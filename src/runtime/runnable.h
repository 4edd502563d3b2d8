// A Runnable: a leader-only loop that is not a reconciler — a periodic sweep,
// a poller of something that cannot be watched. The Manager runs each one on
// its own thread while this process leads (at once without leader
// election), and stops it on shutdown:
//
//   class RetentionSweep final : public runtime::Runnable {
//    public:
//     std::string name() const override { return "retention-sweep"; }
//     Status run(const CancelToken& stop) override {
//       while (!stop.waitFor(clock_, std::chrono::minutes(5))) {
//         sweepOnce();  // pass &stop to slow calls (kube::ListOptions::cancel)
//       }
//       return okStatus();
//     }
//   };
//   mgr.add(std::make_unique<RetentionSweep>(...));
//
// Contract:
//  - run() is called once, on a thread of its own, after the caches synced
//    and leadership was won. It must return promptly once `stop` is
//    cancelled (shutdown began): the Manager waits for it within the same
//    graceful shutdown timeout as in-flight reconciles, then exits the
//    process. Wait on `stop` (CancelToken::waitFor, with the Manager's
//    clock) instead of sleeping.
//  - Returning an Error before `stop` is cancelled is fatal: the Manager
//    logs it and shuts the process down with exit code 1 (a loop that
//    cannot work should not leave a half-working leader). Returning OK
//    early just ends this runnable.
//  - Exceptions escaping run() are caught and treated as an Error.
//  - The Manager owns the Runnable and destroys it after run() returned.
#pragma once

#include <string>

#include "core/cancel_token.h"
#include "core/result.h"

namespace mlops::runtime {

class Runnable {
 public:
  virtual ~Runnable() = default;
  // For logs and errors: "retention-sweep".
  virtual std::string name() const = 0;
  virtual Status run(const CancelToken& stop) = 0;
};

}  // namespace mlops::runtime
