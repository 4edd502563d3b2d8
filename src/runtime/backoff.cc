#include "runtime/backoff.h"

#include <algorithm>
#include <random>

namespace mlops::runtime {
namespace {

double defaultRandom() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(gen);
}

}  // namespace

Backoff::Backoff(BackoffPolicy policy, std::function<double()> random)
    : policy_(policy),
      random_(random ? std::move(random) : std::function<double()>(defaultRandom)),
      current_(policy.initial) {}

std::chrono::milliseconds Backoff::next() {
  const auto base = current_;
  const double grown = static_cast<double>(current_.count()) * policy_.factor;
  current_ = std::chrono::milliseconds(
      static_cast<int64_t>(std::min(grown, static_cast<double>(policy_.max.count()))));
  if (policy_.jitter <= 0) {
    return base;
  }
  const double extra = random_() * policy_.jitter * static_cast<double>(base.count());
  return base + std::chrono::milliseconds(static_cast<int64_t>(extra));
}

void Backoff::reset() {
  current_ = policy_.initial;
}

}  // namespace mlops::runtime
