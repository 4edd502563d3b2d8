// Jobs and Pods decoded from the API server's protobuf encoding into the JSON
// the rest of the operator reads, for the informers that cache them.
//
// Why: the API server encodes every watch event once per wire format, and
// caches each encoding for all watchers that share it. Its own controllers,
// the scheduler and kwok watch Jobs and Pods in protobuf, so a JSON watcher
// costs it a second encoding of every event (the N=10000 benchmark's API
// server spent more CPU on it than on anything else this operator adds).
//
// Each decoder reads a fixed set of fields, the ones the operator's caches
// keep, and skips the rest (spec, managedFields, the node's view of a pod).
// What it yields is, field for field, what the JSON encoding says:
//   - names as in JSON, values as JSON has them (times as RFC 3339 seconds in
//     UTC, a zero time as null, int32 and int64 as numbers);
//   - a field the JSON encoding omits when empty (Go's omitempty) is omitted
//     when empty here too, and one it always writes is always written.
// Decoded:
//   metadata: name, generateName, namespace, uid, resourceVersion,
//     generation, creationTimestamp, deletionTimestamp,
//     deletionGracePeriodSeconds, labels, annotations, ownerReferences,
//     finalizers
//   Job: spec.suspend; status: conditions, startTime, completionTime,
//     active, succeeded, failed, terminating, ready
//   Pod: status: phase, reason, message, startTime, containerStatuses,
//     initContainerStatuses (name, state, lastState, ready, restartCount,
//     image, imageID, containerID, started)
// Malformed bytes, or a field of the wrong wire type, are an error naming
// the field, never an exception. Text that is not UTF-8 is repaired.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace mlops::kube {

// `message` is a batch/v1 Job (the bytes inside the protobuf envelope).
Result<nlohmann::json> decodeJobProtobuf(std::string_view message);

// `message` is a v1 Pod.
Result<nlohmann::json> decodePodProtobuf(std::string_view message);

// "2026-12-01T10:00:00Z" for seconds since the epoch; an error outside the
// years 0000-9999, which RFC 3339 cannot write.
Result<std::string> rfc3339FromUnixSeconds(int64_t seconds);

}  // namespace mlops::kube
