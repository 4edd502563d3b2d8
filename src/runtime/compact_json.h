// A compact binary encoding of JSON values for the informer cache, with one
// table of object keys shared by all the objects a cache holds.
//
// Why not CBOR alone, as before: every Kubernetes object spells out the same
// keys ("metadata", "creationTimestamp", "lastTransitionTime" in each
// condition ...), and CBOR writes each one in full. In a settled
// TrainingRun the keys were about a third of its CBOR encoding. Here a key
// is written once, in the table, and each object holds its number (one byte
// for the first 127 keys, two up to 16383).
//
// The format is this process's own (nothing else reads it):
//   value := tag payload
//     0x00 null, 0x01 false, 0x02 true
//     0x03 unsigned integer (varint)
//     0x04 negative integer n (varint of -(n + 1))
//     0x05 float (8 bytes), 0x06 float held exactly in 4 bytes
//     0x07 string (varint length, bytes)
//     0x08 array (varint count, values)
//     0x09 object (varint count, then key value pairs, in key order)
//     0x0A binary (varint length, bytes; no subtype)
//     0x80 | n: unsigned integer n, 0 to 127
//   key := varint k: k = 0 means the key follows inline (varint length,
//          bytes); otherwise it is the table's key number k - 1.
// A non-negative signed integer is written as unsigned, as CBOR did: both
// read back equal to what was written.
//
// Not thread-safe: the indexer that owns a table guards it, and the
// encodings that use it, with its own lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

namespace mlops::runtime {

// Object keys by number. Append-only: an encoding refers to a key by its
// number for as long as it lives, so a key once numbered keeps its number.
// At most `capacity` keys get a number (a hostile stream of distinct keys
// cannot grow it further); the rest, and keys longer than kMaxKeyLength,
// are written inline.
class KeyTable {
 public:
  static constexpr std::size_t kMaxKeyLength = 64;
  static constexpr std::size_t kDefaultCapacity = 4096;

  explicit KeyTable(std::size_t capacity = kDefaultCapacity) : capacity_(capacity) {}

  // The number of `key`, numbering it if there is room; nullopt when the
  // key must be written inline.
  std::optional<std::uint32_t> intern(const std::string& key);
  // The key numbered `id`, or nullptr.
  const std::string* find(std::uint32_t id) const;

  std::size_t size() const { return byId_.size(); }
  // Heap bytes the table holds (keys and their bookkeeping), estimated.
  std::size_t bytes() const { return bytes_; }

 private:
  std::size_t capacity_;
  std::unordered_map<std::string, std::uint32_t> byKey_;
  std::vector<const std::string*> byId_;  // points at byKey_'s keys (stable)
  std::size_t bytes_ = 0;
};

// Encodes `value`, numbering new keys in `keys`. Never throws (except
// std::bad_alloc).
std::string encodeCompact(const nlohmann::json& value, KeyTable& keys);

// Decodes what encodeCompact wrote with the same table; nullopt for bytes
// that are not such an encoding (cut short, trailing bytes, an unknown tag,
// a key number the table lacks). Nesting is as deep as the value encoded
// was (every level takes a byte). Never throws (except std::bad_alloc).
std::optional<nlohmann::json> decodeCompact(std::string_view bytes, const KeyTable& keys);

}  // namespace mlops::runtime
