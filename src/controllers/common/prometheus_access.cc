#include "controllers/common/prometheus_access.h"

#include <utility>

#include "kube/resource.h"

namespace mlops::controllers {

Result<std::unique_ptr<prometheus::QueryClient>> queryClientForPolicy(
    kube::Reader& secrets, prometheus::QueryClientFactory& factory, const PrometheusAccess& access,
    const std::string& ns, const analysis::PrometheusSpec& spec) {
  prometheus::ClientOptions opts;
  opts.url = spec.url.empty() ? access.defaultUrl : spec.url;
  opts.timeout = spec.timeout;
  opts.insecureSkipVerify = spec.insecureSkipVerify;
  if (opts.url.empty()) {
    return makeError(
        ErrorCode::kInvalidArgument,
        "no Prometheus URL: set spec.prometheus.url or the operator's --prometheus-url");
  }
  if (!prometheus::urlAllowed(opts.url, access.allowedUrls)) {
    return makeError(ErrorCode::kInvalidArgument,
                     "spec.prometheus.url " + opts.url +
                         " is not under any of the operator's --prometheus-url-allow prefixes");
  }
  if (spec.bearerTokenSecretRef) {
    const auto& ref = *spec.bearerTokenSecretRef;
    auto secret = secrets.get(kube::resources::kSecrets, ns, ref.name);
    if (!secret.ok()) {
      return makeError(ErrorCode::kInvalidArgument,
                       "spec.prometheus.bearerTokenSecretRef: Secret " + ref.name + ": " +
                           secret.error().message);
    }
    auto token = prometheus::bearerTokenFromSecret(*secret, ref.key);
    if (!token.ok()) {
      return makeError(ErrorCode::kInvalidArgument,
                       "spec.prometheus.bearerTokenSecretRef: Secret " + ref.name + ": " +
                           token.error().message);
    }
    opts.bearerToken = std::move(*token);
  }
  return factory.make(opts);
}

}  // namespace mlops::controllers
