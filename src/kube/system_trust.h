// The system's trust anchors, loaded once per process.
//
// cpprestsdk builds a new OpenSSL context for every connection it opens and
// loads the system's CA bundle into it (set_default_verify_paths) before our
// context callback runs. With OpenSSL 3 that is a few milliseconds of PEM
// decoding per connection, over a hundred certificates, and a few MB of heap
// churn; then the callback replaces the store with the cluster's CA anyway.
// Measured: about 0.8 of the 0.9 CPU seconds mlops-operator spent starting
// (make bench, "CPU seconds, start to idle").
//
// installSharedSystemTrust() loads the bundle once (honouring SSL_CERT_FILE
// and SSL_CERT_DIR as OpenSSL always does) and then points SSL_CERT_FILE at
// an empty file, so every later default load is empty; useSystemTrust() gives
// a context that needs the system's anchors (no CA configured) the shared
// store. Without installSharedSystemTrust() (tests, tools) nothing changes:
// useSystemTrust() leaves the context's own default store in place.
#pragma once

#include <openssl/ssl.h>

namespace mlops::kube {

// Call once from main, before any thread or connection starts (it sets an
// environment variable). Idempotent.
void installSharedSystemTrust();

// Makes `ctx` trust the system's anchors through the shared store, when one
// is installed; otherwise leaves the context's default store.
void useSystemTrust(SSL_CTX* ctx);

}  // namespace mlops::kube
