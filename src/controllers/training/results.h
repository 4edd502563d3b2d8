// The results a trainer reports through its termination message.
//
// The results container writes one JSON object to /dev/termination-log:
//   {"metrics":  {"<name>": <number>, ...},                  required
//    "artifact": {"uri": "<non-empty>", "digest": "sha256:…"}, required; digest optional
//    "dataset":  {"digest": "sha256:…"}}                      optional
// Digests are "sha256:" followed by 64 lowercase hex digits. Unknown members
// are ignored, so trainers may report more than the operator reads.
//
// parseResults() returns the results or an Error (code kInvalidArgument)
// whose message says exactly what was wrong, ready for a status message with
// reason InvalidResults:
//   - blank: "no results: the results container wrote nothing to
//     /dev/termination-log";
//   - not JSON: "malformed results: <parser message with line and column>;
//     the termination message begins "<its start>"" (cut at a character
//     boundary, invalid UTF-8 replaced: often a trainer's localized error);
//     at exactly 4096 bytes "... probably truncated ..." (the kubelet keeps
//     at most 4096 bytes of a termination message);
//   - valid JSON that cannot be held, such as a number beyond a double's
//     range (1e400) anywhere in the document, even in an ignored member:
//     "malformed results: valid JSON that cannot be represented (...)";
//   - not an object, no/mistyped "metrics", a metric that is not a number
//     (the key is named), more than kMaxMetrics metrics, no/mistyped
//     "artifact", no "artifact.uri", a digest in the wrong format (the field
//     is named).
// Every message is valid UTF-8 and quotes external text only in short pieces.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace mlops::training {

// The most the kubelet keeps of a termination message.
inline constexpr size_t kTerminationMessageLimit = 4096;

// The most metrics a ModelVersion accepts: spec.metrics maxProperties in
// crds/mlops.dev_modelversions.yaml (a unit test reads the CRD to keep the
// two equal). Results with more fail InvalidResults before a version number
// is reserved, instead of a create the API server refuses on every retry.
inline constexpr size_t kMaxMetrics = 256;

// Text quoted as a JSON string for a message, cut between characters so
// that hostile text cannot flood the status; invalid UTF-8 is replaced.
std::string quotedForMessage(const std::string& s);

struct ArtifactRef {
  std::string uri;
  std::string digest;  // "" when the trainer did not report one
};

struct TrainingResults {
  std::map<std::string, double> metrics;
  ArtifactRef artifact;
  std::optional<std::string> datasetDigest;  // the digest of the data actually read
};

Result<TrainingResults> parseResults(std::string_view terminationMessage);

}  // namespace mlops::training
