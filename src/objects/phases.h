// The phases the operator writes into status.phase, shared by the
// controllers that write them and those that read them (the training
// controller reads ModelVersion phases; drift counts unfinished runs).
// These strings are API (DESIGN.md).
#pragma once

#include <string_view>

namespace mlops::objects {

struct TrainingRunPhase {
  static constexpr std::string_view kPending = "Pending";
  static constexpr std::string_view kRunning = "Running";
  static constexpr std::string_view kSucceeded = "Succeeded";
  static constexpr std::string_view kFailed = "Failed";
  // Succeeded or Failed: a finished run is a record and is never decided
  // again.
  static constexpr bool isFinished(std::string_view phase) {
    return phase == kSucceeded || phase == kFailed;
  }
};

struct ModelVersionPhase {
  static constexpr std::string_view kRegistered = "Registered";
  static constexpr std::string_view kCanary = "Canary";
  static constexpr std::string_view kProduction = "Production";
  static constexpr std::string_view kSuperseded = "Superseded";
  static constexpr std::string_view kRolledBack = "RolledBack";
  static constexpr std::string_view kArchived = "Archived";
  static constexpr std::string_view kInvalid = "Invalid";
};

}  // namespace mlops::objects
