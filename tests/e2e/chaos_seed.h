// The seed of a chaos test: MLOPS_E2E_CHAOS_SEED when set (to replay a
// failure), else a random one; printed either way so a failure can be replayed.
#pragma once

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <random>
#include <string>

namespace mlops::e2e {

// nullopt (and a message in `error`) when the variable is not a number.
inline std::optional<unsigned> chaosSeed(std::string& error) {
  unsigned seed = std::random_device{}();
  if (const char* fixed = std::getenv("MLOPS_E2E_CHAOS_SEED"); fixed != nullptr && *fixed) {
    const std::string text = fixed;
    if (text.size() > 9 ||
        !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      error = "MLOPS_E2E_CHAOS_SEED must be an unsigned decimal number, got " + text;
      return std::nullopt;
    }
    seed = static_cast<unsigned>(std::stoul(text));
  }
  std::cout << "[info] random seed " << seed << " (replay with MLOPS_E2E_CHAOS_SEED=" << seed
            << ")\n";
  return seed;
}

}  // namespace mlops::e2e
