// The watch-stream decoder (kube/watch_decoder.h) on arbitrary response
// bodies.
//
// Properties:
//   - decoding never throws or crashes, whatever the bytes;
//   - the result does not depend on how the body is split into pieces: one
//     feed() of the whole body and many feed()s of pieces whose sizes come
//     from the input itself give the same sequence of events and errors;
//   - decodeWatchLine() agrees with the decoder for a single line;
//   - with a small line limit, the decoder never holds more than the limit.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "kube/watch_decoder.h"

namespace {

using mlops::Result;
using mlops::kube::WatchDecoder;
using mlops::kube::WatchEvent;

// One decoded item as comparable text.
std::string describe(const Result<WatchEvent>& item) {
  if (!item.ok()) {
    return std::string("error ") + mlops::errorCodeName(item.error().code) + " " +
           item.error().message;
  }
  return std::string(mlops::kube::watchEventTypeName(item->type)) + " " + item->object.dump();
}

std::vector<std::string> drain(WatchDecoder& decoder) {
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
  // The first byte chooses the piece sizes; the rest is the body.
  const uint8_t splitSeed = data[0];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);

  WatchDecoder whole;
  whole.feed(body);
  whole.finish();
  const std::vector<std::string> expected = drain(whole);

  // Pieces of 1..16 bytes, sizes cycling through a pattern from the seed, and
  // items taken out while feeding (as the REST client does).
  WatchDecoder pieces;
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
  FUZZ_CHECK(pieces.pendingBytes() == 0, "bytes held after finish()");

  // A body without newline is exactly one line: decodeWatchLine must agree
  // (modulo the decoder's blank-line skipping and "\r" stripping).
  if (body.find('\n') == std::string_view::npos && body.find('\r') == std::string_view::npos &&
      expected.size() == 1) {
    FUZZ_CHECK(describe(mlops::kube::decodeWatchLine(body)) == expected[0], expected[0]);
  }

  // A tiny line limit exercises the skipping of over-long lines; the limit
  // must bound what is buffered.
  constexpr size_t kLimit = 32;
  WatchDecoder bounded(kLimit);
  pos = 0;
  for (unsigned step = 0; pos < body.size(); ++step) {
    const size_t n = 1 + (splitSeed + 7 * step) % 24;
    bounded.feed(body.substr(pos, n));
    pos += n;
    FUZZ_CHECK(bounded.pendingBytes() <= kLimit, std::to_string(bounded.pendingBytes()));
    (void)drain(bounded);
  }
  bounded.finish();
  (void)drain(bounded);
  return 0;
}
