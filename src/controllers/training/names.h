// Names the training controller writes: API identity, labels, env variables.
// See DESIGN.md "Names" and "TrainingRun"; these strings are API.
#pragma once

#include <array>
#include <string_view>

namespace mlops::training {

inline constexpr std::string_view kApiVersion = "mlops.dev/v1alpha1";
inline constexpr std::string_view kTrainingRunKind = "TrainingRun";

inline constexpr std::string_view kLabelModel = "mlops.dev/model";
inline constexpr std::string_view kLabelTrainingRun = "mlops.dev/training-run";
// The UID of the TrainingRun that registered a ModelVersion: a run deleted
// and created again under the same name is another run, with another UID.
inline constexpr std::string_view kLabelTrainingRunUID = "mlops.dev/training-run-uid";
inline constexpr std::string_view kLabelComponent = "app.kubernetes.io/component";
inline constexpr std::string_view kLabelManagedBy = "app.kubernetes.io/managed-by";
inline constexpr std::string_view kComponentTraining = "training";
inline constexpr std::string_view kManagedBy = "mlops-operator";

// The trainer contract's environment, in the order it is added to containers.
inline constexpr std::array<std::string_view, 9> kTrainerEnvNames = {
    "MLOPS_MODEL",          "MLOPS_RUN",           "MLOPS_NAMESPACE",
    "MLOPS_SEED",           "MLOPS_ARTIFACT_URI",  "MLOPS_DATASET_URI",
    "MLOPS_DATASET_DIGEST", "MLOPS_CODE_REVISION", "MLOPS_HYPERPARAMETERS"};

}  // namespace mlops::training
