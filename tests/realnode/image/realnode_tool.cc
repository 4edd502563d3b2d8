// The one program of the real-node tests' image (tests/realnode/): linked
// statically, it is the image's whole root filesystem, so the image needs no
// base distribution and no registry.
//
//   realnode_tool message <text>   writes <text> to /dev/termination-log, exits 0
//   realnode_tool train            plays a trainer for real: writes the results
//                                  JSON of the trainer contract (DESIGN.md) to
//                                  /dev/termination-log, derived from the
//                                  environment the operator gives the pod
//   realnode_tool serve <port>     HTTP/1.0 on <port>: every request gets
//                                  "served-by <hostname>\n" (the pod's name)
//   realnode_tool connect <ip> <port>
//                                  tries a TCP connection (2 s at most) and
//                                  writes "connected" or the error to
//                                  /dev/termination-log, exits 0
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

int writeTerminationMessage(const std::string& text) {
  FILE* f = std::fopen("/dev/termination-log", "w");
  if (f == nullptr) {
    std::perror("/dev/termination-log");
    return 1;
  }
  std::fputs(text.c_str(), f);
  std::fclose(f);
  std::printf("%s\n", text.c_str());
  return 0;
}

std::string envOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : fallback;
}

// The metrics depend on MLOPS_SEED and the artifact URI is the one the
// operator chose (MLOPS_ARTIFACT_URI), so a test sees that the results came
// from this process in this pod and not from anywhere else.
int train() {
  const long seed = std::strtol(envOr("MLOPS_SEED", "0").c_str(), nullptr, 10);
  char metrics[128];
  std::snprintf(metrics, sizeof metrics, R"({"accuracy":%.3f,"f1":%.3f})",
                0.9 + static_cast<double>(seed % 100) / 1000.0,
                0.85 + static_cast<double>(seed % 100) / 1000.0);
  const std::string results =
      std::string(R"({"metrics":)") + metrics + R"(,"artifact":{"uri":")" +
      envOr("MLOPS_ARTIFACT_URI", "") +
      R"(","digest":"sha256:5d0c1b1f2ad0a5f4f6f0b1d0e3c0a6d1b0f6e2a9c8d7e6f5a4b3c2d1e0f9a8b7"}})";
  return writeTerminationMessage(results);
}

int tryConnect(const std::string& ip, int port) {
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{2, 0};
  setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, ip.c_str(), &addr.sin_addr) != 1) {
    return writeTerminationMessage("bad address " + ip);
  }
  const bool ok = connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  const std::string outcome = ok ? "connected" : std::strerror(errno);
  close(s);
  return writeTerminationMessage(outcome);
}

void onTerm(int /*signal*/) {
  _exit(0);
}

int serve(int port) {
  // As PID 1 of its container the process ignores SIGTERM unless it handles
  // it; exit at once so that deleting a pod takes no grace period.
  signal(SIGTERM, onTerm);
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  const std::string body = std::string("served-by ") + host + "\n";
  const std::string reply = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  if (bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(s, 16) != 0) {
    std::perror("bind/listen");
    return 1;
  }
  std::printf("serving on :%d as %s\n", port, host);
  std::fflush(stdout);
  for (;;) {
    const int c = accept(s, nullptr, nullptr);
    if (c < 0) continue;
    char buf[4096];
    // One read is enough for the small GET requests of the tests and probes.
    (void)read(c, buf, sizeof buf);
    (void)write(c, reply.data(), reply.size());
    close(c);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "message" && argc > 2) return writeTerminationMessage(argv[2]);
  if (mode == "train") return train();
  if (mode == "serve" && argc > 2) return serve(std::atoi(argv[2]));
  if (mode == "connect" && argc > 3) return tryConnect(argv[2], std::atoi(argv[3]));
  std::fprintf(
      stderr, "usage: realnode_tool message <text> | train | serve <port> | connect <ip> <port>\n");
  return 64;
}
