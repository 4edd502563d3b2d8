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
#include "fuzz/watch_items.h"
#include "kube/watch_decoder.h"

using mlops::fuzz::decodeInPieces;
using mlops::fuzz::describe;
using mlops::fuzz::drain;
using mlops::fuzz::joined;
using mlops::kube::WatchDecoder;

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

  // Pieces of 1..16 bytes, taken out while feeding.
  WatchDecoder pieces;
  const std::vector<std::string> got = decodeInPieces(pieces, body, splitSeed);
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
  size_t pos = 0;
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
