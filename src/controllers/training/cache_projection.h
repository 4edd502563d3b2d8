// What the TrainingRun controller keeps of the Jobs and Pods it caches.
//
// There is one Job and at least one Pod per run, so they are most of the
// cache; the decision (decide.h) reads only their metadata and status, and of
// a Job's spec only `suspend`. The pod template (a Job's spec.template, a
// Pod's spec) is most of each object and is dropped, and so are annotations
// (a user's template may carry large ones; nothing here reads them). Of a
// Pod's status only the phase, reason, message and, per container, the name,
// state and imageID stay (a list of what stays: the rest is the node's view,
// and grows with each kubelet release). A Job
// read live from the API server (after the cache lags) is whole; the decision
// gives the same answer for either (decide_test checks this).
#pragma once

#include <nlohmann/json.hpp>

namespace mlops::training {

// Each is idempotent and tolerates any JSON value.
void keepWhatTrainingReadsOfJob(nlohmann::json& job);
void keepWhatTrainingReadsOfPod(nlohmann::json& pod);

}  // namespace mlops::training
