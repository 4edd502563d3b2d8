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
#include "kube/protobuf_codec.h"
#include "kube/protobuf_objects.h"

namespace {

using mlops::Result;
using mlops::kube::ProtobufWatchDecoder;
using mlops::kube::WatchEvent;
using Json = nlohmann::json;

std::string describe(const Result<Json>& r) {
  return r.ok() ? r->dump() : "error " + r.error().message;
}

std::string describe(const Result<WatchEvent>& item) {
  if (!item.ok()) {
    return std::string("error ") + mlops::errorCodeName(item.error().code) + " " +
           item.error().message;
  }
  return std::string(mlops::kube::watchEventTypeName(item->type)) + " " + item->object.dump();
}

std::vector<std::string> drain(ProtobufWatchDecoder& decoder) {
  std::vector<std::string> out;
  while (auto item = decoder.next()) {
    out.push_back(describe(*item));
  }
  return out;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) {
    out += s + "\n";
  }
  return out;
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
  (void)describe(mlops::kube::decodeJobProtobuf(body));
  (void)describe(mlops::kube::decodePodProtobuf(body));
  (void)describe(mlops::kube::decodeProtobufStatus(body));
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
  std::vector<std::string> got;
  size_t pos = 0;
  for (unsigned step = 0; pos < body.size(); ++step) {
    const size_t n = 1 + ((splitSeed >> (step % 5)) + step) % 16;
    pieces.feed(body.substr(pos, n));
    pos += n;
    for (auto& s : drain(pieces)) {
      got.push_back(std::move(s));
    }
  }
  pieces.finish();
  for (auto& s : drain(pieces)) {
    got.push_back(std::move(s));
  }
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
