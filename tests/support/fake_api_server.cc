#include "support/fake_api_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <csignal>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace mlops::testing {

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string percentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else if (s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

const char* reasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Status";
  }
}

}  // namespace

struct FakeApiServer::Impl {
  std::mutex mu;
  std::condition_variable stopCv;
  bool stopping = false;
  std::vector<HttpRequest> requests;
  std::vector<std::shared_ptr<Connection>> connections;
  std::vector<std::thread> threads;
  SSL_CTX* sslCtx = nullptr;

  ~Impl() {
    if (sslCtx) SSL_CTX_free(sslCtx);
  }
};

class Connection {
 public:
  Connection(int fd, std::shared_ptr<FakeApiServer::Impl> impl) : fd_(fd), impl_(std::move(impl)) {}
  ~Connection() {
    if (ssl_) SSL_free(ssl_);
    if (fd_ >= 0) close(fd_);
  }

  bool startTls(SSL_CTX* ctx) {
    ssl_ = SSL_new(ctx);
    SSL_set_fd(ssl_, fd_);
    if (SSL_accept(ssl_) != 1) {
      ERR_clear_error();
      return false;
    }
    if (const char* sni = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name)) {
      sni_ = sni;
    }
    if (X509* peer = SSL_get_peer_certificate(ssl_)) {
      char cn[256] = {0};
      X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof cn);
      peerCn_ = cn;
      X509_free(peer);
    }
    return true;
  }

  // Reads some bytes into `buf`; 0 on EOF or error.
  size_t readSome(char* buf, size_t n) {
    if (ssl_) {
      int r = SSL_read(ssl_, buf, static_cast<int>(n));
      if (r <= 0) {
        ERR_clear_error();
        return 0;
      }
      return static_cast<size_t>(r);
    }
    ssize_t r = recv(fd_, buf, n, 0);
    return r > 0 ? static_cast<size_t>(r) : 0;
  }

  bool writeAll(const std::string& data) {
    std::lock_guard<std::mutex> lock(writeMu_);
    if (dead_) return false;
    size_t off = 0;
    while (off < data.size()) {
      if (ssl_) {
        int w = SSL_write(ssl_, data.data() + off, static_cast<int>(data.size() - off));
        if (w <= 0) {
          ERR_clear_error();
          dead_ = true;
          return false;
        }
        off += static_cast<size_t>(w);
      } else {
        ssize_t w = send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
        if (w <= 0) {
          dead_ = true;
          return false;
        }
        off += static_cast<size_t>(w);
      }
    }
    return true;
  }

  void shutdownSocket() {
    dead_ = true;
    ::shutdown(fd_, SHUT_RDWR);
  }

  bool stopping() {
    std::lock_guard<std::mutex> lock(impl_->mu);
    return impl_->stopping;
  }

  bool wait(std::chrono::milliseconds d) {
    std::unique_lock<std::mutex> lock(impl_->mu);
    return !impl_->stopCv.wait_for(lock, d, [&] { return impl_->stopping; });
  }

  const std::string& peerCn() const { return peerCn_; }
  const std::string& sni() const { return sni_; }
  bool dead() const { return dead_; }

 private:
  int fd_;
  SSL* ssl_ = nullptr;
  std::shared_ptr<FakeApiServer::Impl> impl_;
  std::mutex writeMu_;
  std::atomic<bool> dead_{false};
  std::string peerCn_;
  std::string sni_;
};

std::string HttpRequest::header(const std::string& lowerName) const {
  auto it = headers.find(lowerName);
  return it == headers.end() ? "" : it->second;
}

std::string HttpRequest::param(const std::string& name) const {
  auto it = query.find(name);
  return it == query.end() ? "" : it->second;
}

bool ResponseWriter::send(int status, const std::string& body, const std::string& contentType) {
  responded_ = true;
  std::ostringstream out;
  out << "HTTP/1.1 " << status << " " << reasonPhrase(status) << "\r\n"
      << "Content-Type: " << contentType << "\r\n"
      << "Content-Length: " << body.size() << "\r\n\r\n"
      << body;
  return conn_.writeAll(out.str());
}

bool ResponseWriter::startChunked(int status, const std::string& contentType) {
  responded_ = true;
  std::ostringstream out;
  out << "HTTP/1.1 " << status << " " << reasonPhrase(status) << "\r\n"
      << "Content-Type: " << contentType << "\r\n"
      << "Transfer-Encoding: chunked\r\n\r\n";
  return conn_.writeAll(out.str());
}

bool ResponseWriter::chunk(const std::string& data) {
  if (data.empty()) return true;  // an empty chunk would end the body
  std::ostringstream out;
  out << std::hex << data.size() << "\r\n" << data << "\r\n";
  return conn_.writeAll(out.str());
}

bool ResponseWriter::endChunked() {
  return conn_.writeAll("0\r\n\r\n");
}

bool ResponseWriter::wait(std::chrono::milliseconds d) {
  return conn_.wait(d);
}

void ResponseWriter::abort() {
  aborted_ = true;
  conn_.shutdownSocket();
}

FakeApiServer::FakeApiServer(Handler handler, std::optional<TlsServerOptions> tls, std::string host)
    : handler_(std::move(handler)),
      impl_(std::make_shared<Impl>()),
      tls_(tls.has_value()),
      host_(std::move(host)) {
  std::signal(SIGPIPE, SIG_IGN);
  if (tls) {
    impl_->sslCtx = SSL_CTX_new(TLS_server_method());
    BIO* certBio = BIO_new_mem_buf(tls->certPem.data(), static_cast<int>(tls->certPem.size()));
    X509* cert = PEM_read_bio_X509(certBio, nullptr, nullptr, nullptr);
    BIO_free(certBio);
    BIO* keyBio = BIO_new_mem_buf(tls->keyPem.data(), static_cast<int>(tls->keyPem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(keyBio, nullptr, nullptr, nullptr);
    BIO_free(keyBio);
    if (!cert || !key || SSL_CTX_use_certificate(impl_->sslCtx, cert) != 1 ||
        SSL_CTX_use_PrivateKey(impl_->sslCtx, key) != 1) {
      throw std::runtime_error("FakeApiServer: bad TLS certificate or key");
    }
    X509_free(cert);
    EVP_PKEY_free(key);
    if (!tls->clientCaPem.empty()) {
      X509_STORE* store = SSL_CTX_get_cert_store(impl_->sslCtx);
      BIO* caBio =
          BIO_new_mem_buf(tls->clientCaPem.data(), static_cast<int>(tls->clientCaPem.size()));
      while (X509* ca = PEM_read_bio_X509(caBio, nullptr, nullptr, nullptr)) {
        X509_STORE_add_cert(store, ca);
        X509_free(ca);
      }
      BIO_free(caBio);
      ERR_clear_error();
      SSL_CTX_set_verify(impl_->sslCtx, SSL_VERIFY_PEER, nullptr);
    }
  }

  const bool v6 = host_.find(':') != std::string::npos;
  listenFd_ = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listenFd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_storage storage{};
  socklen_t len = 0;
  if (v6) {
    auto* addr = reinterpret_cast<sockaddr_in6*>(&storage);
    addr->sin6_family = AF_INET6;
    if (inet_pton(AF_INET6, host_.c_str(), &addr->sin6_addr) != 1) {
      throw std::runtime_error("FakeApiServer: bad IPv6 address " + host_);
    }
    len = sizeof *addr;
  } else {
    auto* addr = reinterpret_cast<sockaddr_in*>(&storage);
    addr->sin_family = AF_INET;
    if (inet_pton(AF_INET, host_.c_str(), &addr->sin_addr) != 1) {
      throw std::runtime_error("FakeApiServer: bad IPv4 address " + host_);
    }
    len = sizeof *addr;
  }
  if (bind(listenFd_, reinterpret_cast<sockaddr*>(&storage), len) != 0 ||
      listen(listenFd_, 64) != 0) {
    throw std::runtime_error("FakeApiServer: cannot listen on " + host_ + ": " +
                             std::strerror(errno));
  }
  len = sizeof storage;
  getsockname(listenFd_, reinterpret_cast<sockaddr*>(&storage), &len);
  port_ = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port
                   : reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
  acceptThread_ = std::thread([this] { acceptLoop(); });
}

FakeApiServer::~FakeApiServer() {
  stop();
}

std::string FakeApiServer::url() const {
  const bool v6 = host_.find(':') != std::string::npos;
  return std::string(tls_ ? "https" : "http") + "://" + (v6 ? "[" + host_ + "]" : host_) + ":" +
         std::to_string(port_);
}

std::vector<HttpRequest> FakeApiServer::requests() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->requests;
}

void FakeApiServer::stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->stopping) return;
    impl_->stopping = true;
    for (auto& c : impl_->connections) c->shutdownSocket();
  }
  impl_->stopCv.notify_all();
  ::shutdown(listenFd_, SHUT_RDWR);
  if (acceptThread_.joinable()) acceptThread_.join();
  close(listenFd_);
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    threads.swap(impl_->threads);
  }
  for (auto& t : threads) t.join();
  // Connections point back at impl_; drop them to break the cycle.
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->connections.clear();
}

void FakeApiServer::acceptLoop() {
  while (true) {
    int fd = accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR) continue;
      return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto conn = std::make_shared<Connection>(fd, impl_);
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->stopping) return;  // conn closes its fd
    ++connectionCount_;
    impl_->connections.push_back(conn);
    impl_->threads.emplace_back([this, conn] { serve(conn); });
  }
}

void FakeApiServer::serve(std::shared_ptr<Connection> conn) {
  if (tls_ && !conn->startTls(impl_->sslCtx)) {
    conn->shutdownSocket();
    return;
  }
  std::string buf;
  char tmp[16384];
  while (!conn->dead()) {
    // Headers.
    size_t headerEnd;
    while ((headerEnd = buf.find("\r\n\r\n")) == std::string::npos) {
      size_t n = conn->readSome(tmp, sizeof tmp);
      if (n == 0) return;
      buf.append(tmp, n);
    }
    HttpRequest req;
    std::istringstream head(buf.substr(0, headerEnd));
    std::string line;
    std::getline(head, line);
    {
      std::istringstream rl(line);
      std::string version;
      rl >> req.method >> req.target >> version;
    }
    while (std::getline(head, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string value = line.substr(colon + 1);
      size_t b = value.find_first_not_of(' ');
      req.headers[lower(line.substr(0, colon))] = b == std::string::npos ? "" : value.substr(b);
    }
    buf.erase(0, headerEnd + 4);
    size_t length = 0;
    if (!req.header("content-length").empty()) length = std::stoul(req.header("content-length"));
    while (buf.size() < length) {
      size_t n = conn->readSome(tmp, sizeof tmp);
      if (n == 0) return;
      buf.append(tmp, n);
    }
    req.body = buf.substr(0, length);
    buf.erase(0, length);

    size_t q = req.target.find('?');
    req.path = req.target.substr(0, q);
    if (q != std::string::npos) {
      std::istringstream qs(req.target.substr(q + 1));
      std::string kv;
      while (std::getline(qs, kv, '&')) {
        size_t eq = kv.find('=');
        req.query[percentDecode(kv.substr(0, eq))] =
            eq == std::string::npos ? "" : percentDecode(kv.substr(eq + 1));
      }
    }
    req.clientCertCommonName = conn->peerCn();
    req.tlsServerName = conn->sni();
    {
      std::lock_guard<std::mutex> lock(impl_->mu);
      impl_->requests.push_back(req);
    }
    ResponseWriter writer(*conn);
    handler_(req, writer);
    if (writer.aborted()) return;
    if (!writer.responded()) writer.send(404, R"({"kind":"Status","code":404})");
    if (lower(req.header("connection")) == "close") return;
  }
}

}  // namespace mlops::testing
