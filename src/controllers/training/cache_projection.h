// What the TrainingRun controller keeps of the Jobs and Pods it caches.
//
// There is one Job and at least one Pod per run, so they are most of the
// cache. The decision (decide.h) reads of them:
//   - metadata: the identity (name, namespace, uid, resourceVersion,
//     creationTimestamp, deletionTimestamp), the owner references and the
//     labels this operator sets (mlops.dev/..., app.kubernetes.io/...: a
//     pod's run label is an index, and reads from the cache check the
//     informers' selectors again);
//   - a Job's spec.suspend, and its status counts, start and completion
//     times and conditions (type, status, reason, message and transition
//     time; not the probe time, rewritten on every sync);
//   - a Pod's status phase, reason and message and, per container, the
//     name, state and imageID.
// Each is a list of what stays, so what a newer API server or kubelet adds
// is dropped too. The rest (the pod template, a Pod's spec, annotations,
// the labels the Job controller stamps on every pod, the node's view of a
// pod) was about half of each object. A Job read live from the API server
// (after the cache lags) is whole; the decision gives the same answer for
// either (cache_projection_test checks this in every state a run goes
// through).
#pragma once

#include <nlohmann/json.hpp>

namespace mlops::training {

// Each is idempotent and tolerates any JSON value.
void keepWhatTrainingReadsOfJob(nlohmann::json& job);
void keepWhatTrainingReadsOfPod(nlohmann::json& pod);

}  // namespace mlops::training
