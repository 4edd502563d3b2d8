// The pure parser of the Prometheus HTTP API's reply to an instant query
// (GET /api/v1/query), https://prometheus.io/docs/prometheus/latest/querying/api/.
//
//   parseQueryResponse(HTTP status, body) ─▶ QueryResult | Error
//
// The reply is untrusted input (a misconfigured URL may point at anything),
// so every shape is checked and every failure is an Error value; nothing
// here throws. Error codes:
//
//   Prometheus errorType   HTTP status        ErrorCode
//   bad_data               (any)              kInvalidArgument
//   timeout                (any)              kTimeout
//   unavailable            (any)              kUnavailable
//   other / absent         >= 500             kUnavailable
//   other / absent         < 500              kInternal
//   (body not JSON)        408, 504           kTimeout
//   (body not JSON)        other 5xx, 429     kUnavailable
//   (body not JSON)        401 / 403          kUnauthorized / kForbidden
//   (body not JSON)        other >= 400       kInternal
//   malformed success reply                   kInternal
//
// A Prometheus error's message is "<errorType>: <error>" (Error::reason holds
// the errorType), every message is valid UTF-8 and at most
// kMaxErrorMessageBytes long: it goes into a status field as it is.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.h"
#include "prometheus/query_result.h"

namespace mlops::prometheus {

inline constexpr std::size_t kMaxErrorMessageBytes = 256;

// The reply of GET /api/v1/query with HTTP status `httpStatus` and body
// `body`. Sample values "NaN", "+Inf" and "-Inf" become the doubles they
// name. The Error of a failed reply carries httpStatus.
Result<QueryResult> parseQueryResponse(int httpStatus, std::string_view body);

// `text` made valid UTF-8 and cut at a character boundary so that the result,
// including a "..." marking the cut, is at most `maxBytes` bytes (maxBytes >=
// 3). Shared by everything that puts Prometheus text into a status message.
std::string cutMessage(std::string_view text, std::size_t maxBytes = kMaxErrorMessageBytes);

// A sample value as the API writes it: a decimal float, "NaN", "+Inf",
// "-Inf" (also "Inf"). False for anything else, including trailing bytes.
bool parseSampleValue(std::string_view text, double& out);

}  // namespace mlops::prometheus
