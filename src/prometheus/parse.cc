#include "prometheus/parse.h"

#include <charconv>
#include <cmath>
#include <exception>
#include <limits>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/utf8.h"

namespace mlops::prometheus {
namespace {

using Json = nlohmann::json;

// How much of a body that is not a Prometheus reply is quoted in an error:
// enough to recognise an HTML login page or a proxy's message.
constexpr std::size_t kQuotedBodyBytes = 120;

bool isSuccessStatus(int httpStatus) {
  return httpStatus >= 200 && httpStatus <= 299;
}

Error errorWithStatus(ErrorCode code, std::string_view message, int httpStatus) {
  Error e = makeError(code, cutMessage(message));
  e.httpStatus = httpStatus;
  return e;
}

// A reply that is not the Prometheus API's (a proxy's error page, a load
// balancer's 502): the status decides the code, the body is quoted.
Error httpError(int httpStatus, std::string_view body) {
  ErrorCode code = ErrorCode::kInternal;
  if (httpStatus == 408 || httpStatus == 504) {
    code = ErrorCode::kTimeout;
  } else if (httpStatus == 429 || httpStatus >= 500) {
    code = ErrorCode::kUnavailable;
  } else if (httpStatus == 401) {
    code = ErrorCode::kUnauthorized;
  } else if (httpStatus == 403) {
    code = ErrorCode::kForbidden;
  }
  std::string message = "Prometheus answered HTTP " + std::to_string(httpStatus);
  if (!body.empty()) {
    message += ": " + cutMessage(body, kQuotedBodyBytes);
  }
  return errorWithStatus(code, message, httpStatus);
}

ErrorCode codeOfErrorType(std::string_view errorType, int httpStatus) {
  if (errorType == "bad_data") {
    return ErrorCode::kInvalidArgument;
  }
  if (errorType == "timeout") {
    return ErrorCode::kTimeout;
  }
  if (errorType == "unavailable" || httpStatus >= 500) {
    return ErrorCode::kUnavailable;
  }
  return ErrorCode::kInternal;
}

// {"status": "error", "errorType": ..., "error": ...}. Members of the wrong
// type read as absent: the reply already says it failed, and its message is
// worth more than a complaint about its shape.
Error prometheusError(const Json& reply, int httpStatus) {
  const auto text = [&reply](const char* key) -> std::string {
    const auto it = reply.find(key);
    return it != reply.end() && it->is_string() ? it->get<std::string>() : "";
  };
  const std::string errorType = text("errorType");
  const std::string error = text("error");
  std::string message;
  if (!errorType.empty() && !error.empty()) {
    message = errorType + ": " + error;
  } else if (!errorType.empty() || !error.empty()) {
    message = errorType + error;
  } else {
    message =
        "Prometheus reported an error without a message (HTTP " + std::to_string(httpStatus) + ")";
  }
  Error e = errorWithStatus(codeOfErrorType(errorType, httpStatus), message, httpStatus);
  e.reason = cutMessage(errorType, 64);
  return e;
}

// The shape checks below return a description of the first problem found, or
// nullopt; `where` is the JSON path of the value checked.
using Problem = std::optional<std::string>;

// [<unix time>, "<value>"]: the pair every sample is written as.
Problem readSamplePair(const Json& pair, const std::string& where, std::string& valueText) {
  if (!pair.is_array() || pair.size() != 2) {
    return where + " is not a [time, value] pair";
  }
  if (!pair[0].is_number()) {
    return where + "[0] (the sample time) is not a number";
  }
  if (!pair[1].is_string()) {
    return where + "[1] (the sample value) is not a string";
  }
  valueText = pair[1].get<std::string>();
  return std::nullopt;
}

Problem readSample(const Json& pair, const std::string& where, double& value) {
  std::string text;
  if (Problem p = readSamplePair(pair, where, text)) {
    return p;
  }
  if (!parseSampleValue(text, value)) {
    return where + "[1] \"" + cutMessage(text, 40) + "\" is not a sample value";
  }
  return std::nullopt;
}

Problem readLabels(const Json& series, const std::string& where,
                   std::map<std::string, std::string>& labels) {
  const auto metric = series.find("metric");
  if (metric == series.end()) {
    return std::nullopt;  // an empty label set may be left out
  }
  if (!metric->is_object()) {
    return where + ".metric is not an object";
  }
  for (const auto& [name, value] : metric->items()) {
    if (!value.is_string()) {
      return where + ".metric[\"" + cutMessage(name, 40) + "\"] is not a string";
    }
    labels.emplace(name, value.get<std::string>());
  }
  return std::nullopt;
}

Problem readVector(const Json& result, QueryResult& out) {
  if (!result.is_array()) {
    return std::string("data.result of a vector is not an array");
  }
  out.series.reserve(result.size());
  for (std::size_t i = 0; i < result.size(); ++i) {
    const std::string where = "data.result[" + std::to_string(i) + "]";
    const Json& item = result[i];
    if (!item.is_object()) {
      return where + " is not an object";
    }
    Series s;
    if (Problem p = readLabels(item, where, s.labels)) {
      return p;
    }
    const auto value = item.find("value");
    if (value == item.end()) {
      // Native histograms come as "histogram": a check needs one float.
      return where + (item.contains("histogram") ? " is a native histogram, not a float sample"
                                                 : " has no value");
    }
    if (Problem p = readSample(*value, where + ".value", s.value)) {
      return p;
    }
    out.series.push_back(std::move(s));
  }
  return std::nullopt;
}

Problem readMatrix(const Json& result, QueryResult& out) {
  if (!result.is_array()) {
    return std::string("data.result of a matrix is not an array");
  }
  out.series.reserve(result.size());
  for (std::size_t i = 0; i < result.size(); ++i) {
    const std::string where = "data.result[" + std::to_string(i) + "]";
    const Json& item = result[i];
    if (!item.is_object()) {
      return where + " is not an object";
    }
    Series s;
    if (Problem p = readLabels(item, where, s.labels)) {
      return p;
    }
    // A series of native histograms only has no float value: NaN says so.
    s.value = std::numeric_limits<double>::quiet_NaN();
    const auto values = item.find("values");
    if (values != item.end()) {
      if (!values->is_array()) {
        return where + ".values is not an array";
      }
      for (std::size_t j = 0; j < values->size(); ++j) {
        if (Problem p =
                readSample((*values)[j], where + ".values[" + std::to_string(j) + "]", s.value)) {
          return p;
        }
      }
    } else if (!item.contains("histograms")) {
      return where + " has no values";
    }
    out.series.push_back(std::move(s));
  }
  return std::nullopt;
}

Problem readWarnings(const Json& reply, QueryResult& out) {
  const auto warnings = reply.find("warnings");
  if (warnings == reply.end() || warnings->is_null()) {
    return std::nullopt;
  }
  if (!warnings->is_array()) {
    return std::string("warnings is not an array");
  }
  for (std::size_t i = 0; i < warnings->size(); ++i) {
    if (!(*warnings)[i].is_string()) {
      return "warnings[" + std::to_string(i) + "] is not a string";
    }
    out.warnings.push_back((*warnings)[i].get<std::string>());
  }
  return std::nullopt;
}

Problem readSuccess(const Json& reply, QueryResult& out) {
  const auto data = reply.find("data");
  if (data == reply.end() || !data->is_object()) {
    return std::string("data is missing or not an object");
  }
  const auto type = data->find("resultType");
  if (type == data->end() || !type->is_string()) {
    return std::string("data.resultType is missing or not a string");
  }
  const auto result = data->find("result");
  if (result == data->end()) {
    return std::string("data.result is missing");
  }
  const std::string typeName = type->get<std::string>();
  Problem problem;
  if (typeName == "vector") {
    out.type = ResultType::kVector;
    problem = readVector(*result, out);
  } else if (typeName == "matrix") {
    out.type = ResultType::kMatrix;
    problem = readMatrix(*result, out);
  } else if (typeName == "scalar") {
    out.type = ResultType::kScalar;
    Series s;
    problem = readSample(*result, "data.result", s.value);
    out.series.push_back(std::move(s));
  } else if (typeName == "string") {
    out.type = ResultType::kString;
    problem = readSamplePair(*result, "data.result", out.stringValue);
  } else {
    return "data.resultType \"" + cutMessage(typeName, 40) + "\" is not one of vector, matrix, " +
           "scalar, string";
  }
  if (problem) {
    return problem;
  }
  return readWarnings(reply, out);
}

Result<QueryResult> parse(int httpStatus, std::string_view body) {
  const Json reply = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  const bool isObject = !reply.is_discarded() && reply.is_object();
  const auto status = isObject ? reply.find("status") : reply.end();
  const bool hasStatus = isObject && status != reply.end() && status->is_string();
  if (hasStatus && *status == "error") {
    return prometheusError(reply, httpStatus);
  }
  if (!isSuccessStatus(httpStatus)) {
    return httpError(httpStatus, body);
  }
  if (!isObject) {
    return errorWithStatus(ErrorCode::kInternal,
                           "the reply is not a Prometheus API response (not a JSON object): " +
                               cutMessage(body, kQuotedBodyBytes),
                           httpStatus);
  }
  if (!hasStatus || *status != "success") {
    return errorWithStatus(
        ErrorCode::kInternal,
        "the reply is not a Prometheus API response (status is not \"success\" or \"error\")",
        httpStatus);
  }
  QueryResult out;
  if (Problem p = readSuccess(reply, out)) {
    return errorWithStatus(ErrorCode::kInternal, "malformed Prometheus reply: " + *p, httpStatus);
  }
  return out;
}

}  // namespace

Result<QueryResult> parseQueryResponse(int httpStatus, std::string_view body) {
  try {
    return parse(httpStatus, body);
  } catch (const std::exception& e) {
    // Nothing above should throw; if nlohmann or an allocation does, the
    // reply is still only a bad reply, not a reason to take the caller down.
    return errorWithStatus(ErrorCode::kInternal,
                           std::string("cannot parse the Prometheus reply: ") + e.what(),
                           httpStatus);
  } catch (...) {
    return errorWithStatus(ErrorCode::kInternal, "cannot parse the Prometheus reply", httpStatus);
  }
}

std::string cutMessage(std::string_view text, std::size_t maxBytes) {
  constexpr std::string_view kEllipsis = "...";
  std::string valid = sanitizeUtf8(text);
  if (valid.size() <= maxBytes) {
    return valid;
  }
  const std::size_t room = maxBytes > kEllipsis.size() ? maxBytes - kEllipsis.size() : 0;
  return truncateUtf8(valid, room, kEllipsis);
}

bool parseSampleValue(std::string_view text, double& out) {
  if (text == "NaN") {
    out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  if (text == "+Inf" || text == "Inf") {
    out = std::numeric_limits<double>::infinity();
    return true;
  }
  if (text == "-Inf") {
    out = -std::numeric_limits<double>::infinity();
    return true;
  }
  // from_chars also reads "inf", "nan(...)" and hex-free but odd spellings;
  // the API writes Go's strconv.FormatFloat output, so only digits, a sign,
  // a point and an exponent are let through.
  if (text.empty()) {
    return false;
  }
  for (const char c : text) {
    const bool allowed =
        (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
    if (!allowed) {
      return false;
    }
  }
  double value = 0;
  const char* const end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end) {
    return false;
  }
  out = value;
  return true;
}

}  // namespace mlops::prometheus
