// The trainer results parser (controllers/training/results.h) on arbitrary
// termination messages.
//
// Properties:
//   - parseResults never throws or crashes, whatever the bytes;
//   - an error is kInvalidArgument with a non-empty message at most 1 KiB
//     longer than the input (it goes into a status condition);
//   - accepted results satisfy the documented contract: finite metrics, a
//     non-empty artifact URI, digests in "sha256:<64 lowercase hex>" form;
//   - accepted results survive a round trip: writing them back as JSON and
//     parsing again gives the same results.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "controllers/training/results.h"
#include "fuzz/fuzz_check.h"
#include "objects/sha256.h"

namespace {

using mlops::training::TrainingResults;

nlohmann::json toJson(const TrainingResults& r) {
  nlohmann::json doc;
  doc["metrics"] = nlohmann::json::object();
  for (const auto& [name, value] : r.metrics) {
    doc["metrics"][name] = value;
  }
  doc["artifact"] = {{"uri", r.artifact.uri}};
  if (!r.artifact.digest.empty()) {
    doc["artifact"]["digest"] = r.artifact.digest;
  }
  if (r.datasetDigest) {
    doc["dataset"] = {{"digest", *r.datasetDigest}};
  }
  return doc;
}

bool same(const TrainingResults& a, const TrainingResults& b) {
  return a.metrics == b.metrics && a.artifact.uri == b.artifact.uri &&
         a.artifact.digest == b.artifact.digest && a.datasetDigest == b.datasetDigest;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view message(reinterpret_cast<const char*>(data), size);
  auto results = mlops::training::parseResults(message);
  if (!results.ok()) {
    FUZZ_CHECK(results.error().code == mlops::ErrorCode::kInvalidArgument,
               results.error().toString());
    FUZZ_CHECK(!results.error().message.empty(), "empty error message");
    // Quoted keys and values are cut to 80 bytes, but nlohmann's parse error
    // quotes the last token read, which may be most of the input, and a
    // non-JSON message quotes the trainer's own text, where a control byte is
    // escaped as \u0000 (6 bytes) and an invalid one becomes U+FFFD (3). So
    // the bound is on amplification: the message grows at most linearly with
    // the input.
    FUZZ_CHECK(results.error().message.size() <= 8 * size + 1024,
               results.error().message.substr(0, 200));
    return 0;
  }
  for (const auto& [name, value] : results->metrics) {
    FUZZ_CHECK(std::isfinite(value), name);
  }
  FUZZ_CHECK(!results->artifact.uri.empty(), "empty artifact uri accepted");
  FUZZ_CHECK(
      results->artifact.digest.empty() || mlops::objects::isSha256Digest(results->artifact.digest),
      results->artifact.digest);
  FUZZ_CHECK(!results->datasetDigest || mlops::objects::isSha256Digest(*results->datasetDigest),
             *results->datasetDigest);

  // dump() throws on invalid UTF-8; accepted strings came through nlohmann's
  // validating parser, so a throw here would be a finding (libFuzzer reports
  // an uncaught exception as a crash).
  const std::string again = toJson(*results).dump();
  auto reparsed = mlops::training::parseResults(again);
  FUZZ_CHECK(reparsed.ok(), again + " -> " + reparsed.error().toString());
  FUZZ_CHECK(same(*results, *reparsed), again);
  return 0;
}
