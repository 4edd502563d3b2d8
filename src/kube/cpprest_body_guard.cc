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

}  // namespace mlops::kube
