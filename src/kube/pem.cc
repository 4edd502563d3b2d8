#include "kube/pem.h"

#include <memory>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

namespace mlops::kube::pem {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

BioPtr memBio(std::string_view data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

// The reason of the newest OpenSSL error, and an empty queue afterwards.
std::string lastOpensslError() {
  unsigned long code = 0;
  unsigned long last = 0;
  while ((code = ERR_get_error()) != 0) {
    last = code;
  }
  if (last == 0) {
    return "";
  }
  const char* reason = ERR_reason_error_string(last);
  return reason ? reason : "";
}

// A passphrase callback that refuses: encrypted keys are not supported, and
// OpenSSL must never prompt on a terminal.
int noPassphrase(char*, int, int, void*) {
  return -1;
}

}  // namespace

Result<int> countCertificates(std::string_view pem, const std::string& what) {
  ERR_clear_error();
  if (pem.find("-----BEGIN CERTIFICATE-----") == std::string_view::npos) {
    return makeError(ErrorCode::kInvalidArgument,
                     what + ": no PEM certificate found (expected -----BEGIN CERTIFICATE-----)");
  }
  BioPtr bio = memBio(pem);
  int count = 0;
  while (true) {
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, noPassphrase, nullptr));
    if (!cert) {
      break;
    }
    ++count;
  }
  // Reading stops with "no start line" at the end of the data; anything else
  // means a certificate block was malformed.
  unsigned long err = ERR_peek_last_error();
  if (err != 0 && ERR_GET_REASON(err) != PEM_R_NO_START_LINE) {
    std::string reason = lastOpensslError();
    return makeError(ErrorCode::kInvalidArgument,
                     what + ": malformed PEM certificate" + (reason.empty() ? "" : ": " + reason));
  }
  ERR_clear_error();
  if (count == 0) {
    return makeError(ErrorCode::kInvalidArgument, what + ": no PEM certificate could be parsed");
  }
  return count;
}

Status checkPrivateKey(std::string_view pem, const std::string& what) {
  ERR_clear_error();
  BioPtr bio = memBio(pem);
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassphrase, nullptr));
  if (!key) {
    std::string reason = lastOpensslError();
    return makeError(ErrorCode::kInvalidArgument, what + ": no usable PEM private key" +
                                                      (reason.empty() ? "" : " (" + reason + ")"));
  }
  return okStatus();
}

Status checkKeyMatchesCertificate(std::string_view certPem, std::string_view keyPem,
                                  const std::string& what) {
  ERR_clear_error();
  BioPtr certBio = memBio(certPem);
  X509Ptr cert(PEM_read_bio_X509(certBio.get(), nullptr, noPassphrase, nullptr));
  BioPtr keyBio = memBio(keyPem);
  PkeyPtr key(PEM_read_bio_PrivateKey(keyBio.get(), nullptr, noPassphrase, nullptr));
  if (!cert || !key) {
    ERR_clear_error();
    return makeError(ErrorCode::kInvalidArgument, what + ": cannot parse certificate or key");
  }
  const bool match = X509_check_private_key(cert.get(), key.get()) == 1;
  ERR_clear_error();
  if (!match) {
    return makeError(ErrorCode::kInvalidArgument,
                     what + ": the client key does not match the client certificate");
  }
  return okStatus();
}

}  // namespace mlops::kube::pem
