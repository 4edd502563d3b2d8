// The protobuf decoders (kube/protobuf_objects.h, kube/protobuf_codec.h) on
// arbitrary bytes: a Job, a Pod, a list reply, a Status reply, a watch
// stream.
//
// Properties:
//   - decoding never throws or crashes, whatever the bytes;
//   - whatever decodes is JSON that serialises (valid UTF-8 throughout);
//   - a watch stream decodes to the same events and errors however it is
//     split into pieces;
//   - a frame that decodes alone decodes the same inside a stream.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "fuzz/watch_items.h"
#include "kube/protobuf_codec.h"
#include "kube/protobuf_objects.h"

namespace {

using Json = nlohmann::json;
using mlops::Result;
using mlops::fuzz::decodeInPieces;
using mlops::fuzz::describe;
using mlops::fuzz::drain;
using mlops::fuzz::joined;
using mlops::kube::ProtobufWatchDecoder;

std::string describeObject(const Result<Json>& r) {
  return r.ok() ? r->dump() : "error " + r.error().message;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  // The first byte chooses the piece sizes; the rest is the input.
  const uint8_t splitSeed = data[0];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);

  // dump() throws on invalid UTF-8: describe() is the check.
  (void)describeObject(mlops::kube::decodeJobProtobuf(body));
  (void)describeObject(mlops::kube::decodePodProtobuf(body));
  (void)describeObject(mlops::kube::decodeProtobufStatus(body));
  Result<mlops::kube::ListPage> list =
      mlops::kube::decodeProtobufList(body, mlops::kube::decodePodProtobuf);
  if (list.ok()) {
    (void)list->items.dump();
  }

  ProtobufWatchDecoder whole(mlops::kube::decodeJobProtobuf);
  whole.feed(body);
  whole.finish();
  const std::vector<std::string> expected = drain(whole);

  ProtobufWatchDecoder pieces(mlops::kube::decodeJobProtobuf);
  const std::vector<std::string> got = decodeInPieces(pieces, body, splitSeed);
  FUZZ_CHECK(got == expected, "whole:\n" + joined(expected) + "pieces:\n" + joined(got));

  // The body as one frame's message: the stream decodes it alike.
  if (body.size() < (size_t{1} << 24)) {
    std::string framed;
    const size_t n = body.size();
    framed.push_back(static_cast<char>((n >> 24) & 0xff));
    framed.push_back(static_cast<char>((n >> 16) & 0xff));
    framed.push_back(static_cast<char>((n >> 8) & 0xff));
    framed.push_back(static_cast<char>(n & 0xff));
    framed.append(body);
    ProtobufWatchDecoder one(mlops::kube::decodeJobProtobuf);
    one.feed(framed);
    one.finish();
    const std::vector<std::string> single = drain(one);
    FUZZ_CHECK(single.size() == 1, joined(single));
    FUZZ_CHECK(single[0] == describe(mlops::kube::decodeProtobufWatchEvent(
                                body, mlops::kube::decodeJobProtobuf)),
               single[0]);
  }
  return 0;
}
