#include "core/result.h"

namespace mlops {

const char* errorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kNotFound:
      return "NotFound";
    case ErrorCode::kAlreadyExists:
      return "AlreadyExists";
    case ErrorCode::kConflict:
      return "Conflict";
    case ErrorCode::kGone:
      return "Gone";
    case ErrorCode::kUnauthorized:
      return "Unauthorized";
    case ErrorCode::kForbidden:
      return "Forbidden";
    case ErrorCode::kInvalid:
      return "Invalid";
    case ErrorCode::kBadRequest:
      return "BadRequest";
    case ErrorCode::kTooManyRequests:
      return "TooManyRequests";
    case ErrorCode::kTimeout:
      return "Timeout";
    case ErrorCode::kUnavailable:
      return "Unavailable";
    case ErrorCode::kInvalidArgument:
      return "InvalidArgument";
    case ErrorCode::kInternal:
      return "Internal";
    case ErrorCode::kCancelled:
      return "Cancelled";
  }
  return "Unknown";
}

bool Error::transient() const {
  switch (code) {
    case ErrorCode::kConflict:
    case ErrorCode::kTooManyRequests:
    case ErrorCode::kTimeout:
    case ErrorCode::kUnavailable:
    case ErrorCode::kInternal:
      return true;
    default:
      return false;
  }
}

std::string Error::toString() const {
  std::string out = errorCodeName(code);
  if (httpStatus != 0 || !reason.empty()) {
    out += " (";
    if (httpStatus != 0) {
      out += "HTTP " + std::to_string(httpStatus);
    }
    if (httpStatus != 0 && !reason.empty()) {
      out += ", ";
    }
    if (!reason.empty()) {
      out += reason;
    }
    out += ")";
  }
  out += ": " + message;
  return out;
}

Error makeError(ErrorCode code, std::string message) {
  Error e;
  e.code = code;
  e.message = std::move(message);
  return e;
}

}  // namespace mlops
