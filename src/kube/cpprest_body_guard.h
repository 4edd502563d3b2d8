// Ends a reply's body on cpprestsdk's own I/O thread.
//
// Cancelling a request's token makes cpprestsdk close its connection from
// the cancelling thread. While the body flows, cpprestsdk's I/O thread may
// at that moment be starting the next read on the same socket, and Boost.Asio
// sockets are not safe for that: ThreadSanitizer runs of
// RestClientNeverThrowsTest.HugeBodiesAreAbandoned died with a SEGV in
// epoll_reactor::start_op (about 2 runs in 100) and reported the race in 23
// of 60. cpprestsdk calls a request's progress handler on its I/O thread
// after each read of the body and before it starts the next; a handler that
// throws makes cpprestsdk fail the request and close the connection right
// there, with no read in flight. This guard is that handler.
//
// Used by the two cpprestsdk adapters only (rest_client.cc,
// http_query_client.cc); the header includes cpprestsdk.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include <cpprest/http_headers.h>
#include <cpprest/http_msg.h>

namespace mlops::kube {

class BodyGuard {
 public:
  // Installs a guard on `request`: once more than `limit` bytes of the
  // reply's body have arrived, or after abandon(), the next read ends the
  // request with an error (and the connection is not reused).
  static std::shared_ptr<BodyGuard> install(web::http::http_request& request, uint64_t limit);

  explicit BodyGuard(uint64_t limit) : limit_(limit) {}

  // Ends the body at its next read. Safe from any thread; never throws.
  void abandon() noexcept { abandoned_.store(true, std::memory_order_release); }

  // Whether the body was cut short by this guard (over the limit or
  // abandoned): what a reader got of it is then incomplete, however the
  // stream ended.
  bool cut() const noexcept { return cut_.load(std::memory_order_acquire); }

  // The progress handler: throws when the body must end.
  void onProgress(web::http::message_direction::direction direction, uint64_t downloaded);

 private:
  const uint64_t limit_;
  std::atomic<bool> abandoned_{false};
  std::atomic<bool> cut_{false};
};

// What a reader of a bounded body keeps of each read, shared by both
// adapters so that a body over its limit ends the same way in each: through
// the guard (abandon(), never a cancel), and with `truncate` as the first
// `limit` bytes (or what had arrived when the guard cut it), without it as
// kTooLarge with no bytes.
class BoundedBody {
 public:
  enum class Step {
    kRead,      // read on
    kDone,      // bytes() is the body (cut at the limit with `truncate`)
    kTooLarge,  // over the limit without `truncate`; bytes() is empty
  };

  BoundedBody(BodyGuard& guard, std::size_t limit, bool truncate)
      : guard_(guard), limit_(limit), truncate_(truncate) {}

  // Before the first read: a declared Content-Length over the limit ends a
  // body that may not be truncated at once.
  Step start(const web::http::http_headers& headers);
  // After a read that delivered `got` bytes at `data` (0: the stream ended).
  Step afterRead(const uint8_t* data, std::size_t got);
  // In a catch block, after a read that threw: rethrows unless the guard cut
  // the body (then the stream's error is only how the cut showed).
  Step afterFailedRead();

  std::string& bytes() { return bytes_; }

 private:
  Step cut();

  BodyGuard& guard_;
  const std::size_t limit_;
  const bool truncate_;
  std::string bytes_;
};

}  // namespace mlops::kube
