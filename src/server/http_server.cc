#include "server/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "server/bind_address.h"

namespace mlops::server {
namespace {

constexpr size_t kMaxHeadBytes = size_t{16} * 1024;
constexpr size_t kMaxPending = 64;
constexpr int kIoTimeoutSeconds = 5;

const char* reasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

bool sendAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    off += static_cast<size_t>(n);
  }
  return true;
}

void writeReply(int fd, const HttpReply& reply, bool withBody) {
  std::string head = "HTTP/1.1 " + std::to_string(reply.status) + " " + reasonPhrase(reply.status) +
                     "\r\nContent-Type: " + reply.contentType +
                     "\r\nContent-Length: " + std::to_string(reply.body.size()) +
                     "\r\nX-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\n";
  if (reply.status == 405) {
    head += "Allow: GET, HEAD\r\n";
  }
  head += "Connection: close\r\n\r\n";
  if (sendAll(fd, head) && withBody) {
    sendAll(fd, reply.body);
  }
}

HttpReply plain(int status, std::string body) {
  return HttpReply{status, "text/plain; charset=utf-8", std::move(body)};
}

// A listening socket for `address`, or an error naming `what` and why.
Result<int> listenOn(const BindAddress& address, const std::string& original,
                     const std::string& what) {
  const auto fail = [&](const std::string& why) -> Error {
    return makeError(ErrorCode::kUnavailable,
                     "cannot serve " + what + " on " + original + ": " + why);
  };
  const bool any = address.host.empty();
  int fd = -1;
  sockaddr_storage storage{};
  socklen_t length = 0;
  if (address.ipv6) {
    fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 && any && (errno == EAFNOSUPPORT || errno == EPROTONOSUPPORT)) {
      // No IPv6 on this machine: ":port" means every IPv4 interface then.
      return listenOn(BindAddress{"", address.port, false}, original, what);
    }
    auto* a = reinterpret_cast<sockaddr_in6*>(&storage);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(static_cast<uint16_t>(address.port));
    a->sin6_addr = in6addr_any;
    if (!any && inet_pton(AF_INET6, address.host.c_str(), &a->sin6_addr) != 1) {
      if (fd >= 0) {
        ::close(fd);
      }
      return fail("bad IPv6 address");
    }
    length = sizeof *a;
    if (fd >= 0 && any) {
      const int off = 0;  // dual stack: IPv4 clients too
      ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    }
  } else {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    auto* a = reinterpret_cast<sockaddr_in*>(&storage);
    a->sin_family = AF_INET;
    a->sin_port = htons(static_cast<uint16_t>(address.port));
    a->sin_addr.s_addr = htonl(INADDR_ANY);
    if (!any && inet_pton(AF_INET, address.host.c_str(), &a->sin_addr) != 1) {
      if (fd >= 0) {
        ::close(fd);
      }
      return fail("bad IPv4 address");
    }
    length = sizeof *a;
  }
  if (fd < 0) {
    return fail(std::strerror(errno));
  }
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0) {
    const int err = errno;
    ::close(fd);
    if (address.ipv6 && any && err == EADDRNOTAVAIL) {
      return listenOn(BindAddress{"", address.port, false}, original, what);
    }
    return fail(std::strerror(err));
  }
  if (::listen(fd, 64) != 0) {
    const int err = errno;
    ::close(fd);
    return fail(std::strerror(err));
  }
  return fd;
}

int boundPort(int fd) {
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) {
    return 0;
  }
  if (storage.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port);
  }
  return ntohs(reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
}

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::start(const std::string& bindAddress,
                                                      HttpHandler handler, const std::string& what,
                                                      int workers) {
  auto address = parseBindAddress(bindAddress);
  if (!address.ok()) {
    return address.error();
  }
  if (!address->has_value()) {
    return makeError(ErrorCode::kInvalidArgument, what + " server disabled (bind address 0)");
  }
  auto fd = listenOn(**address, bindAddress, what);
  if (!fd.ok()) {
    return fd.error();
  }
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->handler_ = std::move(handler);
  server->listenFd_ = *fd;
  server->port_ = boundPort(*fd);
  server->wakeFd_ = ::eventfd(0, EFD_CLOEXEC);
  if (server->wakeFd_ < 0) {
    return makeError(ErrorCode::kUnavailable,
                     "cannot serve " + what + ": eventfd: " + std::strerror(errno));
  }
  for (int i = 0; i < std::max(1, workers); ++i) {
    server->workers_.emplace_back([s = server.get()] { s->workerLoop(); });
  }
  server->acceptThread_ = std::thread([s = server.get()] { s->acceptLoop(); });
  return server;
}

HttpServer::~HttpServer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    // Cut connections being served, so a slow client cannot hold up stop.
    for (int fd : active_) {
      ::shutdown(fd, SHUT_RDWR);
    }
  }
  cv_.notify_all();
  if (wakeFd_ >= 0) {
    const uint64_t one = 1;
    (void)!::write(wakeFd_, &one, sizeof one);
  }
  if (acceptThread_.joinable()) {
    acceptThread_.join();
  }
  for (auto& t : workers_) {
    t.join();
  }
  for (int fd : pending_) {
    ::close(fd);
  }
  if (listenFd_ >= 0) {
    ::close(listenFd_);
  }
  if (wakeFd_ >= 0) {
    ::close(wakeFd_);
  }
}

void HttpServer::acceptLoop() {
  while (true) {
    pollfd fds[2] = {{listenFd_, POLLIN, 0}, {wakeFd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      return;
    }
    if (fds[1].revents != 0) {
      return;
    }
    if (fds[0].revents == 0) {
      continue;
    }
    const int fd = ::accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      continue;  // the client went away, or out of descriptors for a moment
    }
    std::lock_guard lock(mu_);
    if (stopping_ || pending_.size() >= kMaxPending) {
      ::close(fd);
      continue;
    }
    pending_.push_back(fd);
    cv_.notify_one();
  }
}

void HttpServer::workerLoop() {
  while (true) {
    int fd = -1;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
      if (stopping_) {
        return;
      }
      fd = pending_.front();
      pending_.pop_front();
      active_.insert(fd);
    }
    serve(fd);
    {
      std::lock_guard lock(mu_);
      active_.erase(fd);
    }
    ::close(fd);
  }
}

void HttpServer::serve(int fd) {
  const timeval timeout{kIoTimeoutSeconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  std::string head;
  char buf[4096];
  size_t end = std::string::npos;
  while ((end = head.find("\r\n\r\n")) == std::string::npos) {
    if (head.size() > kMaxHeadBytes) {
      writeReply(fd, plain(431, "request head too large\n"), true);
      return;
    }
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return;  // closed, timed out, or cut by stop
    }
    head.append(buf, static_cast<size_t>(n));
  }
  // "GET /readyz?verbose HTTP/1.1"
  const std::string line = head.substr(0, head.find("\r\n"));
  const auto sp1 = line.find(' ');
  const auto sp2 = sp1 == std::string::npos ? std::string::npos : line.find(' ', sp1 + 1);
  if (sp2 == std::string::npos || line.compare(sp2 + 1, 5, "HTTP/") != 0) {
    writeReply(fd, plain(400, "bad request\n"), true);
    return;
  }
  HttpRequestHead request;
  request.method = line.substr(0, sp1);
  const std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const auto q = target.find('?');
  request.path = target.substr(0, q);
  request.query = q == std::string::npos ? "" : target.substr(q + 1);
  if (request.method != "GET" && request.method != "HEAD") {
    writeReply(fd, plain(405, "only GET and HEAD are served\n"), true);
    return;
  }
  HttpReply reply;
  try {
    reply = handler_(request);
  } catch (const std::exception& e) {
    reply = plain(500, std::string("internal error: ") + e.what() + "\n");
  } catch (...) {
    reply = plain(500, "internal error\n");
  }
  writeReply(fd, reply, request.method == "GET");
  ::shutdown(fd, SHUT_WR);
}

}  // namespace mlops::server
