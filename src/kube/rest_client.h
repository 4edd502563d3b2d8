// The kube::Client that talks to a real API server over HTTPS (cpprestsdk
// and OpenSSL underneath; neither shows in this header).
//
// - Every request carries the configured User-Agent, `Accept:
//   application/json`, and `Authorization: Bearer` when a token source is set
//   (asked for each request, so rotated tokens are picked up).
// - TLS verification is on unless the config says insecureSkipTlsVerify; the
//   configured CA replaces the system trust store; the server name or IP is
//   checked against the certificate.
// - Failures come back as Errors, never exceptions: HTTP errors through
//   api_error.h (reason and message of the server's Status kept); transport
//   trouble as kUnavailable (connection refused, reset, TLS failure — the
//   message names the server URL and, for TLS, why verification failed),
//   kTimeout (no progress within requestTimeout) or kCancelled.
// - Items of a list get `apiVersion` and `kind` filled in (the server leaves
//   them out); `apply` fills them in the body when missing.
// - Each watch has its own HTTP connection, so a long watch never holds up
//   ordinary requests; its body is decoded as it arrives. See WatchStream in
//   client.h for the contract; the stream ends with an Error of code kTimeout
//   when no byte arrives for timeoutSeconds + ClientConfig::watchIdleGrace
//   (measured on ClientConfig::clock while next() waits for bytes).
//
// Thread safe: one client may be used from many threads at once.
#pragma once

#include <memory>

#include "core/result.h"
#include "kube/client.h"
#include "kube/config.h"

namespace mlops::kube {

// Checks the config (server URL, PEM material) and builds a client. Opens no
// connection yet.
Result<std::unique_ptr<Client>> makeRestClient(const ClientConfig& config);

// Sizes the thread pool that runs the network I/O of every HTTP client in the
// process (this one and the Prometheus client share it). cpprestsdk otherwise
// starts 40 threads on first use, whatever the work. Requests are waited for
// on the caller's thread, so the pool only moves bytes and TLS records: a few
// threads serve many concurrent requests. Call once, before any client makes
// a request; a second call, or one after first use, is an error.
Status configureHttpThreads(size_t threads);

}  // namespace mlops::kube
