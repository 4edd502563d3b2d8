#include "runtime/compact_json.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <random>
#include <string>

#include <gtest/gtest.h>

namespace mlops::runtime {
namespace {

using Json = nlohmann::json;

// Equal as values, and of the same JSON type (a float stays a float, a
// negative integer a signed one, a non-negative one unsigned as CBOR did).
void expectRoundTrip(const Json& value, KeyTable& keys) {
  const std::string bytes = encodeCompact(value, keys);
  std::optional<Json> back = decodeCompact(bytes, keys);
  ASSERT_TRUE(back.has_value()) << value.dump();
  EXPECT_EQ(*back, value) << value.dump();
  EXPECT_EQ(back->dump(), value.dump());
}

TEST(CompactJsonTest, RoundTripsEveryKindOfValue) {
  KeyTable keys;
  const Json values[] = {
      nullptr,
      true,
      false,
      0u,
      127u,
      128u,
      std::numeric_limits<std::uint64_t>::max(),
      -1,
      std::numeric_limits<std::int64_t>::min(),
      0.5,
      0.94,
      -0.0,
      1e300,
      std::numeric_limits<double>::denorm_min(),
      3.4028235e38,
      "",
      std::string(300, 'x'),
      std::string("a\0b", 3),
      "gr\xc3\xbc\xc3\x9f dich",
      Json::array(),
      Json::object(),
      Json::array({1, "two", 3.5, nullptr, Json::array({Json::object()})}),
      Json::binary({1, 2, 3}),
      {{"metadata", {{"name", "x"}, {"labels", {{"mlops.dev/model", "churn"}}}}},
       {"spec", {{"replicas", 3}}},
       {"", "empty key"},
       {std::string(100, 'k'), "a key too long to number"}},
  };
  for (const Json& v : values) {
    expectRoundTrip(v, keys);
  }
  // Types, as read back.
  EXPECT_TRUE(decodeCompact(encodeCompact(Json(5u), keys), keys)->is_number_unsigned());
  EXPECT_TRUE(decodeCompact(encodeCompact(Json(-5), keys), keys)->is_number_integer());
  EXPECT_TRUE(decodeCompact(encodeCompact(Json(5.0), keys), keys)->is_number_float());
  EXPECT_TRUE(std::signbit(decodeCompact(encodeCompact(Json(-0.0), keys), keys)->get<double>()));
}

Json randomValue(std::mt19937& rng, int depth) {
  std::uniform_int_distribution<int> kind(0, depth > 4 ? 6 : 8);
  auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  auto text = [&]() {
    std::string s(static_cast<std::size_t>(pick(3) == 0 ? pick(200) : pick(12)), ' ');
    for (char& c : s) {
      c = static_cast<char>(pick(3) == 0 ? pick(256) : 'a' + pick(6));
    }
    return s;
  };
  switch (kind(rng)) {
    case 0:
      return nullptr;
    case 1:
      return pick(2) == 0;
    case 2:
      return static_cast<std::uint64_t>(rng()) << static_cast<unsigned>(pick(40));
    case 3:
      return -static_cast<std::int64_t>(static_cast<std::uint64_t>(rng()) << pick(31)) - 1;
    case 4:
      return std::uniform_real_distribution<double>(-1e6, 1e6)(rng) * (pick(2) == 0 ? 1 : 1e-300);
    case 5:
      return pick(2) == 0 ? static_cast<double>(pick(1000)) / 8 : 0.1 * pick(100);
    case 6:
      return text();
    case 7: {
      Json a = Json::array();
      for (int i = pick(6); i > 0; --i) {
        a.push_back(randomValue(rng, depth + 1));
      }
      return a;
    }
    default: {
      Json o = Json::object();
      for (int i = pick(8); i > 0; --i) {
        // Keys from a small vocabulary repeat (numbered); some are random.
        o[pick(4) == 0 ? text() : "key" + std::to_string(pick(30))] = randomValue(rng, depth + 1);
      }
      return o;
    }
  }
}

unsigned seedFromEnvironment() {
  const char* env = std::getenv("MLOPS_TEST_SEED");
  const unsigned seed = env != nullptr ? static_cast<unsigned>(std::strtoul(env, nullptr, 10))
                                       : std::random_device{}();
  std::cout << "seed " << seed << " (set MLOPS_TEST_SEED to replay)\n";
  return seed;
}

TEST(CompactJsonTest, RandomValuesRoundTripWithOneSharedTable) {
  std::mt19937 rng(seedFromEnvironment());
  KeyTable keys;
  std::vector<std::pair<Json, std::string>> stored;
  for (int i = 0; i < 2000; ++i) {
    Json v = randomValue(rng, 0);
    std::string bytes = encodeCompact(v, keys);
    stored.emplace_back(std::move(v), std::move(bytes));
  }
  // Encodings made early still decode after the table grew.
  for (const auto& [value, bytes] : stored) {
    std::optional<Json> back = decodeCompact(bytes, keys);
    ASSERT_TRUE(back.has_value()) << value.dump();
    ASSERT_EQ(*back, value) << value.dump();
  }
}

TEST(CompactJsonTest, KeysBeyondTheTablesRoomAreWrittenInline) {
  KeyTable keys(3);
  Json obj = Json::object();
  for (int i = 0; i < 10; ++i) {
    obj["key-" + std::to_string(i)] = i;
  }
  obj[std::string(KeyTable::kMaxKeyLength + 1, 'k')] = "long";
  expectRoundTrip(obj, keys);
  EXPECT_EQ(keys.size(), 3u);
  KeyTable roomy;
  expectRoundTrip(obj, roomy);
  EXPECT_EQ(roomy.size(), 10u) << "a key longer than kMaxKeyLength is never numbered";
  // Numbered keys make a second object of the same shape small.
  const std::size_t first = encodeCompact(obj, roomy).size();
  EXPECT_LT(first, encodeCompact(obj, keys).size());
}

TEST(CompactJsonTest, BytesThatAreNotAnEncodingDecodeToNothing) {
  KeyTable keys;
  const Json obj = {{"metadata", {{"name", "x"}, {"uid", "1234"}}},
                    {"list", {1, -2, 3.25, "four", nullptr, true}}};
  const std::string bytes = encodeCompact(obj, keys);
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(decodeCompact(bytes.substr(0, n), keys).has_value()) << "cut at " << n;
  }
  EXPECT_FALSE(decodeCompact(bytes + '\0', keys).has_value()) << "trailing bytes";
  KeyTable empty;
  EXPECT_FALSE(decodeCompact(bytes, empty).has_value()) << "key numbers the table lacks";
  EXPECT_FALSE(decodeCompact(std::string("\x0b"), keys).has_value()) << "an unknown tag";
  EXPECT_FALSE(decodeCompact(std::string(11, '\xff'), keys).has_value()) << "an endless varint";
  // A count far beyond the input must not make the decoder reserve it.
  EXPECT_FALSE(decodeCompact(std::string("\x08\xff\xff\xff\xff\x0f", 6), keys).has_value());
  // Any single byte changed: a value or nothing, never a crash or a throw.
  std::mt19937 rng(7);
  for (int i = 0; i < 5000; ++i) {
    std::string mutated = bytes;
    mutated[rng() % mutated.size()] = static_cast<char>(rng());
    EXPECT_NO_THROW(decodeCompact(mutated, keys));
  }
}

// What numbering the keys saves on an object like those the cache holds: a
// TrainingRun as it settles (status, four conditions).
TEST(CompactJsonTest, FigureBytesOfASettledTrainingRun) {
  auto run = [](int i) {
    const std::string name = "run-" + std::to_string(1000 + i);
    Json conditions = Json::array();
    for (const char* type : {"Ready", "JobComplete", "Validated", "Registered"}) {
      conditions.push_back({{"type", type},
                            {"status", "True"},
                            {"reason", std::string("Reason") + type},
                            {"message", "the run's " + std::string(type) + " condition"},
                            {"lastTransitionTime", "2026-12-01T12:00:09Z"},
                            {"observedGeneration", 1}});
    }
    return Json{
        {"apiVersion", "mlops.dev/v1alpha1"},
        {"kind", "TrainingRun"},
        {"metadata",
         {{"name", name},
          {"namespace", "team-a"},
          {"uid", "5f1c8a2e-3b4d-4c1e-9a7f-0d2e4b6c" + std::to_string(1000 + i)},
          {"resourceVersion", std::to_string(123456 + i)},
          {"generation", 1},
          {"creationTimestamp", "2026-12-01T12:00:00Z"},
          {"labels", {{"mlops.dev/model", "churn"}}}}},
        {"spec",
         {{"model", "churn"},
          {"image", "registry.local/trainer:1.0"},
          {"dataset", {{"uri", "s3://data/churn"}, {"digest", "sha256:" + std::string(64, 'a')}}},
          {"hyperparameters", {{"learning_rate", 0.01}, {"epochs", 3}}},
          {"seed", 42}}},
        {"status",
         {{"phase", "Succeeded"},
          {"jobName", name},
          {"startTime", "2026-12-01T12:00:01Z"},
          {"completionTime", "2026-12-01T12:00:09Z"},
          {"attempts", 1},
          {"seed", 42},
          {"fingerprint", "sha256:" + std::string(64, 'b')},
          {"metrics", {{"accuracy", 0.94}}},
          {"artifact",
           {{"uri", "s3://models/churn/" + name}, {"digest", "sha256:" + std::string(64, 'd')}}},
          {"modelVersion", "churn-v12"},
          {"version", 12},
          {"conditions", conditions},
          {"observedGeneration", 1}}}};
  };
  KeyTable keys;
  constexpr int kRuns = 100;
  std::size_t compact = 0;
  std::size_t cbor = 0;
  for (int i = 0; i < kRuns; ++i) {
    const Json r = run(i);
    compact += encodeCompact(r, keys).size();
    cbor += Json::to_cbor(r).size();
  }
  std::cout << "[figure] a settled TrainingRun: " << cbor / kRuns << " bytes as CBOR, "
            << compact / kRuns << " with its keys numbered (+ a " << keys.bytes()
            << "-byte table for all " << kRuns << ")\n";
  // The keys were about a third of the CBOR encoding.
  EXPECT_LT(compact * 4, cbor * 3);
}

}  // namespace
}  // namespace mlops::runtime
