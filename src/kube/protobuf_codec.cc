#include "kube/protobuf_codec.h"

#include <array>
#include <cctype>
#include <cstdint>
#include <utility>

#include "kube/api_error.h"
#include "kube/protobuf_wire.h"
#include "kube/utf8.h"

namespace mlops::kube {
namespace {

using Json = nlohmann::json;
using pb::Field;
using pb::WireType;

constexpr std::string_view kEnvelopeMagic("k8s\0", 4);

Error malformed(const std::string& what) {
  Error e = makeError(ErrorCode::kInternal, "protobuf reply: " + what);
  e.reason = std::string(kProtobufUndecodable);
  return e;
}

// The values of the fields `numbers` (each of wire type kBytes) in
// `message`, read in one pass: for each, the last occurrence, nullopt when
// absent. Errors on malformed bytes or one of those fields with another
// wire type.
template <size_t N>
Result<std::array<std::optional<std::string_view>, N>> bytesFields(
    std::string_view message, const std::array<uint32_t, N>& numbers, const char* what) {
  std::array<std::optional<std::string_view>, N> found;
  pb::Reader reader(message);
  while (std::optional<Field> f = reader.next()) {
    for (size_t i = 0; i < N; ++i) {
      if (f->number != numbers[i]) {
        continue;
      }
      if (f->type != WireType::kBytes) {
        return malformed(std::string(what) + "'s field " + std::to_string(f->number) +
                         " has the wrong wire type");
      }
      found[i] = f->bytes;
    }
  }
  if (reader.failed()) {
    return malformed(std::string(what) + ": " + reader.failure());
  }
  return found;
}

std::string text(std::string_view bytes) {
  return toValidUtf8(bytes);
}

}  // namespace

bool isProtobufContentType(std::string_view contentType) {
  if (contentType.size() < kProtobufMediaType.size()) {
    return false;
  }
  for (size_t i = 0; i < kProtobufMediaType.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(contentType[i])) != kProtobufMediaType[i]) {
      return false;
    }
  }
  const std::string_view rest = contentType.substr(kProtobufMediaType.size());
  return rest.empty() || rest.front() == ';' || rest.front() == ' ';
}

Result<std::string_view> unwrapProtobufEnvelope(std::string_view body) {
  if (body.substr(0, kEnvelopeMagic.size()) != kEnvelopeMagic) {
    return malformed("the body does not start with the protobuf envelope's magic bytes");
  }
  const std::string_view unknown = body.substr(kEnvelopeMagic.size());
  // raw (2) and contentEncoding (3): the API server never compresses
  // inside the envelope; an encoding would mean bytes we cannot read.
  Result<std::array<std::optional<std::string_view>, 2>> fields =
      bytesFields<2>(unknown, {2, 3}, "the envelope");
  if (!fields.ok()) {
    return fields.error();
  }
  const auto& [raw, encoding] = *fields;
  if (encoding && !encoding->empty()) {
    return malformed("the envelope's content encoding \"" + text(*encoding) +
                     "\" is not supported");
  }
  return raw.value_or(std::string_view());
}

Result<ListPage> decodeProtobufList(std::string_view body, ProtobufObjectDecoder decode) {
  Result<std::string_view> list = unwrapProtobufEnvelope(body);
  if (!list.ok()) {
    return list.error();
  }
  ListPage page;
  pb::Reader reader(*list);
  while (std::optional<Field> f = reader.next()) {
    if (f->number != 1 && f->number != 2) {
      continue;
    }
    if (f->type != WireType::kBytes) {
      return malformed("the list's field " + std::to_string(f->number) +
                       " has the wrong wire type");
    }
    if (f->number == 2) {
      Result<Json> item = decode(f->bytes);
      if (!item.ok()) {
        return item.error();
      }
      page.items.push_back(std::move(*item));
      continue;
    }
    Result<std::array<std::optional<std::string_view>, 2>> meta =
        bytesFields<2>(f->bytes, {2, 3}, "the list's metadata");
    if (!meta.ok()) {
      return meta.error();
    }
    const auto& [resourceVersion, continueToken] = *meta;
    if (resourceVersion) {
      page.resourceVersion = text(*resourceVersion);
    }
    if (continueToken) {
      page.continueToken = text(*continueToken);
    }
  }
  if (reader.failed()) {
    return malformed("the list: " + reader.failure());
  }
  return page;
}

Result<Json> decodeProtobufStatus(std::string_view body) {
  Result<std::string_view> message = unwrapProtobufEnvelope(body);
  if (!message.ok()) {
    return message.error();
  }
  Json status = {{"kind", "Status"}, {"apiVersion", "v1"}};
  pb::Reader reader(*message);
  while (std::optional<Field> f = reader.next()) {
    const char* key = f->number == 2   ? "status"
                      : f->number == 3 ? "message"
                      : f->number == 4 ? "reason"
                                       : nullptr;
    if (key != nullptr) {
      if (f->type != WireType::kBytes) {
        return malformed(std::string("the Status's ") + key + " has the wrong wire type");
      }
      status[key] = text(f->bytes);
    } else if (f->number == 6) {
      if (f->type != WireType::kVarint) {
        return malformed("the Status's code has the wrong wire type");
      }
      status["code"] = pb::asInt32(*f);
    }
  }
  if (reader.failed()) {
    return malformed("the Status: " + reader.failure());
  }
  return status;
}

Result<WatchEvent> decodeProtobufWatchEvent(std::string_view message,
                                            ProtobufObjectDecoder decode) {
  Result<std::array<std::optional<std::string_view>, 2>> fields =
      bytesFields<2>(message, {1, 2}, "the watch event");
  if (!fields.ok()) {
    return fields.error();
  }
  const auto& [type, object] = *fields;
  if (!type) {
    return malformed("a watch event has no type");
  }
  std::optional<WatchEventType> kind = watchEventTypeFromName(*type);
  if (!kind) {
    return malformed("unknown watch event type \"" + text(*type) + "\"");
  }
  if (!object) {
    return malformed("a watch event has no object");
  }
  Result<std::array<std::optional<std::string_view>, 1>> raw =
      bytesFields<1>(*object, {1}, "the event's object");
  if (!raw.ok()) {
    return raw.error();
  }
  const std::string_view enveloped = (*raw)[0].value_or(std::string_view());
  WatchEvent event;
  event.type = *kind;
  if (*kind == WatchEventType::kError) {
    Result<Json> status = decodeProtobufStatus(enveloped);
    if (!status.ok()) {
      return status.error();
    }
    if (status->value("code", 0) == 410) {
      return errorFromStatus(*status, "watch");
    }
    event.object = std::move(*status);
    return event;
  }
  Result<std::string_view> inner = unwrapProtobufEnvelope(enveloped);
  if (!inner.ok()) {
    return inner.error();
  }
  Result<Json> decoded = decode(*inner);
  if (!decoded.ok()) {
    return decoded.error();
  }
  event.object = std::move(*decoded);
  return event;
}

ProtobufWatchDecoder::ProtobufWatchDecoder(ProtobufObjectDecoder decode, size_t maxFrameBytes)
    : decode_(decode), maxFrameBytes_(maxFrameBytes) {}

void ProtobufWatchDecoder::feed(std::string_view bytes) {
  if (broken_) {
    return;
  }
  pending_.append(bytes);
  takeFrames();
}

void ProtobufWatchDecoder::takeFrames() {
  size_t pos = 0;
  while (!broken_ && pending_.size() - pos >= 4) {
    const auto byte = [&](size_t i) { return static_cast<uint8_t>(pending_[pos + i]); };
    const uint64_t length = (uint64_t{byte(0)} << 24) | (uint64_t{byte(1)} << 16) |
                            (uint64_t{byte(2)} << 8) | uint64_t{byte(3)};
    if (length > maxFrameBytes_) {
      // Unlike a JSON line, a frame has no end marker to skip to.
      emit(malformed("a watch frame of " + std::to_string(length) +
                     " bytes is longer than the limit of " + std::to_string(maxFrameBytes_)));
      broken_ = true;
      break;
    }
    if (pending_.size() - pos - 4 < length) {
      break;
    }
    emit(decodeProtobufWatchEvent(
        std::string_view(pending_).substr(pos + 4, static_cast<size_t>(length)), decode_));
    pos += 4 + static_cast<size_t>(length);
  }
  pending_.erase(0, broken_ ? pending_.size() : pos);
}

void ProtobufWatchDecoder::finish() {
  if (!broken_ && !pending_.empty()) {
    emit(malformed("the watch ended inside a frame (" + std::to_string(pending_.size()) +
                   " bytes left over)"));
  }
  pending_.clear();
}

}  // namespace mlops::kube
