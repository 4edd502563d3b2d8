// One status write, done the same way by every controller: the last step of
// "gather, decide, act".
//
//   auto written = writeStatusIfChanged(api, recorder, kube::resources::kTrainingRuns,
//                                       current, decision.status, events,
//                                       {.fieldManager = "mlops-operator"});
//   if (!written) return written.error();          // transient: backoff
//   if (written->outcome != StatusWriteOutcome::kWritten) return written->result();
//
// What it does:
//  - compares `status` with current["status"] (JSON equality) and writes
//    nothing when they are equal: a no-op reconcile makes no API call and
//    records no Event;
//  - otherwise PUTs the status subresource with `current` (its
//    metadata.resourceVersion is the precondition) and `status`;
//  - Conflict (the object changed since it was read: the cache was behind
//    or another writer won) → outcome kConflict, nothing logged as an
//    error: the caller requeues (result() = {requeue}) and the next
//    reconcile decides again from fresh data, which is safe because
//    reconciles are level-based;
//  - NotFound (the object was deleted meanwhile) → outcome kNotFound:
//    nothing left to do (result() = {});
//  - only after a successful write are `events` recorded, on the written
//    object, so an Event never announces a transition that was not stored;
//  - any other failure is returned as the Error.
// Thread safe as far as the writer and recorder are.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "kube/client.h"
#include "runtime/event_recorder.h"
#include "runtime/reconciler.h"

namespace mlops::runtime {

// An Event to record once the status that announces it is stored.
struct StatusEvent {
  EventType type = EventType::kNormal;
  std::string reason;
  std::string message;
};

enum class StatusWriteOutcome { kUnchanged, kWritten, kConflict, kNotFound };

struct StatusWrite {
  StatusWriteOutcome outcome = StatusWriteOutcome::kUnchanged;
  // kWritten: the object as the API server returned it (new
  // resourceVersion); otherwise `current` as given.
  nlohmann::json object;
  // What a reconcile returns when this write is its last step: requeue
  // (with backoff) after a Conflict, success otherwise.
  ReconcileResult result() const;
};

Result<StatusWrite> writeStatusIfChanged(kube::StatusWriter& writer, EventRecorder& recorder,
                                         const kube::Resource& resource,
                                         const nlohmann::json& current,
                                         const nlohmann::json& status,
                                         const std::vector<StatusEvent>& events,
                                         const kube::WriteOptions& options = {});

}  // namespace mlops::runtime
