// Throwaway certificates for tests: a CA and leaf certificates it signs, made
// in memory with OpenSSL (EC P-256, valid for a day). Lets tests run TLS
// servers on 127.0.0.1 with exactly the names they want.
#pragma once

#include <string>
#include <vector>

namespace mlops::testing {

struct KeyPair {
  std::string certPem;
  std::string keyPem;
};

// A self-signed CA.
KeyPair makeCa(const std::string& commonName);

struct LeafOptions {
  std::string commonName = "test";
  std::vector<std::string> dnsNames = {};       // subjectAltName DNS entries
  std::vector<std::string> ipAddresses = {};    // subjectAltName IP entries
  std::vector<std::string> organizations = {};  // O=: Kubernetes groups of a client
  bool server = true;                           // serverAuth, else clientAuth
};

// A certificate signed by `ca`.
KeyPair makeLeaf(const KeyPair& ca, const LeafOptions& options);

}  // namespace mlops::testing
