// TLS material for talking to an API server, parsed once and installed into
// every OpenSSL context the HTTP client creates.
//
// - With a CA configured, only that CA is trusted (the system store is
//   dropped), as kubectl does.
// - Without one, the system store is used.
// - A client certificate (with any intermediates after it) and its key come
//   from memory.
// - TLS 1.2 is the minimum.
// - Who the server must prove to be is fixed here, not by the HTTP layer:
//   the kubeconfig's tls-server-name when set, else the host of the server
//   URL. A DNS name is matched against the certificate's DNS SANs (no
//   partial wildcards, never the subject CN, as Go's crypto/tls) and sent as
//   SNI; an IP address (v4 or v6) is matched against its IP SANs and, as RFC
//   6066 requires, not sent as SNI. The HTTP layer's own checks are turned
//   off: it would check the URL's host, which is wrong with tls-server-name
//   and cannot be written for an IPv6 literal.
// `diagnoseTlsFailure` repeats the handshake with plain OpenSSL to say
// precisely why one failed.
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
  // `serverHost` is the host of the server URL (an IPv6 literal without
  // brackets); config.tlsServerName, when set, replaces it as the name to
  // verify.
  static Result<std::shared_ptr<const TlsMaterial>> fromConfig(const ClientConfig& config,
                                                               const std::string& serverHost);
  ~TlsMaterial();
  TlsMaterial(const TlsMaterial&) = delete;
  TlsMaterial& operator=(const TlsMaterial&) = delete;

  // Installs trust anchors, client certificate and key, and the peer checks
  // (verification of the peer name, SNI) into `ctx`; every SSL made from it
  // applies them when its handshake starts, whatever the caller set on the
  // SSL before. Safe to call concurrently on different contexts.
  void applyTo(SSL_CTX* ctx) const;

  bool hasCa() const;
  bool hasClientCertificate() const;
  // The DNS name or IP address the server's certificate must match.
  const std::string& peerName() const;
  // False only with insecureSkipTlsVerify.
  bool verifiesPeer() const;

 private:
  TlsMaterial();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Connects to host:port, runs a verifying TLS handshake with `material`
// against its peer name (a DNS name or an IP address), and returns a
// one-line explanation of the failure ("certificate signed by an unknown
// authority (unable to get local issuer certificate)", "certificate is not
// valid for 127.0.0.2"), or "" when the handshake succeeds. Bounded by
// `timeoutMs`.
std::string diagnoseTlsFailure(const std::string& host, int port, const TlsMaterial& material,
                               int timeoutMs = 3000);

}  // namespace mlops::kube
