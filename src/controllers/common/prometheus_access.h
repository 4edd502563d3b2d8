// The Prometheus client for one DriftPolicy, shared by the controllers that
// evaluate its checks (rollout: canary and bake; drift: the production
// version). One place decides which URL a policy may query and which
// credentials it may use, so both controllers enforce the same rules:
//
//   URL          spec.prometheus.url, else the operator's --prometheus-url;
//                it must be under one of --prometheus-url-allow (when given).
//   bearer token from spec.prometheus.bearerTokenSecretRef, read with a GET
//                (never a list or watch of Secrets), and only from a Secret
//                labelled mlops.dev/prometheus-credentials=true.
//
// Every refusal is a kInvalidArgument Error whose message names the field
// and is fit for a status message (it never carries a token byte).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "analysis/analysis.h"
#include "core/result.h"
#include "kube/client.h"
#include "prometheus/client.h"

namespace mlops::controllers {

struct PrometheusAccess {
  std::string defaultUrl;                // --prometheus-url
  std::vector<std::string> allowedUrls;  // --prometheus-url-allow; empty → any
};

// A query client for a policy of namespace `ns` with `spec`. `secrets` reads
// the token Secret (the API server, not a cache: Secrets are not watched);
// `factory` builds the client. Opens no connection.
Result<std::unique_ptr<prometheus::QueryClient>> queryClientForPolicy(
    kube::Reader& secrets, prometheus::QueryClientFactory& factory, const PrometheusAccess& access,
    const std::string& ns, const analysis::PrometheusSpec& spec);

}  // namespace mlops::controllers
