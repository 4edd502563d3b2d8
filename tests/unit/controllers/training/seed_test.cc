#include "controllers/training/seed.h"

#include <limits>

#include <gtest/gtest.h>

#include "objects/sha256.h"

namespace mlops::training {

using objects::sha256;

namespace {

using Json = nlohmann::json;

// Expected values: int.from_bytes(sha256(uid)[:8], "big", signed=True) in Python.
TEST(SeedFromUID, IsTheFirstEightDigestBytesBigEndianAsInt64) {
  const std::pair<const char*, int64_t> cases[] = {
      {"1b4e28ba-2fa1-11d2-883f-0016d3cca427", -1917938550249288296},  // e5621d0cdb5d0d98
      {"d7a9c1e0-5a4b-4c61-9f2e-0b8f3a6e1c42", 3214496923303763183},   // 2c9c2febad1b5cef
      {"abc", -5010229573455851542},                                   // ba7816bf8f01cfea
      {"", -2039914840885289964},                                      // e3b0c44298fc1c14
  };
  for (const auto& [uid, seed] : cases) EXPECT_EQ(seedFromUID(uid), seed) << uid;
}

TEST(EffectiveSeed, PrefersSpecSeedElseDerivesFromUID) {
  const char* uid = "d7a9c1e0-5a4b-4c61-9f2e-0b8f3a6e1c42";
  const std::pair<Json, int64_t> cases[] = {
      {Json{{"metadata", {{"uid", uid}}}, {"spec", {{"seed", 42}}}}, 42},
      {Json{{"metadata", {{"uid", uid}}}, {"spec", {{"seed", 0}}}}, 0},
      {Json{{"metadata", {{"uid", uid}}}, {"spec", {{"seed", -7}}}}, -7},
      {Json{{"metadata", {{"uid", uid}}},
            {"spec", {{"seed", std::numeric_limits<int64_t>::max()}}}},
       std::numeric_limits<int64_t>::max()},
      {Json::parse(
           R"({"metadata":{"uid":"d7a9c1e0-5a4b-4c61-9f2e-0b8f3a6e1c42"},"spec":{"seed":9223372036854775807}})"),
       std::numeric_limits<int64_t>::max()},  // parsed as unsigned
      {Json{{"metadata", {{"uid", uid}}}, {"spec", {{"model", "m"}}}}, 3214496923303763183},
      {Json{{"metadata", {{"uid", uid}}}, {"spec", {{"seed", "42"}}}},
       3214496923303763183},  // mistyped
      {Json{{"metadata", {{"uid", uid}}}, {"spec", {{"seed", 1.5}}}}, 3214496923303763183},
      {Json::parse(
           R"({"metadata":{"uid":"d7a9c1e0-5a4b-4c61-9f2e-0b8f3a6e1c42"},"spec":{"seed":18446744073709551615}})"),
       3214496923303763183},  // beyond int64
  };
  for (const auto& [run, seed] : cases) EXPECT_EQ(effectiveSeed(run), seed) << run.dump();
}

TEST(EffectiveSeed, IsStableAcrossCalls) {
  const Json run{{"metadata", {{"uid", "run-uid-1"}}}, {"spec", Json::object()}};
  EXPECT_EQ(effectiveSeed(run), effectiveSeed(run));
  EXPECT_EQ(effectiveSeed(run), 5629722335171234379);
}

}  // namespace
}  // namespace mlops::training
