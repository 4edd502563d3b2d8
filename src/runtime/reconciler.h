// The Reconciler contract (controller-runtime's reconcile.Reconciler).
//
// A Request names what to reconcile: a namespace and a name — of the object
// itself, or any key the controller chose (e.g. namespace/model). It carries
// nothing else: reconciliation is level-based, so the reconciler reads the
// current state (from the cache) and drives the world towards the desired
// state, whatever events led here.
//
// What the result means, and what the framework does with it:
//   Error                         → logged, counted, retried with per-key
//                                   exponential backoff (5 ms → 1000 s).
//   {requeueAfter > 0}            → backoff forgotten; run again after that delay.
//   {requeue = true}              → retried with backoff (without an error).
//   {} (success)                  → backoff forgotten; run again on the next event.
// An exception escaping reconcile() is caught and treated as an Error.
//
// Reconcilers never touch the queue, metrics or retries: the Controller does.
// reconcile() may be called concurrently for different requests (never for
// the same one), so a reconciler must be safe for that.
#pragma once

#include <chrono>
#include <string>

#include "core/result.h"

namespace mlops::runtime {

struct Request {
  std::string ns;  // empty for cluster-scoped objects and namespace-less keys
  std::string name;

  std::string key() const { return ns.empty() ? name : ns + "/" + name; }
  static Request fromKey(const std::string& key);
  bool operator==(const Request&) const = default;
  bool operator<(const Request& o) const { return key() < o.key(); }
};

struct ReconcileResult {
  bool requeue = false;
  std::chrono::milliseconds requeueAfter{0};
};

class Reconciler {
 public:
  virtual ~Reconciler() = default;
  virtual Result<ReconcileResult> reconcile(const Request& request) = 0;
};

}  // namespace mlops::runtime
