#include "kube/api_error.h"

#include <cctype>
#include <cstdint>

#include "core/json_access.h"
#include "kube/utf8.h"

namespace mlops::kube {
namespace {

constexpr size_t kMaxQuotedBody = 300;

ErrorCode codeForReason(std::string_view reason) {
  if (reason == "NotFound") {
    return ErrorCode::kNotFound;
  }
  if (reason == "AlreadyExists") {
    return ErrorCode::kAlreadyExists;
  }
  if (reason == "Conflict") {
    return ErrorCode::kConflict;
  }
  if (reason == "Gone" || reason == "Expired") {
    return ErrorCode::kGone;
  }
  if (reason == "Unauthorized") {
    return ErrorCode::kUnauthorized;
  }
  if (reason == "Forbidden") {
    return ErrorCode::kForbidden;
  }
  if (reason == "Invalid") {
    return ErrorCode::kInvalid;
  }
  if (reason == "BadRequest") {
    return ErrorCode::kBadRequest;
  }
  if (reason == "TooManyRequests") {
    return ErrorCode::kTooManyRequests;
  }
  if (reason == "Timeout" || reason == "ServerTimeout") {
    return ErrorCode::kTimeout;
  }
  if (reason == "ServiceUnavailable" || reason == "InternalError") {
    return ErrorCode::kUnavailable;
  }
  return ErrorCode::kInternal;
}

std::string trimmedSnippet(std::string_view body) {
  size_t b = 0;
  size_t e = body.size();
  while (b < e && std::isspace(static_cast<unsigned char>(body[b]))) {
    ++b;
  }
  while (e > b && std::isspace(static_cast<unsigned char>(body[e - 1]))) {
    --e;
  }
  std::string out(body.substr(b, e - b));
  for (char& c : out) {
    if (c == '\n' || c == '\r' || c == '\t') {
      c = ' ';
    }
  }
  // The body is whatever the server (or a proxy in front of it) sent: cut it
  // at a character boundary and make it valid UTF-8, so the message can go
  // into a JSON status or a log line.
  if (out.size() > kMaxQuotedBody) {
    out = std::string(utf8Prefix(out, kMaxQuotedBody)) + "...";
  }
  return toValidUtf8(out);
}

std::string withContext(std::string_view context, const std::string& message) {
  if (context.empty()) {
    return message;
  }
  return std::string(context) + ": " + message;
}

}  // namespace

ErrorCode errorCodeFor(int httpStatus, std::string_view reason) {
  switch (httpStatus) {
    case 400:
      return ErrorCode::kBadRequest;
    case 401:
      return ErrorCode::kUnauthorized;
    case 403:
      return ErrorCode::kForbidden;
    case 404:
      return ErrorCode::kNotFound;
    case 408:
      return ErrorCode::kTimeout;
    case 409:
      return reason == "AlreadyExists" ? ErrorCode::kAlreadyExists : ErrorCode::kConflict;
    case 410:
      return ErrorCode::kGone;
    case 422:
      return ErrorCode::kInvalid;
    case 429:
      return ErrorCode::kTooManyRequests;
    case 504:
      return ErrorCode::kTimeout;
    default:
      break;
  }
  if (httpStatus >= 500 && httpStatus <= 599) {
    // The server signals its own request timeouts as 500 with this reason.
    if (reason == "ServerTimeout" || reason == "Timeout") {
      return ErrorCode::kTimeout;
    }
    return ErrorCode::kUnavailable;
  }
  if (httpStatus >= 400 && httpStatus <= 499) {
    return ErrorCode::kBadRequest;
  }
  // No usable status (0, or a success code inside a Failure Status).
  return codeForReason(reason);
}

Error errorFromStatus(const nlohmann::json& status, std::string_view context) {
  Error e;
  int code = 0;
  if (status.is_object()) {
    auto it = status.find("code");
    // A code outside int's range is no HTTP status (and converting it to int
    // could alias one, 2^32 + 410 becoming 410).
    if (it != status.end() && it->is_number_integer() && it->get<int64_t>() >= 0 &&
        it->get<int64_t>() <= 999) {
      code = static_cast<int>(it->get<int64_t>());
    }
    e.reason = stringMember(status, "reason");
    e.message = stringMember(status, "message");
  }
  e.httpStatus = code;
  e.code = errorCodeFor(code, e.reason);
  if (e.message.empty()) {
    e.message = !e.reason.empty() ? e.reason
                : code != 0       ? "HTTP " + std::to_string(code)
                                  : "the server reported an error without a message";
  }
  e.message = withContext(context, e.message);
  return e;
}

Error errorFromResponse(int httpStatus, std::string_view body, std::string_view context) {
  nlohmann::json parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object() && stringMember(parsed, "kind") == "Status") {
    Error e = errorFromStatus(parsed, context);
    // The HTTP status is what the server actually answered; the body's code
    // is normally the same, but trust the transport.
    e.httpStatus = httpStatus;
    e.code = errorCodeFor(httpStatus, e.reason);
    return e;
  }
  Error e;
  e.httpStatus = httpStatus;
  e.code = errorCodeFor(httpStatus, "");
  std::string snippet = trimmedSnippet(body);
  std::string message = "HTTP " + std::to_string(httpStatus);
  if (!snippet.empty()) {
    message += ": " + snippet;
  }
  e.message = withContext(context, message);
  return e;
}

}  // namespace mlops::kube
