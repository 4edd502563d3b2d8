#include "server/stop_listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace mlops::server {
namespace {

void pokeLoopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  (void)connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  close(fd);
}

}  // namespace

void stopWithWakeups(int port, const std::function<void()>& stop) {
  if (port <= 0) {
    stop();
    return;
  }
  std::atomic<bool> done{false};
  std::thread waker([&] {
    while (!done) {
      pokeLoopback(port);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  stop();
  done = true;
  waker.join();
}

}  // namespace mlops::server
