// A thread-safe store of objects keyed "namespace/name", with indexes.
//
// The informer is the only writer; controllers read through it (directly or
// via CacheReader). A reader gets its own snapshot (an ObjectPtr, or a copy
// from the *Copy functions) that stays valid and unchanged however the store
// moves on.
//
// Objects are stored encoded (compact_json.h: a binary form of the same JSON
// value whose object keys are numbers in a table the indexer keeps) and
// decoded on every read. Why: a parsed nlohmann::json tree of a Kubernetes
// object takes about five times the bytes of its text (a map node and a
// string per key), and the cache holds thousands of objects that are rarely
// read once settled. Measured on the objects a TrainingRun leaves (`make
// bench`, bench/README.md): 11-13 KB per tree, 1.3-2.1 KB as CBOR, a third
// less with the keys numbered; decoding one costs about what parsing its
// text does (tens of microseconds), a few times a deep copy, which a
// CacheReader read made anyway. Index values are computed from the object
// as it is stored.
//
// An index maps each object to zero or more index values (an IndexFunc);
// byIndex(name, value) returns the objects with that value. The "namespace"
// index is always present. Custom indexes, e.g. by a label's value:
//
//   indexer.addIndex("model", indexByLabel("mlops.dev/model"));
//   auto versions = indexer.byIndex("model", makeKey(ns, "churn"));
//
// An IndexFunc must be pure and cheap; one that throws is treated as
// returning no values.
//
// Registering an index is idempotent by *definition*: indexByLabel() and
// indexByField() describe what they compute ("label mlops.dev/model"), so
// two controllers that register the same index under the same name (the
// training and rollout controllers share informers) both succeed, while a
// second registration under a taken name that computes something else is an
// AlreadyExists error naming both definitions. A bare IndexFunc has no
// description and can never be proven equal: registering one under a taken
// name is always that error. Why an Error rather than an abort: it is a
// wiring bug, and wiring code already returns Status up to main, which
// exits with one clear line at start-up; as a value it is also testable.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "runtime/compact_json.h"

namespace mlops::runtime {

using ObjectPtr = std::shared_ptr<const nlohmann::json>;
using IndexFunc = std::function<std::vector<std::string>(const nlohmann::json&)>;

// An index function and a description of what it computes, by which two
// registrations under one name are compared. Callable like the function.
struct IndexDefinition {
  std::string description;  // "" = anonymous: equal to no other definition
  IndexFunc fn;

  std::vector<std::string> operator()(const nlohmann::json& obj) const { return fn(obj); }
};

inline constexpr const char* kNamespaceIndex = "namespace";

// Index values "namespace/labelValue" for objects carrying label `key`
// (namespaced, so the same value in two namespaces stays apart).
IndexDefinition indexByLabel(const std::string& key);
// Index values "namespace/value" of a string field given as a JSON pointer
// ("/spec/model").
IndexDefinition indexByField(const std::string& jsonPointer);

class Indexer {
 public:
  Indexer();

  // Adds an index; existing objects are indexed at once. The same
  // definition again under the same name is a no-op; another one is an
  // AlreadyExists error (see above).
  Status addIndex(const std::string& name, IndexDefinition definition);
  Status addIndex(const std::string& name, IndexFunc fn) {
    return addIndex(name, IndexDefinition{"", std::move(fn)});
  }
  bool hasIndex(const std::string& name) const;

  ObjectPtr get(const std::string& key) const;  // nullptr when absent
  std::vector<ObjectPtr> list() const;          // sorted by key
  std::vector<std::string> keys() const;        // sorted
  // Objects whose index `name` yields `value`; an error if there is no such index.
  Result<std::vector<ObjectPtr>> byIndex(const std::string& name, const std::string& value) const;
  // The same reads as values, for callers that want a copy to keep or
  // change (CacheReader): decoded straight into the value, no second copy.
  std::optional<nlohmann::json> getCopy(const std::string& key) const;
  std::vector<nlohmann::json> listCopy() const;
  Result<std::vector<nlohmann::json>> byIndexCopy(const std::string& name,
                                                  const std::string& value) const;
  // How many objects yield each value of index `name` (values no object
  // yields are absent), without decoding any object; an error if there is
  // no such index.
  Result<std::map<std::string, std::size_t>> countByIndex(const std::string& name) const;
  std::size_t size() const;
  // Bytes of the stored encodings and of their key table (not of the maps
  // around them), kept as a running total: a scrape reads it for every
  // informer.
  std::size_t encodedBytes() const;

  // Writers (the informer). Each returns the previous object, or nullptr.
  ObjectPtr upsert(const std::string& key, const ObjectPtr& obj);
  ObjectPtr remove(const std::string& key);
  // Replaces everything; returns the objects that were dropped.
  std::vector<ObjectPtr> replace(const std::map<std::string, ObjectPtr>& objects);

 private:
  // An index entry points at the item's node in items_ (std::map nodes do
  // not move) instead of holding a copy of its key: about 80 bytes less per
  // entry, and a lookup by index reads the encoding without a search.
  using Item = std::map<std::string, std::string>::value_type;
  struct ByKey {
    bool operator()(const Item* a, const Item* b) const { return a->first < b->first; }
  };
  using ItemSet = std::set<const Item*, ByKey>;
  struct Index {
    std::string description;
    IndexFunc fn;
    std::map<std::string, ItemSet> keysByValue;
  };
  static std::vector<std::string> valuesOf(const Index& index, const nlohmann::json& obj);
  // `obj` is what `item` holds now (index) or held before (unindex).
  void indexLocked(const Item& item, const nlohmann::json& obj);
  void unindexLocked(const Item& item, const nlohmann::json* obj);
  // Items whose index `name` yields `value` (nullptr for none); an error if
  // there is no such index.
  Result<const ItemSet*> keysLocked(const std::string& name, const std::string& value) const;

  mutable std::shared_mutex mu_;
  std::map<std::string, std::string> items_;  // key → the object's encoding
  std::size_t encodedBytes_ = 0;              // the sum of items_' encodings' sizes
  // The encodings' object keys. Only grows: an encoding refers to its keys
  // by number for as long as it is stored. Encoded and decoded under mu_.
  KeyTable keyTable_;
  std::map<std::string, Index> indexes_;
};

}  // namespace mlops::runtime
