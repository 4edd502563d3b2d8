#include "main/preflight.h"

#include <thread>

namespace mlops {
namespace {

const kube::Resource kSelfSubjectReviews{"authentication.k8s.io", "v1", "selfsubjectreviews",
                                         "SelfSubjectReview", false};

}  // namespace

Status checkApiServerAccess(kube::Client& client, const std::string& server,
                            std::chrono::milliseconds budget) {
  const kube::Json review = {{"apiVersion", "authentication.k8s.io/v1"},
                             {"kind", "SelfSubjectReview"}};
  auto deadline = std::chrono::steady_clock::now() + budget;
  auto pause = std::chrono::milliseconds(500);
  while (true) {
    auto reply = client.create(kSelfSubjectReviews, "", review);
    if (reply.ok()) {
      return okStatus();
    }
    const Error& e = reply.error();
    if (e.code == ErrorCode::kUnauthorized) {
      return makeError(ErrorCode::kUnauthorized,
                       "the API server at " + server +
                           " rejected the operator's credentials (HTTP 401): check the token or "
                           "client certificate in the kubeconfig");
    }
    if (!e.transient() || std::chrono::steady_clock::now() + pause > deadline) {
      Error out = e;
      out.message = "cannot use the API server at " + server + ": " + e.message;
      return out;
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(4000));
  }
}

}  // namespace mlops
