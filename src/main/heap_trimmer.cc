#include "main/heap_trimmer.h"

#include <malloc.h>

namespace mlops {

HeapTrimmer::HeapTrimmer(std::chrono::milliseconds firstAfter, std::chrono::milliseconds every)
    : thread_([this, firstAfter, every] { loop(firstAfter, every); }) {}

HeapTrimmer::~HeapTrimmer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void HeapTrimmer::loop(std::chrono::milliseconds firstAfter, std::chrono::milliseconds every) {
  std::unique_lock lock(mu_);
  auto wait = firstAfter;
  while (!cv_.wait_for(lock, wait, [this] { return stopping_; })) {
    malloc_trim(0);
    wait = every;
  }
}

}  // namespace mlops
