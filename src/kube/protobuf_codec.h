// The API server's protobuf replies (Accept: application/vnd.kubernetes.protobuf),
// for lists and watches of built-in types:
//
//   - A reply body is an envelope: the four bytes "k8s\0", then a
//     runtime.Unknown message whose `raw` field (2) holds the object, e.g. a
//     JobList, or a metav1.Status for an error reply.
//   - A list (JobList, PodList, ...) holds its ListMeta in field 1
//     (resourceVersion 2, continue 3) and each item in field 2.
//   - A watch body is a sequence of frames, each a four-byte big-endian
//     length and a metav1.WatchEvent message (not enveloped): its type in
//     field 1 ("ADDED", ...) and in field 2 a RawExtension whose field 1
//     holds the object, enveloped.
//
// The items themselves are decoded by a kube::ProtobufObjectDecoder
// (protobuf_objects.h). Every failure is an Error naming what was wrong.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "kube/client.h"
#include "kube/watch_decoder.h"

namespace mlops::kube {

inline constexpr std::string_view kProtobufMediaType = "application/vnd.kubernetes.protobuf";

// True for a Content-Type of the protobuf encoding (with or without
// parameters such as ";stream=watch").
bool isProtobufContentType(std::string_view contentType);

// The message inside an envelope.
Result<std::string_view> unwrapProtobufEnvelope(std::string_view body);

// A list reply's body, its items decoded with `decode`.
Result<ListPage> decodeProtobufList(std::string_view body, ProtobufObjectDecoder decode);

// A metav1.Status reply's body as the JSON Status the API server would have
// sent (kind, apiVersion, status, message, reason, code), for the error
// handling that reads JSON errors.
Result<nlohmann::json> decodeProtobufStatus(std::string_view body);

class ProtobufWatchDecoder final : public WatchBodyDecoder {
 public:
  // A frame longer than this is reported as an error and the stream given
  // up: a length field cannot be trusted to resynchronise on.
  static constexpr size_t kDefaultMaxFrameBytes = size_t{64} * 1024 * 1024;

  explicit ProtobufWatchDecoder(ProtobufObjectDecoder decode,
                                size_t maxFrameBytes = kDefaultMaxFrameBytes);

  void feed(std::string_view bytes) override;
  void finish() override;

 private:
  void takeFrames();

  ProtobufObjectDecoder decode_;
  size_t maxFrameBytes_;
  std::string pending_;
  bool broken_ = false;
};

// One frame's message (a metav1.WatchEvent) as an event, like a JSON line:
// an ERROR event with code 410 is a kGone error, other ERROR events carry
// their Status as JSON, BOOKMARK events the object's metadata.
Result<WatchEvent> decodeProtobufWatchEvent(std::string_view message, ProtobufObjectDecoder decode);

}  // namespace mlops::kube
