#include "kube/watch_decoder.h"

#include <cctype>
#include <cstdint>

#include "kube/api_error.h"

namespace mlops::kube {
namespace {

constexpr size_t kMaxQuotedLine = 120;

std::string quoted(std::string_view line) {
  std::string out(line.substr(0, kMaxQuotedLine));
  for (char& c : out) {
    if (!std::isprint(static_cast<unsigned char>(c))) {
      c = '?';
    }
  }
  if (line.size() > kMaxQuotedLine) {
    out += "...";
  }
  return "\"" + out + "\"";
}

bool isBlank(std::string_view line) {
  for (char c : line) {
    if (!std::isspace(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

Error decodeError(const std::string& what, std::string_view line) {
  return makeError(ErrorCode::kInternal, "watch: " + what + ": " + quoted(line));
}

}  // namespace

const char* watchEventTypeName(WatchEventType type) {
  switch (type) {
    case WatchEventType::kAdded:
      return "ADDED";
    case WatchEventType::kModified:
      return "MODIFIED";
    case WatchEventType::kDeleted:
      return "DELETED";
    case WatchEventType::kBookmark:
      return "BOOKMARK";
    case WatchEventType::kError:
      return "ERROR";
  }
  return "UNKNOWN";
}

std::optional<WatchEventType> watchEventTypeFromName(std::string_view type) {
  if (type == "ADDED") {
    return WatchEventType::kAdded;
  }
  if (type == "MODIFIED") {
    return WatchEventType::kModified;
  }
  if (type == "DELETED") {
    return WatchEventType::kDeleted;
  }
  if (type == "BOOKMARK") {
    return WatchEventType::kBookmark;
  }
  if (type == "ERROR") {
    return WatchEventType::kError;
  }
  return std::nullopt;
}

Result<WatchEvent> decodeWatchLine(std::string_view line) {
  Json parsed = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return decodeError("line is not JSON", line);
  }
  if (!parsed.is_object()) {
    return decodeError("line is not a JSON object", line);
  }
  auto type = parsed.find("type");
  if (type == parsed.end() || !type->is_string()) {
    return decodeError("event has no \"type\"", line);
  }
  std::optional<WatchEventType> kind = watchEventTypeFromName(type->get<std::string>());
  if (!kind) {
    return decodeError(
        "unknown event type " + type->dump(-1, ' ', false, Json::error_handler_t::replace), line);
  }
  auto object = parsed.find("object");
  if (object == parsed.end() || !object->is_object()) {
    return decodeError("event has no \"object\"", line);
  }
  if (*kind == WatchEventType::kError) {
    auto code = object->find("code");
    if (code != object->end() && code->is_number_integer() && code->get<int64_t>() == 410) {
      return errorFromStatus(*object, "watch");
    }
  }
  WatchEvent event;
  event.type = *kind;
  event.object = std::move(*object);
  return event;
}

WatchDecoder::WatchDecoder(size_t maxLineBytes) : maxLineBytes_(maxLineBytes) {}

void WatchDecoder::feed(std::string_view bytes) {
  while (!bytes.empty()) {
    size_t nl = bytes.find('\n');
    if (nl == std::string_view::npos) {
      if (skippingLongLine_) {
        return;
      }
      if (partial_.size() + bytes.size() > maxLineBytes_) {
        emit(makeError(ErrorCode::kInternal, "watch: event longer than " +
                                                 std::to_string(maxLineBytes_) + " bytes skipped"));
        partial_.clear();
        skippingLongLine_ = true;
        return;
      }
      partial_.append(bytes);
      return;
    }
    std::string_view head = bytes.substr(0, nl);
    bytes.remove_prefix(nl + 1);
    if (skippingLongLine_) {
      skippingLongLine_ = false;
      continue;
    }
    if (partial_.empty()) {
      takeLine(head);
    } else {
      partial_.append(head);
      std::string line = std::move(partial_);
      partial_.clear();
      takeLine(line);
    }
  }
}

void WatchDecoder::takeLine(std::string_view line) {
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  if (isBlank(line)) {
    return;
  }
  if (line.size() > maxLineBytes_) {
    emit(makeError(ErrorCode::kInternal,
                   "watch: event longer than " + std::to_string(maxLineBytes_) + " bytes skipped"));
    return;
  }
  emit(decodeWatchLine(line));
}

void WatchDecoder::finish() {
  skippingLongLine_ = false;
  if (partial_.empty()) {
    return;
  }
  std::string line = std::move(partial_);
  partial_.clear();
  takeLine(line);
}

std::optional<Result<WatchEvent>> WatchBodyDecoder::next() {
  if (ready_.empty()) {
    return std::nullopt;
  }
  Result<WatchEvent> item = std::move(ready_.front());
  ready_.pop_front();
  return item;
}

}  // namespace mlops::kube
