#include "runtime/logger.h"

#include "kube/utf8.h"
#include "objects/timestamps.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <mutex>

namespace mlops::runtime {
namespace {

struct LogSettings {
  std::mutex mu;  // serialises writes and guards `sink`
  std::atomic<LogFormat> format{LogFormat::kText};
  std::atomic<LogLevel> level{LogLevel::kInfo};
  std::function<void(std::string_view)> sink;
};

LogSettings& settings() {
  static LogSettings s;
  return s;
}

const char* levelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool isSensitiveKey(std::string_view key) {
  const std::string k = lower(key);
  for (const char* word : {"token", "password", "passwd", "secret", "authorization", "bearer",
                           "credential", "private"}) {
    if (k.find(word) != std::string::npos) {
      return true;
    }
  }
  return false;
}

nlohmann::json redacted(const nlohmann::json& fields) {
  nlohmann::json out = nlohmann::json::object();
  if (!fields.is_object()) {
    return out;
  }
  for (auto it = fields.begin(); it != fields.end(); ++it) {
    out[it.key()] = isSensitiveKey(it.key()) ? nlohmann::json("[redacted]") : it.value();
  }
  return out;
}

std::string timestampNow() {
  return objects::formatTimestamp(std::chrono::system_clock::now(),
                                  objects::TimePrecision::kMilliseconds);
}

bool needsQuoting(const std::string& s) {
  if (s.empty()) {
    return true;
  }
  return std::any_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isspace(c) != 0 || c == '"' || c == '=' || c < 0x20;
  });
}

// Text from the network or a container may be any bytes; nlohmann throws on
// invalid UTF-8, so every piece of a record is made valid (U+FFFD) first.
std::string dumpSafely(const nlohmann::json& v) {
  return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string textValue(const nlohmann::json& v) {
  if (v.is_string()) {
    const std::string s = kube::toValidUtf8(v.get_ref<const std::string&>());
    return needsQuoting(s) ? dumpSafely(nlohmann::json(s)) : s;
  }
  return dumpSafely(v);
}

}  // namespace

Result<LogLevel> parseLogLevel(std::string_view text) {
  const std::string t = lower(text);
  if (t == "debug") {
    return LogLevel::kDebug;
  }
  if (t == "info") {
    return LogLevel::kInfo;
  }
  if (t == "warn" || t == "warning") {
    return LogLevel::kWarn;
  }
  if (t == "error") {
    return LogLevel::kError;
  }
  return makeError(ErrorCode::kInvalidArgument,
                   "unknown log level '" + std::string(text) + "' (debug|info|warn|error)");
}

Result<LogFormat> parseLogFormat(std::string_view text) {
  const std::string t = lower(text);
  if (t == "json") {
    return LogFormat::kJson;
  }
  if (t == "text") {
    return LogFormat::kText;
  }
  return makeError(ErrorCode::kInvalidArgument,
                   "unknown log format '" + std::string(text) + "' (json|text)");
}

std::string formatLogRecord(LogFormat format, LogLevel level, std::string_view timestamp,
                            std::string_view logger, std::string_view msg,
                            const nlohmann::json& fields) {
  const nlohmann::json safe = redacted(fields);
  if (format == LogFormat::kJson) {
    nlohmann::json rec = nlohmann::json::object();
    rec["ts"] = timestamp;
    rec["level"] = levelName(level);
    if (!logger.empty()) {
      rec["logger"] = logger;
    }
    rec["msg"] = msg;
    for (auto it = safe.begin(); it != safe.end(); ++it) {
      if (!rec.contains(it.key())) {
        rec[it.key()] = it.value();
      }
    }
    return dumpSafely(rec);
  }
  std::string line(timestamp);
  std::string lvl = levelName(level);
  std::transform(lvl.begin(), lvl.end(), lvl.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  lvl.resize(5, ' ');
  line += " " + lvl;
  if (!logger.empty()) {
    line += " " + kube::toValidUtf8(logger);
  }
  line += " " + kube::toValidUtf8(msg);
  for (auto it = safe.begin(); it != safe.end(); ++it) {
    line += " " + kube::toValidUtf8(it.key()) + "=" + textValue(it.value());
  }
  return line;
}

Logger Logger::withValues(const Fields& fields) const {
  Logger child = *this;
  if (fields.is_object()) {
    for (auto it = fields.begin(); it != fields.end(); ++it) {
      child.fields_[it.key()] = it.value();
    }
  }
  return child;
}

Logger Logger::withName(std::string_view name) const {
  Logger child = *this;
  child.name_ = name_.empty() ? std::string(name) : name_ + "." + std::string(name);
  return child;
}

bool Logger::enabled(LogLevel level) {
  return static_cast<int>(level) >= static_cast<int>(settings().level.load());
}

void Logger::configure(LogFormat format, LogLevel level) {
  settings().format = format;
  settings().level = level;
}

void Logger::setSink(std::function<void(std::string_view)> sink) {
  std::lock_guard lock(settings().mu);
  settings().sink = std::move(sink);
}

void Logger::log(LogLevel level, std::string_view msg, const Fields& fields) const {
  if (!enabled(level)) {
    return;
  }
  nlohmann::json all = fields_;
  if (fields.is_object()) {
    for (auto it = fields.begin(); it != fields.end(); ++it) {
      all[it.key()] = it.value();
    }
  }
  std::string line;
  try {
    line = formatLogRecord(settings().format, level, timestampNow(), name_, msg, all);
  } catch (const std::exception& e) {
    line = std::string("log record could not be formatted: ") + e.what();
  }
  auto& s = settings();
  std::lock_guard lock(s.mu);
  if (s.sink) {
    s.sink(line);
    return;
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

void Logger::debug(std::string_view msg, const Fields& fields) const {
  log(LogLevel::kDebug, msg, fields);
}
void Logger::info(std::string_view msg, const Fields& fields) const {
  log(LogLevel::kInfo, msg, fields);
}
void Logger::warn(std::string_view msg, const Fields& fields) const {
  log(LogLevel::kWarn, msg, fields);
}
void Logger::error(std::string_view msg, const Fields& fields) const {
  log(LogLevel::kError, msg, fields);
}

}  // namespace mlops::runtime
