// Gives the heap's free pages back to the kernel now and then.
//
// glibc keeps memory a process freed for reuse; after a burst (thousands of
// watch events, a relist, the decoding of every cached object for a scrape)
// those pages stay resident until malloc happens to reuse them. Go's runtime
// returns them by itself (its scavenger); glibc does so only when asked
// (malloc_trim). Measured at idle before the system CA bundle was loaded
// once (system_trust.h): 23.6 → 22.6 MiB resident; after it the gain at idle
// is small, and the trim matters after a workload's peak.
//
// A thread of the process, not a leader-only Runnable: a standby replica's
// caches churn as much as the leader's.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace mlops {

class HeapTrimmer {
 public:
  // Trims once at `firstAfter` (start-up's garbage is gone by then) and then
  // every `every`.
  HeapTrimmer(std::chrono::milliseconds firstAfter, std::chrono::milliseconds every);
  ~HeapTrimmer();  // stops and joins the thread
  HeapTrimmer(const HeapTrimmer&) = delete;
  HeapTrimmer& operator=(const HeapTrimmer&) = delete;

 private:
  void loop(std::chrono::milliseconds firstAfter, std::chrono::milliseconds every);

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace mlops
