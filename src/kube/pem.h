// Checking PEM data before it is used, so a bad certificate or key is
// reported when the configuration is loaded, naming where it came from,
// instead of as an obscure TLS failure later. OpenSSL underneath; messages
// never contain key material.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace mlops::kube::pem {

// The number of X.509 certificates in a PEM bundle; an error when there is
// none or one fails to parse. `what` names the source in messages
// ("certificate-authority /etc/ca.crt").
Result<int> countCertificates(std::string_view pem, const std::string& what);

// Checks that `pem` holds a private key.
Status checkPrivateKey(std::string_view pem, const std::string& what);

// Checks that the key belongs to the first certificate of `certPem`.
Status checkKeyMatchesCertificate(std::string_view certPem, std::string_view keyPem,
                                  const std::string& what);

}  // namespace mlops::kube::pem
