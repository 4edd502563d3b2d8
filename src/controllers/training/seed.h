// The effective seed of a TrainingRun.
//
// spec.seed when it is given. Otherwise it is derived from the run's UID so it
// is known before the Job exists and never changes:
//
//   d    = SHA-256 of the UID exactly as the API server returned it in
//          metadata.uid (its ASCII text, e.g. "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
//          no trimming or case folding)
//   u    = d[0..7] read as a big-endian unsigned 64-bit integer
//   seed = u reinterpreted as a two's-complement int64 (so it may be negative)
//
// Trainers receive it in decimal as MLOPS_SEED; the example trainer shows how
// to map a signed 64-bit seed onto libraries that want a smaller range.
#pragma once

#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

namespace mlops::training {

int64_t seedFromUID(std::string_view uid);

// spec.seed when it is an integer that fits in int64; otherwise
// seedFromUID(metadata.uid). (The schema makes spec.seed an int64, so the
// fallback for a mistyped value only guards against hand-made objects.)
int64_t effectiveSeed(const nlohmann::json& run);

}  // namespace mlops::training
