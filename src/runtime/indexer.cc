#include "runtime/indexer.h"

#include "runtime/object.h"

namespace mlops::runtime {

IndexDefinition indexByLabel(const std::string& key) {
  return {"label " + key, [key](const nlohmann::json& obj) -> std::vector<std::string> {
            const auto& labels = labelsOf(obj);
            auto it = labels.find(key);
            if (it == labels.end() || !it->is_string()) {
              return {};
            }
            return {makeKey(namespaceOf(obj), it->get<std::string>())};
          }};
}

IndexDefinition indexByField(const std::string& jsonPointer) {
  const nlohmann::json::json_pointer ptr(jsonPointer);
  return {"field " + jsonPointer, [ptr](const nlohmann::json& obj) -> std::vector<std::string> {
            if (!obj.contains(ptr)) {
              return {};
            }
            const auto& value = obj.at(ptr);
            if (!value.is_string()) {
              return {};
            }
            return {makeKey(namespaceOf(obj), value.get<std::string>())};
          }};
}

Indexer::Indexer() {
  indexes_[kNamespaceIndex].fn = [](const nlohmann::json& obj) -> std::vector<std::string> {
    return {namespaceOf(obj)};
  };
}

std::vector<std::string> Indexer::valuesOf(const Index& index, const nlohmann::json& obj) {
  try {
    return index.fn(obj);
  } catch (const std::exception&) {
    return {};
  }
}

void Indexer::indexLocked(const std::string& key, const nlohmann::json& obj) {
  for (auto& [name, index] : indexes_) {
    for (const auto& value : valuesOf(index, obj)) {
      index.keysByValue[value].insert(key);
    }
  }
}

void Indexer::unindexLocked(const std::string& key, const nlohmann::json& obj) {
  for (auto& [name, index] : indexes_) {
    for (const auto& value : valuesOf(index, obj)) {
      auto it = index.keysByValue.find(value);
      if (it == index.keysByValue.end()) {
        continue;
      }
      it->second.erase(key);
      if (it->second.empty()) {
        index.keysByValue.erase(it);
      }
    }
  }
}

Status Indexer::addIndex(const std::string& name, IndexDefinition definition) {
  std::unique_lock lock(mu_);
  if (auto it = indexes_.find(name); it != indexes_.end()) {
    const std::string& have = it->second.description;
    if (!have.empty() && have == definition.description) {
      return okStatus();  // the same index, registered again (idempotent)
    }
    auto describe = [](const std::string& d) { return d.empty() ? "an unnamed function" : d; };
    return makeError(ErrorCode::kAlreadyExists,
                     "index '" + name + "' is already registered as " + describe(have) +
                         "; registering it again as " + describe(definition.description) +
                         " conflicts (two callers disagree on what the index means)");
  }
  Index& index = indexes_[name];
  index.description = std::move(definition.description);
  index.fn = std::move(definition.fn);
  for (const auto& [key, obj] : items_) {
    for (const auto& value : valuesOf(index, *obj)) {
      index.keysByValue[value].insert(key);
    }
  }
  return okStatus();
}

bool Indexer::hasIndex(const std::string& name) const {
  std::shared_lock lock(mu_);
  return indexes_.count(name) != 0;
}

ObjectPtr Indexer::get(const std::string& key) const {
  std::shared_lock lock(mu_);
  auto it = items_.find(key);
  return it == items_.end() ? nullptr : it->second;
}

std::vector<ObjectPtr> Indexer::list() const {
  std::shared_lock lock(mu_);
  std::vector<ObjectPtr> out;
  out.reserve(items_.size());
  for (const auto& [key, obj] : items_) {
    out.push_back(obj);
  }
  return out;
}

std::vector<std::string> Indexer::keys() const {
  std::shared_lock lock(mu_);
  std::vector<std::string> out;
  out.reserve(items_.size());
  for (const auto& [key, obj] : items_) {
    out.push_back(key);
  }
  return out;
}

Result<std::vector<ObjectPtr>> Indexer::byIndex(const std::string& name,
                                                const std::string& value) const {
  std::shared_lock lock(mu_);
  auto index = indexes_.find(name);
  if (index == indexes_.end()) {
    return makeError(ErrorCode::kInvalidArgument, "no index named '" + name + "'");
  }
  std::vector<ObjectPtr> out;
  auto keys = index->second.keysByValue.find(value);
  if (keys == index->second.keysByValue.end()) {
    return out;
  }
  for (const auto& key : keys->second) {
    if (auto it = items_.find(key); it != items_.end()) {
      out.push_back(it->second);
    }
  }
  return out;
}

std::size_t Indexer::size() const {
  std::shared_lock lock(mu_);
  return items_.size();
}

ObjectPtr Indexer::upsert(const std::string& key, ObjectPtr obj) {
  std::unique_lock lock(mu_);
  ObjectPtr previous;
  auto it = items_.find(key);
  if (it != items_.end()) {
    previous = it->second;
    unindexLocked(key, *previous);
    it->second = obj;
  } else {
    items_.emplace(key, obj);
  }
  indexLocked(key, *obj);
  return previous;
}

ObjectPtr Indexer::remove(const std::string& key) {
  std::unique_lock lock(mu_);
  auto it = items_.find(key);
  if (it == items_.end()) {
    return nullptr;
  }
  ObjectPtr previous = it->second;
  unindexLocked(key, *previous);
  items_.erase(it);
  return previous;
}

std::vector<ObjectPtr> Indexer::replace(std::map<std::string, ObjectPtr> objects) {
  std::unique_lock lock(mu_);
  std::vector<ObjectPtr> dropped;
  for (const auto& [key, obj] : items_) {
    if (objects.count(key) == 0) {
      dropped.push_back(obj);
    }
  }
  items_ = std::move(objects);
  for (auto& [name, index] : indexes_) {
    index.keysByValue.clear();
  }
  for (const auto& [key, obj] : items_) {
    indexLocked(key, *obj);
  }
  return dropped;
}

}  // namespace mlops::runtime
