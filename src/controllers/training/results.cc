#include "controllers/training/results.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "core/utf8.h"
#include "objects/sha256.h"

namespace mlops::training {

using objects::isSha256Digest;

namespace {

using Json = nlohmann::json;

Error invalid(std::string message) {
  return makeError(ErrorCode::kInvalidArgument, std::move(message));
}

std::string describe(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
      return "a number";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::array:
      return "an array";
    case Json::value_t::object:
      return "an object";
    default:
      return "an unsupported value";
  }
}

bool isBlank(std::string_view s) {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// nlohmann's what() starts with "[json.exception.parse_error.101] ". The
// rest quotes the bytes last read, which may be part of a multi-byte
// character (a trainer's localized error text): repaired so that the message
// can be written to the status.
std::string parserMessage(const Json::exception& e) {
  std::string what = e.what();
  if (const size_t end = what.find("] ");
      what.rfind("[json.exception.", 0) == 0 && end != std::string::npos) {
    what.erase(0, end + 2);
  }
  return truncateUtf8(what, 256);
}

// The start of a termination message that is not JSON, quoted: usually the
// trainer's own error text, which says more than the parser does.
std::string beginning(std::string_view message) {
  constexpr size_t kMax = 200;
  return Json(truncateUtf8(message, kMax)).dump(-1, ' ', false, Json::error_handler_t::replace);
}

Status checkDigest(const Json& holder, const char* field, const std::string& path) {
  if (!holder.contains(field)) {
    return okStatus();
  }
  const Json& d = holder[field];
  if (!d.is_string()) {
    return invalid("results \"" + path +
                   "\" must be a string \"sha256:\" followed by 64 lowercase hex digits, got " +
                   describe(d));
  }
  if (!isSha256Digest(d.get<std::string>())) {
    return invalid("results \"" + path +
                   "\" must be \"sha256:\" followed by 64 lowercase hex digits, got " +
                   quotedForMessage(d.get<std::string>()));
  }
  return okStatus();
}

}  // namespace

std::string quotedForMessage(const std::string& s) {
  constexpr size_t kMax = 80;
  return Json(truncateUtf8(s, kMax)).dump(-1, ' ', false, Json::error_handler_t::replace);
}

Result<TrainingResults> parseResults(std::string_view message) {
  if (isBlank(message)) {
    return invalid("no results: the results container wrote nothing to /dev/termination-log");
  }
  Json doc;
  try {
    doc = Json::parse(message.begin(), message.end());
  } catch (const Json::parse_error& e) {
    if (message.size() == kTerminationMessageLimit) {
      return invalid("malformed results, probably truncated: the termination message is exactly " +
                     std::to_string(kTerminationMessageLimit) +
                     " bytes, the most the kubelet keeps, and is not valid JSON (" +
                     parserMessage(e) + "); keep the results JSON under " +
                     std::to_string(kTerminationMessageLimit) + " bytes");
    }
    return invalid("malformed results: not valid JSON (" + parserMessage(e) +
                   "); the termination message begins " + beginning(message));
  } catch (const Json::exception& e) {
    // Valid JSON text that nlohmann cannot hold, such as a number beyond a
    // double's range (1e400) anywhere in the document (out_of_range.406).
    return invalid("malformed results: valid JSON that cannot be represented (" + parserMessage(e) +
                   "); numbers must fit in a double (at most about 1.8e308)");
  }

  if (!doc.is_object()) {
    return invalid("results must be a JSON object, got " + describe(doc));
  }

  TrainingResults results;
  if (!doc.contains("metrics")) {
    return invalid("results lack \"metrics\" (an object of metric name to number)");
  }
  const Json& metrics = doc["metrics"];
  if (!metrics.is_object()) {
    return invalid("results \"metrics\" must be an object of metric name to number, got " +
                   describe(metrics));
  }
  for (auto it = metrics.begin(); it != metrics.end(); ++it) {
    if (!it.value().is_number()) {
      return invalid("results metric " + quotedForMessage(it.key()) + " must be a number, got " +
                     describe(it.value()));
    }
    const double v = it.value().get<double>();
    if (!std::isfinite(v)) {
      return invalid("results metric " + quotedForMessage(it.key()) + " must be a finite number");
    }
    results.metrics[it.key()] = v;
  }
  if (results.metrics.size() > kMaxMetrics) {
    return invalid("results report " + std::to_string(results.metrics.size()) +
                   " metrics; a ModelVersion holds at most " + std::to_string(kMaxMetrics) +
                   " (spec.metrics maxProperties), so report fewer");
  }

  if (!doc.contains("artifact")) {
    return invalid("results lack \"artifact\" (an object with \"uri\" and optionally \"digest\")");
  }
  const Json& artifact = doc["artifact"];
  if (!artifact.is_object()) {
    return invalid("results \"artifact\" must be an object, got " + describe(artifact));
  }
  if (!artifact.contains("uri")) {
    return invalid("results \"artifact\" lacks \"uri\"");
  }
  if (!artifact["uri"].is_string() || artifact["uri"].get<std::string>().empty()) {
    return invalid("results \"artifact.uri\" must be a non-empty string, got " +
                   (artifact["uri"].is_string() ? std::string("\"\"") : describe(artifact["uri"])));
  }
  results.artifact.uri = artifact["uri"].get<std::string>();
  if (auto st = checkDigest(artifact, "digest", "artifact.digest"); !st) {
    return st.error();
  }
  if (artifact.contains("digest")) {
    results.artifact.digest = artifact["digest"].get<std::string>();
  }

  if (doc.contains("dataset")) {
    const Json& dataset = doc["dataset"];
    if (!dataset.is_object()) {
      return invalid("results \"dataset\" must be an object, got " + describe(dataset));
    }
    if (auto st = checkDigest(dataset, "digest", "dataset.digest"); !st) {
      return st.error();
    }
    if (dataset.contains("digest")) {
      results.datasetDigest = dataset["digest"].get<std::string>();
    }
  }
  return results;
}

}  // namespace mlops::training
