// A small structured logger writing one line per record to stderr.
//
//   Logger log = Logger("controller").withValues({{"controller", "rollout"}});
//   log.info("reconciled", {{"key", key}, {"ms", 12}});
//
// Output format and minimum level are process-wide (set once by main from
// --log-format / --log-level): `json` gives one JSON object per line
// ({"ts","level","logger","msg",...fields}); `text` gives
// `<ts> INFO  <logger> <msg> key=value ...`.
//
// Credentials are never logged: a field whose name mentions a token,
// password, secret, authorization header or bearer credential is written as
// "[redacted]". Callers must still not put credentials into messages.
//
// Thread safety: Logger values are immutable and may be copied and used from
// any thread; lines from concurrent callers never interleave.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace mlops::runtime {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class LogFormat { kText, kJson };

Result<LogLevel> parseLogLevel(std::string_view text);    // debug|info|warn|error
Result<LogFormat> parseLogFormat(std::string_view text);  // json|text

class Logger {
 public:
  using Fields = nlohmann::json;  // a JSON object; null means no fields

  Logger() = default;
  explicit Logger(std::string name) : name_(std::move(name)) {}

  // A child logger whose records carry `fields` in addition to this one's.
  Logger withValues(const Fields& fields) const;
  // A child logger named "<this name>.<name>".
  Logger withName(std::string_view name) const;

  void debug(std::string_view msg, const Fields& fields = nullptr) const;
  void info(std::string_view msg, const Fields& fields = nullptr) const;
  void warn(std::string_view msg, const Fields& fields = nullptr) const;
  void error(std::string_view msg, const Fields& fields = nullptr) const;
  void log(LogLevel level, std::string_view msg, const Fields& fields = nullptr) const;

  static bool enabled(LogLevel level);

  // Process-wide settings.
  static void configure(LogFormat format, LogLevel level);
  // Replaces stderr as the destination (tests); an empty function restores it.
  static void setSink(std::function<void(std::string_view line)> sink);

 private:
  std::string name_;
  Fields fields_ = nlohmann::json::object();
};

// Renders one record; exposed for tests.
std::string formatLogRecord(LogFormat format, LogLevel level, std::string_view timestamp,
                            std::string_view logger, std::string_view msg,
                            const nlohmann::json& fields);

}  // namespace mlops::runtime
