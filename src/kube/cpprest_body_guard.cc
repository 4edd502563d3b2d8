#include "kube/cpprest_body_guard.h"

#include <stdexcept>

namespace mlops::kube {

std::shared_ptr<BodyGuard> BodyGuard::install(web::http::http_request& request, uint64_t limit) {
  auto guard = std::make_shared<BodyGuard>(limit);
  // The request keeps the handler, and so the guard, as long as cpprestsdk
  // works on it.
  request.set_progress_handler([guard](web::http::message_direction::direction direction,
                                       uint64_t bytes) { guard->onProgress(direction, bytes); });
  return guard;
}

void BodyGuard::onProgress(web::http::message_direction::direction direction, uint64_t downloaded) {
  if (direction != web::http::message_direction::download) {
    return;
  }
  if (downloaded > limit_ || abandoned_.load(std::memory_order_acquire)) {
    cut_.store(true, std::memory_order_release);
    // cpprestsdk catches this on its I/O thread and fails the request.
    throw std::runtime_error("reply body abandoned by the client");
  }
}

BoundedBody::Step BoundedBody::start(const web::http::http_headers& headers) {
  uint64_t declared = 0;
  if (!truncate_ && headers.match(web::http::header_names::content_length, declared) &&
      declared > limit_) {
    guard_.abandon();
    return Step::kTooLarge;
  }
  return Step::kRead;
}

BoundedBody::Step BoundedBody::afterRead(const uint8_t* data, std::size_t got) {
  if (guard_.cut()) {  // however the stream ended, the body is incomplete
    return cut();
  }
  if (got == 0) {
    return Step::kDone;
  }
  if (bytes_.size() + got > limit_) {
    guard_.abandon();
    if (!truncate_) {
      bytes_.clear();
      return Step::kTooLarge;
    }
    bytes_.append(reinterpret_cast<const char*>(data), limit_ - bytes_.size());
    return Step::kDone;
  }
  bytes_.append(reinterpret_cast<const char*>(data), got);
  return Step::kRead;
}

BoundedBody::Step BoundedBody::afterFailedRead() {
  if (!guard_.cut()) {
    throw;  // NOLINT(hicpp-exception-baseclass): rethrows the read's own error
  }
  return cut();
}

BoundedBody::Step BoundedBody::cut() {
  if (!truncate_) {
    bytes_.clear();
    return Step::kTooLarge;
  }
  return Step::kDone;
}

}  // namespace mlops::kube
