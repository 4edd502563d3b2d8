// The desired batch/v1 Job of a TrainingRun.
//
// renderJob(run, inputs) builds it from the run (identity, Job settings) and
// its effective inputs (see effective_inputs.h):
//   metadata  name = the run's name (at most 52 characters, so the Job's pods
//             get valid names), the run's namespace, the four operator labels
//             (mlops.dev/model, mlops.dev/training-run,
//             app.kubernetes.io/component: training, app.kubernetes.io/managed-by:
//             mlops-operator) and an ownerReference to the run (controller,
//             blockOwnerDeletion). Nothing of the user's template.metadata.
//   spec      completions 1, parallelism 1, backoffLimit (spec.backoffLimit,
//             default 1), activeDeadlineSeconds and ttlSecondsAfterFinished
//             when given.
//   template  metadata: the user's template.metadata labels plus the operator
//             labels (which win on a clash — the operator finds its pods by
//             them) and the user's annotations. spec: the effective pod spec
//             with restartPolicy Never, terminationMessagePolicy File on the
//             results container, and in every container and init container
//             the trainer environment (trainerEnvironment()) placed FIRST, so
//             user variables can refer to it as $(MLOPS_…); user variables of
//             the same names are removed. For a reproduction every image is
//             pinned to the original's digest ("repo@sha256:…", tag dropped).
//
// Pure; the same inputs render byte-identical JSON.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "controllers/training/effective_inputs.h"

namespace mlops::training {

nlohmann::json renderJob(const nlohmann::json& run, const EffectiveInputs& inputs);

// The trainer contract's environment as (name, value) pairs in
// kTrainerEnvNames order. Unknown values are "" (e.g. no dataset digest);
// MLOPS_HYPERPARAMETERS is the canonical JSON of the hyper-parameters ("{}"
// when none).
std::vector<std::pair<std::string, std::string>> trainerEnvironment(const nlohmann::json& run,
                                                                    const EffectiveInputs& inputs);

// The labels the operator sets on the Job and its pods.
nlohmann::json trainingLabels(const std::string& model, const std::string& run);

}  // namespace mlops::training
