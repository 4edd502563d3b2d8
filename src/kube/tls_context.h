// TLS material for talking to an API server, parsed once and installed into
// every OpenSSL context the HTTP client creates.
//
// - With a CA configured, only that CA is trusted (the system store is
//   dropped), as kubectl does.
// - Without one, the system store is used.
// - A client certificate (with any intermediates after it) and its key come
//   from memory.
// - TLS 1.2 is the minimum.
// Hostname/IP verification is done by the HTTP layer (RFC 2818 rules, IP
// addresses against iPAddress SANs); `diagnoseTlsFailure` repeats the
// handshake with plain OpenSSL to say precisely why one failed.
#pragma once

#include <memory>
#include <string>

#include <openssl/ssl.h>

#include "core/result.h"
#include "kube/config.h"

namespace mlops::kube {

class TlsMaterial {
 public:
  // Parses the PEM data of `config`; errors name what failed, never key data.
  static Result<std::shared_ptr<const TlsMaterial>> fromConfig(const ClientConfig& config);
  ~TlsMaterial();
  TlsMaterial(const TlsMaterial&) = delete;
  TlsMaterial& operator=(const TlsMaterial&) = delete;

  // Installs trust anchors, client certificate and key into `ctx`. Safe to
  // call concurrently on different contexts.
  void applyTo(SSL_CTX* ctx) const;

  bool hasCa() const;
  bool hasClientCertificate() const;

 private:
  TlsMaterial();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Connects to host:port, runs a verifying TLS handshake with `material`
// against `host` (a DNS name or an IP address), and returns a one-line
// explanation of the failure ("certificate signed by an unknown authority
// (unable to get local issuer certificate)", "certificate is not valid for
// 127.0.0.2"), or "" when the handshake succeeds. Bounded by `timeoutMs`.
std::string diagnoseTlsFailure(const std::string& host, int port, const TlsMaterial& material,
                               int timeoutMs = 3000);

}  // namespace mlops::kube
