#include "kube/tls_context.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "kube/system_trust.h"

namespace mlops::kube {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

int refusePassphrase(char*, int, int, void*) {
  return -1;
}

std::vector<X509*> readCertificates(const std::string& pem) {
  std::vector<X509*> out;
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, refusePassphrase, nullptr)) {
    out.push_back(cert);
  }
  ERR_clear_error();
  return out;
}

bool isIpAddress(const std::string& host) {
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// A connected TCP socket, or -1 with `err` set.
int connectWithTimeout(const std::string& host, int port, int timeoutMs, std::string& err) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string portStr = std::to_string(port);
  if (int rc = getaddrinfo(host.c_str(), portStr.c_str(), &hints, &res); rc != 0) {
    err = std::string("cannot resolve ") + host + ": " + gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) {
      continue;
    }
    int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      rc = poll(&p, 1, timeoutMs) == 1 ? 0 : -1;
      int soErr = 0;
      socklen_t len = sizeof soErr;
      if (rc == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soErr, &len) == 0 && soErr != 0) {
        errno = soErr;
        rc = -1;
      } else if (rc != 0) {
        errno = ETIMEDOUT;
      }
    }
    if (rc == 0) {
      break;
    }
    err = std::strerror(errno);
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd >= 0) {
    // Back to blocking, with timeouts, for the handshake.
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    timeval tv{timeoutMs / 1000, static_cast<suseconds_t>(timeoutMs % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  return fd;
}

// What every handshake of a context must check, kept in the SSL_CTX's
// ex_data (OpenSSL's info callback takes no user pointer).
struct PeerCheck {
  std::string name;  // DNS name or IP literal
  bool isIp = false;
  bool verify = true;
};

void freePeerCheck(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/, long /*argl*/,
                   void* /*argp*/) {
  delete static_cast<PeerCheck*>(ptr);
}

int peerCheckIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, freePeerCheck);
  return index;
}

void setExpectedPeer(X509_VERIFY_PARAM* param, const PeerCheck& check) {
  if (check.isIp) {
    X509_VERIFY_PARAM_set1_ip_asc(param, check.name.c_str());
  } else {
    X509_VERIFY_PARAM_set1_host(param, check.name.c_str(), check.name.size());
    // Go's crypto/tls (kubectl): only whole-label wildcards, and the subject
    // CN is never taken for a host name.
    X509_VERIFY_PARAM_set_hostflags(
        param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
  }
}

// Runs when a handshake starts, after the HTTP layer has configured the SSL
// (it turns verification off and would send its own idea of the SNI name) and
// before the ClientHello is built: the peer checks are set here, last.
void onHandshakeEvent(const SSL* constSsl, int where, int /*ret*/) {
  if ((where & SSL_CB_HANDSHAKE_START) == 0) {
    return;
  }
  // OpenSSL hands the callback a const SSL, but configuring the connection
  // that is starting is exactly what this hook is for.
  SSL* ssl = const_cast<SSL*>(constSsl);
  const auto* check =
      static_cast<const PeerCheck*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), peerCheckIndex()));
  if (check == nullptr) {
    return;
  }
  if (!check->isIp && !check->name.empty()) {
    SSL_set_tlsext_host_name(ssl, check->name.c_str());
  }
  if (check->verify) {
    setExpectedPeer(SSL_get0_param(ssl), *check);
    SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
  }
}

}  // namespace

struct TlsMaterial::Impl {
  std::vector<X509*> cas;
  std::vector<X509*> clientChain;  // leaf first
  EVP_PKEY* key = nullptr;
  std::string peerName;
  bool verify = true;

  ~Impl() {
    for (X509* c : cas) {
      X509_free(c);
    }
    for (X509* c : clientChain) {
      X509_free(c);
    }
    EVP_PKEY_free(key);
  }
};

TlsMaterial::TlsMaterial() : impl_(std::make_unique<Impl>()) {}
TlsMaterial::~TlsMaterial() = default;

bool TlsMaterial::hasCa() const {
  return !impl_->cas.empty();
}
bool TlsMaterial::hasClientCertificate() const {
  return !impl_->clientChain.empty();
}
const std::string& TlsMaterial::peerName() const {
  return impl_->peerName;
}
bool TlsMaterial::verifiesPeer() const {
  return impl_->verify;
}

Result<std::shared_ptr<const TlsMaterial>> TlsMaterial::fromConfig(const ClientConfig& config,
                                                                   const std::string& serverHost) {
  std::shared_ptr<TlsMaterial> m(new TlsMaterial());
  m->impl_->peerName = config.tlsServerName.empty() ? serverHost : config.tlsServerName;
  m->impl_->verify = !config.insecureSkipTlsVerify;
  if (m->impl_->peerName.empty()) {
    return makeError(ErrorCode::kInvalidArgument,
                     config.source + ": no server name to verify the certificate against");
  }
  if (m->impl_->peerName.find('\0') != std::string::npos) {
    return makeError(ErrorCode::kInvalidArgument,
                     config.source + ": the TLS server name holds a NUL byte");
  }
  if (!config.caPem.empty()) {
    m->impl_->cas = readCertificates(config.caPem);
    if (m->impl_->cas.empty()) {
      return makeError(ErrorCode::kInvalidArgument,
                       config.source + ": the certificate authority holds no PEM certificate");
    }
  }
  if (config.clientCertPem.empty() != config.clientKeyPem.empty()) {
    return makeError(ErrorCode::kInvalidArgument,
                     config.source + ": a client certificate needs both certificate and key");
  }
  if (!config.clientCertPem.empty()) {
    m->impl_->clientChain = readCertificates(config.clientCertPem);
    if (m->impl_->clientChain.empty()) {
      return makeError(ErrorCode::kInvalidArgument,
                       config.source + ": the client certificate does not parse");
    }
    BioPtr bio(
        BIO_new_mem_buf(config.clientKeyPem.data(), static_cast<int>(config.clientKeyPem.size())));
    m->impl_->key = PEM_read_bio_PrivateKey(bio.get(), nullptr, refusePassphrase, nullptr);
    ERR_clear_error();
    if (m->impl_->key == nullptr) {
      return makeError(ErrorCode::kInvalidArgument,
                       config.source + ": the client key does not parse");
    }
    if (X509_check_private_key(m->impl_->clientChain.front(), m->impl_->key) != 1) {
      ERR_clear_error();
      return makeError(ErrorCode::kInvalidArgument,
                       config.source + ": the client key does not match the client certificate");
    }
  }
  return std::shared_ptr<const TlsMaterial>(std::move(m));
}

void TlsMaterial::applyTo(SSL_CTX* ctx) const {
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (!impl_->cas.empty()) {
    X509_STORE* store = X509_STORE_new();
    for (X509* ca : impl_->cas) {
      X509_STORE_add_cert(store, ca);  // takes its own reference
    }
    SSL_CTX_set_cert_store(ctx, store);  // frees the default store
  } else {
    useSystemTrust(ctx);
  }
  if (!impl_->clientChain.empty()) {
    SSL_CTX_use_certificate(ctx, impl_->clientChain.front());
    for (size_t i = 1; i < impl_->clientChain.size(); ++i) {
      SSL_CTX_add1_chain_cert(ctx, impl_->clientChain[i]);
    }
    SSL_CTX_use_PrivateKey(ctx, impl_->key);
  }
  auto check = std::make_unique<PeerCheck>();
  check->name = impl_->peerName;
  check->isIp = isIpAddress(impl_->peerName);
  check->verify = impl_->verify;
  if (check->verify) {
    // Also on the context itself, so an SSL made from it starts out right.
    setExpectedPeer(SSL_CTX_get0_param(ctx), *check);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  }
  delete static_cast<PeerCheck*>(SSL_CTX_get_ex_data(ctx, peerCheckIndex()));
  SSL_CTX_set_ex_data(ctx, peerCheckIndex(), check.release());
  SSL_CTX_set_info_callback(ctx, onHandshakeEvent);
  ERR_clear_error();
}

std::string diagnoseTlsFailure(const std::string& host, int port, const TlsMaterial& material,
                               int timeoutMs) {
  std::string err;
  int fd = connectWithTimeout(host, port, timeoutMs, err);
  if (fd < 0) {
    return "cannot connect: " + err;
  }

  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                        &SSL_CTX_free);
  if (!ctx) {
    close(fd);
    return "cannot create a TLS context";
  }
  SSL_CTX_set_default_verify_paths(ctx.get());
  // The same checks as the real connection (peer name, SNI), verifying even
  // when the connection itself does not, to say what is wrong.
  material.applyTo(ctx.get());
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), &SSL_free);
  const std::string& peer = material.peerName();
  PeerCheck check{peer, isIpAddress(peer), true};
  setExpectedPeer(SSL_get0_param(ssl.get()), check);
  SSL_set_verify(ssl.get(), SSL_VERIFY_PEER, nullptr);
  SSL_set_fd(ssl.get(), fd);
  ERR_clear_error();
  const int rc = SSL_connect(ssl.get());
  std::string out;
  if (rc != 1) {
    const long verify = SSL_get_verify_result(ssl.get());
    if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH) {
      out = "the server certificate is not valid for " + peer;
    } else if (verify == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
               verify == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
               verify == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
               verify == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT) {
      out = std::string("the server certificate is signed by an unknown authority (") +
            X509_verify_cert_error_string(verify) + ")";
    } else if (verify != X509_V_OK) {
      out = std::string("the server certificate failed verification: ") +
            X509_verify_cert_error_string(verify);
    } else {
      unsigned long e = ERR_peek_last_error();
      const char* reason = e != 0 ? ERR_reason_error_string(e) : nullptr;
      out =
          std::string("handshake failed: ") + (reason ? reason : "connection closed by the server");
    }
  } else {
    SSL_shutdown(ssl.get());
  }
  ERR_clear_error();
  close(fd);
  return out;
}

}  // namespace mlops::kube
