#include "runtime/signals.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>

namespace mlops::runtime {
namespace {

std::atomic<int> signalPipeWrite{-1};
std::atomic<int> signalsSeen{0};
struct sigaction previousTerm;
struct sigaction previousInt;

void onSignalHandler(int sig) {
  if (signalsSeen.fetch_add(1) >= 1) {
    std::_Exit(1);  // second signal: exit now
  }
  const int fd = signalPipeWrite.load();
  if (fd >= 0) {
    const unsigned char b = static_cast<unsigned char>(sig);
    [[maybe_unused]] ssize_t n = write(fd, &b, 1);
  }
}

}  // namespace

SignalWatcher::SignalWatcher(std::function<void(int)> onSignal) : onSignal_(std::move(onSignal)) {
  int signalPipe[2];
  if (pipe2(signalPipe, O_CLOEXEC) != 0 || pipe2(stopPipe_, O_CLOEXEC) != 0) {
    return;
  }
  signalPipeWrite = signalPipe[1];
  signalsSeen = 0;
  struct sigaction sa {};
  sa.sa_handler = onSignalHandler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &sa, &previousTerm);
  sigaction(SIGINT, &sa, &previousInt);
  const int readFd = signalPipe[0];
  const int writeFd = signalPipe[1];
  const int stopFd = stopPipe_[0];
  thread_ = std::thread([this, readFd, writeFd, stopFd] {
    pollfd fds[2] = {{readFd, POLLIN, 0}, {stopFd, POLLIN, 0}};
    while (true) {
      if (poll(fds, 2, -1) < 0) {
        continue;
      }
      if (fds[1].revents != 0) {
        break;
      }
      if (fds[0].revents & POLLIN) {
        unsigned char sig = 0;
        if (read(readFd, &sig, 1) == 1 && onSignal_) {
          onSignal_(sig);
        }
      }
    }
    signalPipeWrite = -1;
    close(readFd);
    close(writeFd);
  });
}

SignalWatcher::~SignalWatcher() {
  if (thread_.joinable()) {
    sigaction(SIGTERM, &previousTerm, nullptr);
    sigaction(SIGINT, &previousInt, nullptr);
    const unsigned char b = 0;
    [[maybe_unused]] ssize_t n = write(stopPipe_[1], &b, 1);
    thread_.join();
  }
  for (int fd : stopPipe_) {
    if (fd >= 0) {
      close(fd);
    }
  }
}

}  // namespace mlops::runtime
