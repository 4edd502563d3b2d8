#include "kube/protobuf_wire.h"

namespace mlops::kube::pb {

bool Reader::readVarint(uint64_t& out) {
  out = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos_ >= data_.size()) {
      return false;
    }
    const auto byte = static_cast<uint8_t>(data_[pos_++]);
    out |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      return true;
    }
  }
  return false;  // more than ten bytes
}

std::optional<Field> Reader::fail(const std::string& why) {
  failure_ = why + " at byte " + std::to_string(pos_);
  pos_ = data_.size();
  return std::nullopt;
}

std::optional<Field> Reader::next() {
  if (failed() || pos_ >= data_.size()) {
    return std::nullopt;
  }
  uint64_t key = 0;
  if (!readVarint(key)) {
    return fail("truncated or overlong field key");
  }
  Field f;
  const uint64_t number = key >> 3;
  if (number == 0 || number > 0x1fffffff) {
    return fail("field number " + std::to_string(number) + " out of range");
  }
  f.number = static_cast<uint32_t>(number);
  switch (key & 7) {
    case 0:
      f.type = WireType::kVarint;
      if (!readVarint(f.varint)) {
        return fail("truncated or overlong varint");
      }
      return f;
    case 1:
    case 5: {
      const size_t width = (key & 7) == 1 ? 8 : 4;
      f.type = width == 8 ? WireType::kFixed64 : WireType::kFixed32;
      if (data_.size() - pos_ < width) {
        return fail("truncated fixed-width value");
      }
      for (size_t i = 0; i < width; ++i) {
        f.varint |= static_cast<uint64_t>(static_cast<uint8_t>(data_[pos_ + i])) << (8 * i);
      }
      pos_ += width;
      return f;
    }
    case 2: {
      f.type = WireType::kBytes;
      uint64_t length = 0;
      if (!readVarint(length)) {
        return fail("truncated or overlong length");
      }
      if (length > data_.size() - pos_) {
        return fail("length " + std::to_string(length) + " past the end");
      }
      f.bytes = data_.substr(pos_, static_cast<size_t>(length));
      pos_ += static_cast<size_t>(length);
      return f;
    }
    default:
      // Groups (3, 4) are not used by any Kubernetes type; 6 and 7 do not exist.
      return fail("unsupported wire type " + std::to_string(key & 7));
  }
}

}  // namespace mlops::kube::pb
