// From an API server's answer to an mlops::Error.
//
// The API server reports failures as an HTTP status plus a metav1.Status body
// ({"kind":"Status","status":"Failure","message":...,"reason":...,"code":...}).
// These pure functions turn that into an Error that keeps the server's reason
// and message, with a code the callers can branch on:
//
//   404 NotFound            -> kNotFound
//   409 AlreadyExists       -> kAlreadyExists      409 anything else -> kConflict
//   410 Gone / Expired      -> kGone
//   401 -> kUnauthorized    403 -> kForbidden      422 -> kInvalid
//   400 and other 4xx       -> kBadRequest         429 -> kTooManyRequests
//   408, 504, reason Timeout/ServerTimeout          -> kTimeout
//   other 5xx               -> kUnavailable
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace mlops::kube {

// The ErrorCode for an HTTP status, refined by the Status reason when the
// status alone is ambiguous (409, 500). `httpStatus` 0 (e.g. a watch ERROR
// event without a code) maps by reason alone.
ErrorCode errorCodeFor(int httpStatus, std::string_view reason);

// An error response. `body` is usually a metav1.Status; anything else (an
// HTML page from a proxy, an empty body) is quoted, shortened, in the message.
// `context` ("get configmaps ns/name") prefixes the message when not empty.
Error errorFromResponse(int httpStatus, std::string_view body, std::string_view context = "");

// A metav1.Status object already parsed, as carried by watch ERROR events.
// Its `code` field is the HTTP status.
Error errorFromStatus(const nlohmann::json& status, std::string_view context = "");

}  // namespace mlops::kube
