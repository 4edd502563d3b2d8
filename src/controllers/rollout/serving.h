// The serving objects of one model (DESIGN.md "ModelVersion", serving
// objects): the stable Deployment `<model>`, the canary Deployment
// `<model>-canary` and the Service `<model>`, rendered from a ModelVersion's
// spec.serving for server-side apply; and what the controller reads back from
// a Deployment (which version it serves, whether it is available).
//
// Pure: no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace mlops::rollout {

inline constexpr std::string_view kApiVersion = "mlops.dev/v1alpha1";
inline constexpr std::string_view kModelVersionKind = "ModelVersion";
inline constexpr std::string_view kDriftPolicyKind = "DriftPolicy";
inline constexpr std::string_view kFieldManager = "mlops-operator";

inline constexpr std::string_view kLabelModel = "mlops.dev/model";
inline constexpr std::string_view kLabelVersion = "mlops.dev/version";
inline constexpr std::string_view kLabelTrack = "mlops.dev/track";
inline constexpr std::string_view kLabelComponent = "app.kubernetes.io/component";
inline constexpr std::string_view kLabelManagedBy = "app.kubernetes.io/managed-by";
inline constexpr std::string_view kComponentServing = "serving";
inline constexpr std::string_view kManagedBy = "mlops-operator";
inline constexpr std::string_view kTrackStable = "stable";
inline constexpr std::string_view kTrackCanary = "canary";
// Selection of the controller's Deployment and Service informers.
inline constexpr const char* kServingSelector =
    "app.kubernetes.io/managed-by=mlops-operator,app.kubernetes.io/component=serving";

// A person's verdict on an Inconclusive canary: "promote" or "rollback".
inline constexpr std::string_view kDecisionAnnotation = "mlops.dev/decision";
// Held on the production version so that it is not deleted while it serves.
inline constexpr std::string_view kProtectionFinalizer = "mlops.dev/production-protection";

// "<model>" for the stable track, "<model>-canary" for the canary.
std::string deploymentName(std::string_view model, std::string_view track);
std::string serviceName(std::string_view model);

// ownerReferences to every version in `owners` (the caller passes the
// non-Archived ones), the one named `controller` marked as controller, so
// that deleting one version never removes serving while another lives.
// Never blockOwnerDeletion: that would need update on modelversions/finalizers.
nlohmann::json ownerReferences(const std::vector<nlohmann::json>& owners,
                               const std::string& controller);

struct DeploymentParams {
  std::string_view track;  // kTrackStable or kTrackCanary
  // Replicas to run; nullopt leaves spec.replicas out of the apply (the
  // Deployment keeps what it has, e.g. an autoscaler's choice).
  std::optional<int64_t> replicas;
  int64_t progressDeadlineSeconds = 600;
  nlohmann::json ownerReferences = nlohmann::json::array();
};

// The Deployment serving `version` (a ModelVersion object) on a track, for
// server-side apply. Its selector is {model, track} only (selectors are
// immutable); the pod template also carries the version and component
// labels, the named port "http" and the MLOPS_MODEL_* environment on the
// serving container. An Error (kInvalidArgument, naming the field) when
// spec.serving cannot be served: no template, no containers, or
// spec.serving.container naming no container.
Result<nlohmann::json> renderDeployment(const nlohmann::json& version,
                                        const DeploymentParams& params);

// The Service `<model>`: selects the model's serving pods (never its
// training pods), port 8080 to the pods' named port "http"; traffic splits
// by replica ratio between the stable and canary Deployments.
nlohmann::json renderService(const std::string& ns, const std::string& model,
                             const nlohmann::json& ownerReferences);

// True when the object carries app.kubernetes.io/managed-by: mlops-operator.
bool isManagedByOperator(const nlohmann::json& object);

// The version a Deployment's pod template serves (label mlops.dev/version).
std::optional<int64_t> servedVersion(const nlohmann::json& deployment);

struct Availability {
  // The current spec is rolled out and every replica is available.
  bool available = false;
  // The Deployment controller gave up (Progressing=False,
  // ProgressDeadlineExceeded) on the current spec.
  bool deadlineExceeded = false;
  std::string availableSince;  // lastTransitionTime of Available=True, RFC 3339
  std::string message;         // why not available, for status
};
Availability availabilityOf(const nlohmann::json& deployment);

}  // namespace mlops::rollout
