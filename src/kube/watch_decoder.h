// Decoding a watch response body into events, independent of any transport.
//
// The API server sends one JSON object per line:
//   {"type":"ADDED","object":{...}}\n{"type":"BOOKMARK","object":{...}}\n...
// Bytes arrive in arbitrary pieces: a line may be split anywhere (even inside
// a UTF-8 sequence) and one piece may hold many lines. Feed the pieces in
// order with `feed()`, then take decoded items with `next()` until it returns
// nullopt.
//
// Each item is a WatchEvent or an Error for one line:
//   - a line that is not JSON, or not {"type": <known type>, "object": {...}},
//     is a kInternal error naming the problem; decoding goes on with the next
//     line, so one bad line never wedges the stream;
//   - an ERROR event whose Status has code 410 (resourceVersion too old) is a
//     kGone error, so the caller relists; other ERROR events are returned as
//     events of type kError carrying the Status.
//   - blank lines are skipped.
//
// Not thread safe; one decoder per stream.
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/result.h"
#include "kube/client.h"

namespace mlops::kube {

// Decodes one complete line (without its newline).
Result<WatchEvent> decodeWatchLine(std::string_view line);

// "ADDED", "MODIFIED", ...: for logs and tests.
const char* watchEventTypeName(WatchEventType type);
// The type a watch event names ("ADDED", ...); nullopt for another name.
std::optional<WatchEventType> watchEventTypeFromName(std::string_view name);

// How a watch's body becomes events: JSON lines (WatchDecoder, below) or
// length-prefixed protobuf frames (ProtobufWatchDecoder, protobuf_codec.h).
// Feed the body's bytes in order as they arrive, take the decoded items with
// next() until it returns nullopt, and call finish() once the body ended.
class WatchBodyDecoder {
 public:
  virtual ~WatchBodyDecoder() = default;
  virtual void feed(std::string_view bytes) = 0;
  virtual void finish() = 0;
  // The next decoded item, or nullopt while none is waiting.
  std::optional<Result<WatchEvent>> next();

 protected:
  // Queues an item for next(), in order.
  void emit(Result<WatchEvent> item) { ready_.push_back(std::move(item)); }

 private:
  std::deque<Result<WatchEvent>> ready_;
};

class WatchDecoder final : public WatchBodyDecoder {
 public:
  // A line longer than this is reported as an error and skipped, so a
  // misbehaving server cannot make us buffer without bound.
  static constexpr size_t kDefaultMaxLineBytes = size_t{64} * 1024 * 1024;

  explicit WatchDecoder(size_t maxLineBytes = kDefaultMaxLineBytes);

  // Appends bytes of the body. Complete lines are decoded right away.
  void feed(std::string_view bytes) override;

  // Call once when the body has ended: a trailing line without a newline is
  // decoded as if it had one.
  void finish() override;

  // Bytes of an incomplete line held back.
  size_t pendingBytes() const { return partial_.size(); }

 private:
  void takeLine(std::string_view line);

  size_t maxLineBytes_;
  std::string partial_;
  bool skippingLongLine_ = false;
};

}  // namespace mlops::kube
