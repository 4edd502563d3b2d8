#include "kube/system_trust.h"

#include <cstdlib>
#include <mutex>

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

namespace mlops::kube {
namespace {

// Never freed: shared by every context for the life of the process.
X509_STORE* sharedStore = nullptr;
std::once_flag installed;

}  // namespace

void installSharedSystemTrust() {
  std::call_once(installed, [] {
    X509_STORE* store = X509_STORE_new();
    if (store == nullptr) {
      return;  // out of memory: keep OpenSSL's per-context default
    }
    X509_STORE_set_default_paths(store);
    ERR_clear_error();
    sharedStore = store;
    // From now on a default load reads an empty file. The hashed directory
    // (SSL_CERT_DIR) stays: it is looked up lazily, per certificate.
    setenv("SSL_CERT_FILE", "/dev/null", 1);
  });
}

void useSystemTrust(SSL_CTX* ctx) {
  if (sharedStore != nullptr) {
    SSL_CTX_set1_cert_store(ctx, sharedStore);  // a reference; frees the default
  }
}

}  // namespace mlops::kube
