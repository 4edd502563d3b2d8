// A thread-safe store of objects keyed "namespace/name", with indexes.
//
// The informer is the only writer; controllers read through it (directly or
// via CacheReader). Objects are held as shared_ptr<const Json>: a reader gets
// a snapshot that stays valid and unchanged however the store moves on, and
// must not modify it.
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
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace mlops::runtime {

using ObjectPtr = std::shared_ptr<const nlohmann::json>;
using IndexFunc = std::function<std::vector<std::string>(const nlohmann::json&)>;

inline constexpr const char* kNamespaceIndex = "namespace";

// Index values "namespace/labelValue" for objects carrying label `key`
// (namespaced, so the same value in two namespaces stays apart).
IndexFunc indexByLabel(const std::string& key);
// Index values "namespace/value" of a string field given as a JSON pointer
// ("/spec/model").
IndexFunc indexByField(const std::string& jsonPointer);

class Indexer {
 public:
  Indexer();

  // Adds an index; existing objects are indexed at once. Fails if the name
  // is taken.
  Status addIndex(const std::string& name, IndexFunc fn);
  bool hasIndex(const std::string& name) const;

  ObjectPtr get(const std::string& key) const;  // nullptr when absent
  std::vector<ObjectPtr> list() const;          // sorted by key
  std::vector<std::string> keys() const;        // sorted
  // Objects whose index `name` yields `value`; an error if there is no such index.
  Result<std::vector<ObjectPtr>> byIndex(const std::string& name, const std::string& value) const;
  std::size_t size() const;

  // Writers (the informer). Each returns the previous object, or nullptr.
  ObjectPtr upsert(const std::string& key, ObjectPtr obj);
  ObjectPtr remove(const std::string& key);
  // Replaces everything; returns the objects that were dropped.
  std::vector<ObjectPtr> replace(std::map<std::string, ObjectPtr> objects);

 private:
  struct Index {
    IndexFunc fn;
    std::map<std::string, std::set<std::string>> keysByValue;
  };
  static std::vector<std::string> valuesOf(const Index& index, const nlohmann::json& obj);
  void indexLocked(const std::string& key, const nlohmann::json& obj);
  void unindexLocked(const std::string& key, const nlohmann::json& obj);

  mutable std::shared_mutex mu_;
  std::map<std::string, ObjectPtr> items_;
  std::map<std::string, Index> indexes_;
};

}  // namespace mlops::runtime
