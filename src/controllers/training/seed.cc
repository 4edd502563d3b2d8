#include "controllers/training/seed.h"

#include <limits>
#include <string>

#include "objects/sha256.h"

namespace mlops::training {

using objects::sha256;

int64_t seedFromUID(std::string_view uid) {
  const auto digest = sha256(uid);
  uint64_t u = 0;
  for (int i = 0; i < 8; ++i) {
    u = (u << 8) | digest[static_cast<size_t>(i)];
  }
  return static_cast<int64_t>(u);  // two's complement (guaranteed since C++20)
}

int64_t effectiveSeed(const nlohmann::json& run) {
  const auto* seed = run.contains("spec") && run["spec"].is_object() && run["spec"].contains("seed")
                         ? &run["spec"]["seed"]
                         : nullptr;
  if (seed != nullptr) {
    if (seed->is_number_integer() && !seed->is_number_unsigned()) {
      return seed->get<int64_t>();
    }
    if (seed->is_number_unsigned() &&
        seed->get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return static_cast<int64_t>(seed->get<uint64_t>());
    }
  }
  std::string uid;
  if (run.contains("metadata") && run["metadata"].is_object()) {
    uid = run["metadata"].value("uid", "");
  }
  return seedFromUID(uid);
}

}  // namespace mlops::training
