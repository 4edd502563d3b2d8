#include "operator_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace mlops::e2e {

std::string operatorBinary() {
  return MLOPS_OPERATOR_BINARY;
}

OperatorProcess::OperatorProcess(const std::vector<std::string>& args,
                                 const std::map<std::string, std::string>& extraEnv) {
  char tmpl[] = "/tmp/mlops-e2e-XXXXXX";
  int fd = mkstemp(tmpl);
  logPath_ = tmpl;
  pid_ = fork();
  if (pid_ == 0) {
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
    // Start from a clean slate: the operator reads MLOPS_* and KUBECONFIG.
    unsetenv("KUBECONFIG");
    for (const auto& [k, v] : extraEnv) setenv(k.c_str(), v.c_str(), 1);
    std::vector<std::string> argvStore;
    argvStore.push_back(operatorBinary());
    argvStore.insert(argvStore.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argvStore) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(fd);
}

OperatorProcess::~OperatorProcess() {
  if (running()) {
    kill(pid_, SIGKILL);
    waitExit(std::chrono::seconds(5));
  }
  unlink(logPath_.c_str());
}

bool OperatorProcess::running() {
  if (exitCode_) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == 0) return true;
  if (r == pid_) {
    exitCode_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  return false;
}

void OperatorProcess::signal(int sig) {
  if (running()) kill(pid_, sig);
}

std::optional<int> OperatorProcess::waitExit(std::chrono::milliseconds timeout) {
  eventually(timeout, [&] { return !running(); });
  return exitCode_;
}

std::string OperatorProcess::output() const {
  std::ifstream in(logPath_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::optional<long> OperatorProcess::statusField(const std::string& name) const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  const std::string prefix = name + ":";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) return std::strtol(line.c_str() + prefix.size(), nullptr, 10);
  }
  return std::nullopt;
}

std::optional<HttpReply> httpGet(int port, const std::string& path, const std::string& host) {
  const bool v6 = host.find(':') != std::string::npos;
  int s = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
  if (s < 0) return std::nullopt;
  timeval tv{2, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_storage storage{};
  socklen_t length = 0;
  if (v6) {
    auto* addr = reinterpret_cast<sockaddr_in6*>(&storage);
    addr->sin6_family = AF_INET6;
    addr->sin6_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET6, host.c_str(), &addr->sin6_addr);
    length = sizeof *addr;
  } else {
    auto* addr = reinterpret_cast<sockaddr_in*>(&storage);
    addr->sin_family = AF_INET;
    addr->sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, host.c_str(), &addr->sin_addr);
    length = sizeof *addr;
  }
  if (connect(s, reinterpret_cast<sockaddr*>(&storage), length) != 0) {
    close(s);
    return std::nullopt;
  }
  std::string req =
      "GET " + path + " HTTP/1.0\r\nHost: " + (v6 ? "[" + host + "]" : host) + "\r\n\r\n";
  if (send(s, req.data(), req.size(), 0) < 0) {
    close(s);
    return std::nullopt;
  }
  std::string raw;
  char buf[4096];
  ssize_t n;
  while ((n = recv(s, buf, sizeof buf, 0)) > 0) raw.append(buf, static_cast<size_t>(n));
  close(s);
  if (raw.rfind("HTTP/", 0) != 0) return std::nullopt;
  HttpReply reply;
  reply.status = std::atoi(raw.c_str() + raw.find(' ') + 1);
  auto split = raw.find("\r\n\r\n");
  if (split != std::string::npos) reply.body = raw.substr(split + 4);
  return reply;
}

int freePort() {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  close(s);
  return port;
}

}  // namespace mlops::e2e
