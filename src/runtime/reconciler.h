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
//
// Shutdown. The ReconcileContext says when the process began to shut down
// (SIGTERM, lost leadership ends the process anyway): from then on
// ctx.stopping() is true and ctx.cancel() is cancelled. In-flight reconciles
// get the Manager's graceful shutdown timeout (30 s) to return, after which
// the process exits at once; so anything slow — a live list, a Prometheus
// query that may take its full 10 s timeout, a wait — takes ctx.cancel()
// (kube::ListOptions::cancel, CancelToken::waitFor) or checks stopping()
// between steps, and returns promptly. What to return then: an Error with
// code kCancelled for work abandoned half-way (the Controller logs it
// quietly and does not retry: the next leader reconciles the object again,
// which is safe because reconciles are level-based), or any ordinary result
// if the work completed. Writes already made stay made; a reconciler must
// never leave an object in a state the next reconcile cannot continue from.
#pragma once

#include <chrono>
#include <string>

#include "core/cancel_token.h"
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

// What a reconcile may know about the process around it. Cheap to copy; it
// refers to a token owned by the Controller, valid during reconcile().
class ReconcileContext {
 public:
  explicit ReconcileContext(const CancelToken& shutdown) : shutdown_(&shutdown) {}
  // True once shutdown began.
  bool stopping() const { return shutdown_->cancelled(); }
  // Cancelled when shutdown begins: pass it to calls that can be abandoned,
  // or wait on it instead of sleeping.
  const CancelToken& cancel() const { return *shutdown_; }

  // A context that never stops: for calling a reconciler outside a
  // Controller (tests, one-off tools).
  static const ReconcileContext& background();

 private:
  const CancelToken* shutdown_;
};

class Reconciler {
 public:
  virtual ~Reconciler() = default;
  virtual Result<ReconcileResult> reconcile(const Request& request,
                                            const ReconcileContext& ctx) = 0;
};

}  // namespace mlops::runtime
