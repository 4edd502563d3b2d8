#include "runtime/compact_json.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

namespace mlops::runtime {

namespace {

using Json = nlohmann::json;

enum Tag : std::uint8_t {
  kNull = 0x00,
  kFalse = 0x01,
  kTrue = 0x02,
  kUnsigned = 0x03,
  kNegative = 0x04,
  kFloat64 = 0x05,
  kFloat32 = 0x06,
  kString = 0x07,
  kArray = 0x08,
  kObject = 0x09,
  kBinary = 0x0A,
  kSmallUnsigned = 0x80,  // | n, for n < 128
};

void putVarint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void putBytes(std::string& out, const void* data, std::size_t n) {
  putVarint(out, n);
  out.append(static_cast<const char*>(data), n);
}

// Whether `d` survives a round trip through float (NaN never compares
// equal, so it keeps 8 bytes; out-of-range values are not converted).
bool exactAsFloat(double d) {
  if (std::isnan(d) || std::fabs(d) > std::numeric_limits<float>::max()) {
    return false;
  }
  return static_cast<double>(static_cast<float>(d)) == d;
}

void encodeValue(const Json& v, KeyTable& keys, std::string& out) {
  switch (v.type()) {
    case Json::value_t::null:
    case Json::value_t::discarded:
      out.push_back(static_cast<char>(kNull));
      return;
    case Json::value_t::boolean:
      out.push_back(static_cast<char>(v.get<bool>() ? kTrue : kFalse));
      return;
    case Json::value_t::number_unsigned: {
      const auto n = v.get<std::uint64_t>();
      if (n < 0x80) {
        out.push_back(static_cast<char>(kSmallUnsigned | n));
      } else {
        out.push_back(static_cast<char>(kUnsigned));
        putVarint(out, n);
      }
      return;
    }
    case Json::value_t::number_integer: {
      const auto n = v.get<std::int64_t>();
      if (n >= 0) {
        const auto u = static_cast<std::uint64_t>(n);
        if (u < 0x80) {
          out.push_back(static_cast<char>(kSmallUnsigned | u));
        } else {
          out.push_back(static_cast<char>(kUnsigned));
          putVarint(out, u);
        }
      } else {
        out.push_back(static_cast<char>(kNegative));
        // -(n + 1) fits an int64 for every negative n, INT64_MIN included.
        putVarint(out, static_cast<std::uint64_t>(-(n + 1)));
      }
      return;
    }
    case Json::value_t::number_float: {
      const auto d = v.get<double>();
      if (exactAsFloat(d)) {
        const auto f = static_cast<float>(d);
        out.push_back(static_cast<char>(kFloat32));
        out.append(reinterpret_cast<const char*>(&f), sizeof f);
      } else {
        out.push_back(static_cast<char>(kFloat64));
        out.append(reinterpret_cast<const char*>(&d), sizeof d);
      }
      return;
    }
    case Json::value_t::string: {
      const auto& s = v.get_ref<const Json::string_t&>();
      out.push_back(static_cast<char>(kString));
      putBytes(out, s.data(), s.size());
      return;
    }
    case Json::value_t::binary: {
      const auto& b = v.get_binary();
      out.push_back(static_cast<char>(kBinary));
      putBytes(out, b.data(), b.size());
      return;
    }
    case Json::value_t::array: {
      const auto& a = v.get_ref<const Json::array_t&>();
      out.push_back(static_cast<char>(kArray));
      putVarint(out, a.size());
      for (const Json& item : a) {
        encodeValue(item, keys, out);
      }
      return;
    }
    case Json::value_t::object: {
      const auto& o = v.get_ref<const Json::object_t&>();
      out.push_back(static_cast<char>(kObject));
      putVarint(out, o.size());
      for (const auto& [key, item] : o) {
        if (std::optional<std::uint32_t> id = keys.intern(key)) {
          putVarint(out, std::uint64_t{*id} + 1);
        } else {
          putVarint(out, 0);
          putBytes(out, key.data(), key.size());
        }
        encodeValue(item, keys, out);
      }
      return;
    }
  }
  out.push_back(static_cast<char>(kNull));  // no other type exists
}

// Reads one encoding; every read is bounds-checked, a failure sets ok_.
class Reader {
 public:
  Reader(std::string_view in, const KeyTable& keys) : in_(in), keys_(keys) {}

  std::optional<Json> whole() {
    Json v = value();
    if (!ok_ || pos_ != in_.size()) {
      return std::nullopt;
    }
    return v;
  }

 private:
  bool fail() {
    ok_ = false;
    return false;
  }

  bool byte(std::uint8_t& b) {
    if (pos_ >= in_.size()) {
      return fail();
    }
    b = static_cast<std::uint8_t>(in_[pos_++]);
    return true;
  }

  bool varint(std::uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      std::uint8_t b = 0;
      if (!byte(b)) {
        return false;
      }
      v |= std::uint64_t{b & 0x7Fu} << shift;
      if ((b & 0x80) == 0) {
        return true;
      }
    }
    return fail();  // longer than any 64-bit value
  }

  bool raw(void* to, std::size_t n) {
    if (in_.size() - pos_ < n) {
      return fail();
    }
    std::memcpy(to, in_.data() + pos_, n);
    pos_ += n;
    return true;
  }

  // A length, then that many bytes still to come.
  bool sized(std::string_view& s) {
    std::uint64_t n = 0;
    if (!varint(n) || in_.size() - pos_ < n) {
      return fail();
    }
    s = in_.substr(pos_, n);
    pos_ += n;
    return true;
  }

  // A count of items of at least one byte each, so a corrupt count cannot
  // make us reserve more than the input could hold.
  bool count(std::uint64_t& n) { return varint(n) && (n <= in_.size() - pos_ || fail()); }

  bool key(std::string& out) {
    std::uint64_t k = 0;
    if (!varint(k)) {
      return false;
    }
    if (k == 0) {
      std::string_view s;
      if (!sized(s)) {
        return false;
      }
      out.assign(s);
      return true;
    }
    if (k - 1 > std::numeric_limits<std::uint32_t>::max()) {
      return fail();
    }
    const std::string* known = keys_.find(static_cast<std::uint32_t>(k - 1));
    if (known == nullptr) {
      return fail();
    }
    out = *known;
    return true;
  }

  Json value() {
    std::uint8_t tag = 0;
    if (!byte(tag)) {
      return nullptr;
    }
    if ((tag & kSmallUnsigned) != 0) {
      return std::uint64_t{tag & 0x7Fu};
    }
    switch (tag) {
      case kNull:
        return nullptr;
      case kFalse:
        return false;
      case kTrue:
        return true;
      case kUnsigned: {
        std::uint64_t n = 0;
        varint(n);
        return n;
      }
      case kNegative: {
        std::uint64_t n = 0;
        if (!varint(n) ||
            n > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
          fail();
          return nullptr;
        }
        return -static_cast<std::int64_t>(n) - 1;
      }
      case kFloat64: {
        double d = 0;
        raw(&d, sizeof d);
        return d;
      }
      case kFloat32: {
        float f = 0;
        raw(&f, sizeof f);
        return static_cast<double>(f);
      }
      case kString: {
        std::string_view s;
        sized(s);
        return std::string(s);
      }
      case kBinary: {
        std::string_view s;
        sized(s);
        return Json::binary(std::vector<std::uint8_t>(s.begin(), s.end()));
      }
      case kArray: {
        std::uint64_t n = 0;
        Json a = Json::array();
        if (!count(n)) {
          return a;
        }
        auto& items = a.get_ref<Json::array_t&>();
        items.reserve(n);
        for (std::uint64_t i = 0; i < n && ok_; ++i) {
          items.push_back(value());
        }
        return a;
      }
      case kObject: {
        std::uint64_t n = 0;
        Json o = Json::object();
        if (!count(n)) {
          return o;
        }
        auto& members = o.get_ref<Json::object_t&>();
        std::string k;
        for (std::uint64_t i = 0; i < n && ok_; ++i) {
          if (!key(k)) {
            break;
          }
          // Written in key order: each goes at the end.
          members.emplace_hint(members.end(), k, value());
        }
        return o;
      }
      default:
        fail();
        return nullptr;
    }
  }

  std::string_view in_;
  const KeyTable& keys_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace

std::optional<std::uint32_t> KeyTable::intern(const std::string& key) {
  if (auto it = byKey_.find(key); it != byKey_.end()) {
    return it->second;
  }
  if (key.size() > kMaxKeyLength || byId_.size() >= capacity_) {
    return std::nullopt;
  }
  const auto id = static_cast<std::uint32_t>(byId_.size());
  auto inserted = byKey_.emplace(key, id).first;
  byId_.push_back(&inserted->first);
  // A hash node (key, number, link, cached hash), the key's heap bytes
  // beyond the small-string buffer, and its slot in byId_.
  constexpr std::size_t kNodeBytes = sizeof(std::string) + 3 * sizeof(void*);
  bytes_ += kNodeBytes + (key.size() > 15 ? key.size() + 1 : 0) + sizeof(void*) * 2;
  return id;
}

const std::string* KeyTable::find(std::uint32_t id) const {
  return id < byId_.size() ? byId_[id] : nullptr;
}

std::string encodeCompact(const nlohmann::json& value, KeyTable& keys) {
  std::string out;
  encodeValue(value, keys, out);
  out.shrink_to_fit();
  return out;
}

std::optional<nlohmann::json> decodeCompact(std::string_view bytes, const KeyTable& keys) {
  return Reader(bytes, keys).whole();
}

}  // namespace mlops::runtime
