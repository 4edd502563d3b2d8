// What the watch-body fuzz targets (watch_decoder_fuzz, protobuf_fuzz) share:
// decoded items as comparable text, and feeding a body in pieces.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kube/watch_decoder.h"

namespace mlops::fuzz {

// One decoded item as comparable text.
inline std::string describe(const Result<kube::WatchEvent>& item) {
  if (!item.ok()) {
    return std::string("error ") + errorCodeName(item.error().code) + " " + item.error().message;
  }
  return std::string(kube::watchEventTypeName(item->type)) + " " + item->object.dump();
}

inline std::vector<std::string> drain(kube::WatchBodyDecoder& decoder) {
  std::vector<std::string> out;
  while (auto item = decoder.next()) {
    out.push_back(describe(*item));
  }
  return out;
}

inline std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) {
    out += s + "\n";
  }
  return out;
}

// Feeds `body` in pieces of 1..16 bytes, sizes cycling through a pattern from
// `splitSeed`, taking items out while feeding (as the REST client does), then
// finishes: everything decoded, in order.
inline std::vector<std::string> decodeInPieces(kube::WatchBodyDecoder& decoder,
                                               std::string_view body, uint8_t splitSeed) {
  std::vector<std::string> got;
  size_t pos = 0;
  for (unsigned step = 0; pos < body.size(); ++step) {
    const size_t n = 1 + ((splitSeed >> (step % 5)) + step) % 16;
    decoder.feed(body.substr(pos, n));
    pos += n;
    for (auto& s : drain(decoder)) {
      got.push_back(std::move(s));
    }
  }
  decoder.finish();
  for (auto& s : drain(decoder)) {
    got.push_back(std::move(s));
  }
  return got;
}

}  // namespace mlops::fuzz
