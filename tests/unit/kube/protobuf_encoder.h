// Writing the protobuf wire format by hand, for tests of the decoders: each
// helper returns the bytes of one field, and a message is their
// concatenation.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mlops::kube::pbtest {

inline std::string varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}

// A varint field (int32, int64, bool). Negative int32 values are written as
// the ten-byte varint of the sign-extended value, as protobuf does.
inline std::string num(uint32_t field, int64_t v) {
  return varint(uint64_t{field} << 3) + varint(static_cast<uint64_t>(v));
}

// A length-delimited field: a string, bytes or a nested message.
inline std::string bytes(uint32_t field, std::string_view value) {
  return varint((uint64_t{field} << 3) | 2) + varint(value.size()) + std::string(value);
}

// A metav1.Time field.
inline std::string time(uint32_t field, int64_t seconds) {
  return bytes(field, seconds == 0 ? std::string() : num(1, seconds));
}

// A map<string, string> entry.
inline std::string entry(uint32_t field, std::string_view key, std::string_view value) {
  return bytes(field, bytes(1, key) + bytes(2, value));
}

// "k8s\0" and a runtime.Unknown around `raw`.
inline std::string envelope(std::string_view apiVersion, std::string_view kind,
                            std::string_view raw) {
  return std::string("k8s\0", 4) + bytes(1, bytes(1, apiVersion) + bytes(2, kind)) + bytes(2, raw);
}

// One watch frame: a metav1.WatchEvent of `type` around the enveloped object.
inline std::string frame(std::string_view type, std::string_view envelopedObject) {
  const std::string event = bytes(1, type) + bytes(2, bytes(1, envelopedObject));
  const size_t n = event.size();
  std::string out;
  out.push_back(static_cast<char>((n >> 24) & 0xff));
  out.push_back(static_cast<char>((n >> 16) & 0xff));
  out.push_back(static_cast<char>((n >> 8) & 0xff));
  out.push_back(static_cast<char>(n & 0xff));
  return out + event;
}

}  // namespace mlops::kube::pbtest
