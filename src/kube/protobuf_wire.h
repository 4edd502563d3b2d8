// Reading the protobuf wire format: just enough to decode the Kubernetes
// API's protobuf encoding (protobuf_api.h) without generated code.
//
// A message is a sequence of fields, each a key (field number and wire type,
// a varint) and a value: a varint, 8 or 4 fixed bytes, or length-delimited
// bytes (strings, nested messages, packed repeated scalars). Unknown fields
// are skipped by their wire type, so a newer server's additions are
// harmless. Hostile input (a length past the end, a varint of more than ten
// bytes, a group or an unknown wire type) stops the reader with an error; it
// never reads out of bounds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mlops::kube::pb {

enum class WireType : uint8_t { kVarint = 0, kFixed64 = 1, kBytes = 2, kFixed32 = 5 };

struct Field {
  uint32_t number = 0;
  WireType type = WireType::kVarint;
  uint64_t varint = 0;     // kVarint, kFixed64, kFixed32: the value
  std::string_view bytes;  // kBytes: the value, a view into the input
};

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}

  // The next field, or nullopt at the end of the input or on malformed
  // input (then failed() is true).
  std::optional<Field> next();

  bool failed() const { return !failure_.empty(); }
  // What was malformed, and where: "" while nothing was.
  const std::string& failure() const { return failure_; }

 private:
  bool readVarint(uint64_t& out);
  std::optional<Field> fail(const std::string& why);

  std::string_view data_;
  size_t pos_ = 0;
  std::string failure_;
};

// Fields' values as the schema types them. A varint keeps the low bits for
// int32 (negative int32 values are ten-byte varints of the sign-extended
// value), as protobuf itself does.
inline int64_t asInt64(const Field& f) {
  return static_cast<int64_t>(f.varint);
}
inline int32_t asInt32(const Field& f) {
  return static_cast<int32_t>(static_cast<uint32_t>(f.varint));
}
inline bool asBool(const Field& f) {
  return f.varint != 0;
}

}  // namespace mlops::kube::pb
