// Errors as values.
//
// `Error` carries a machine-readable code, the Kubernetes Status `reason` when
// there is one, a human message, and whether retrying may help. `Result<T>` is
// either a T or an Error; it is [[nodiscard]] so a failure cannot be dropped
// silently. Nothing in this header throws except `value()` on an error, which
// is a programming mistake, not a runtime condition.
#pragma once

#include <cstdlib>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace mlops {

enum class ErrorCode {
  kNotFound,
  kAlreadyExists,
  kConflict,         // optimistic-concurrency or field-manager conflict (409)
  kGone,             // 410: resourceVersion too old ("Expired"/"Gone")
  kUnauthorized,     // 401: credentials rejected
  kForbidden,        // 403: RBAC said no
  kInvalid,          // 422: the object failed validation
  kBadRequest,       // 400
  kTooManyRequests,  // 429
  kTimeout,          // client or server timeout (408, 504, deadline exceeded)
  kUnavailable,      // connection refused/reset, 5xx other than the above
  kInvalidArgument,  // bad input detected on our side (config, parse errors)
  kInternal,         // anything else
  kCancelled,        // operation stopped because of shutdown
};

const char* errorCodeName(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  std::string reason;  // Kubernetes Status.reason when the server gave one
  int httpStatus = 0;  // 0 when no HTTP response was received

  // True when the same call may succeed later unchanged (network trouble,
  // throttling, server errors, conflicts); false for terminal errors.
  bool transient() const;
  // One line: "<code>: <message>" plus the HTTP status and reason when known.
  std::string toString() const;
};

Error makeError(ErrorCode code, std::string message);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }

  const T& value() const& {
    check();
    return std::get<T>(v_);
  }
  T& value() & {
    check();
    return std::get<T>(v_);
  }
  T&& value() && {
    check();
    return std::get<T>(std::move(v_));
  }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

  const Error& error() const { return std::get<Error>(v_); }

 private:
  void check() const {
    if (!ok()) {
      std::abort();  // reading the value of a failed Result is a bug
    }
  }
  std::variant<T, Error> v_;
};

// A Result with no value: success or an Error.
struct Ok {};
using Status = Result<Ok>;
inline Status okStatus() {
  return Ok{};
}

}  // namespace mlops
