// The QueryClient that talks to a real Prometheus over HTTP(S), with
// cpprestsdk underneath (it does not show in this header).
//
// - An instant query is GET <url>/api/v1/query?query=<percent-encoded PromQL>
//   (no time parameter: the server's now), with `Accept: application/json`
//   and `Authorization: Bearer <token>` when a token is set.
// - The whole query, from connecting to the last byte of the body, is bounded
//   by ClientOptions::timeout; overrunning it is kTimeout.
// - TLS certificates are verified against the system trust store (and the
//   URL's host, a DNS name or an IP address) unless insecureSkipVerify; TLS
//   1.2 is the minimum. Redirects are not followed (a 3xx is an Error), so
//   the allow-list check on the URL cannot be walked around.
// - The body is read with a bound: a reply larger than maxResponseBytes is
//   abandoned (the connection is closed) and reported as kInternal
//   "response larger than N bytes"; Content-Length is only used to give up
//   early, never trusted to be small.
// - Failures are Errors, never exceptions: transport failures (connection
//   refused, reset, DNS, TLS) kUnavailable with the URL and why; Prometheus's
//   own errors as parse.h describes. The bearer token never appears in an
//   Error.
// - An IPv6 literal host ("http://[::1]:9090") works: the connection is made
//   to the bare address and the Host header carries the bracketed form.
//
// Thread safe: one client may run queries from many threads at once.
#pragma once

#include <memory>

#include "prometheus/client.h"

namespace mlops::prometheus {

std::unique_ptr<QueryClientFactory> makeHttpQueryClientFactory();

}  // namespace mlops::prometheus
