#include "runtime/indexer.h"

#include "runtime/object.h"

namespace mlops::runtime {

namespace {

// Only our own encodings are decoded (decodeCompact), so that cannot fail;
// a failure would still not throw and reads as an absent object.
ObjectPtr share(std::optional<nlohmann::json> obj) {
  return obj ? std::make_shared<const nlohmann::json>(std::move(*obj)) : nullptr;
}

}  // namespace

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

void Indexer::indexLocked(const Item& item, const nlohmann::json& obj) {
  for (auto& [name, index] : indexes_) {
    for (const auto& value : valuesOf(index, obj)) {
      index.keysByValue[value].insert(&item);
    }
  }
}

void Indexer::unindexLocked(const Item& item, const nlohmann::json* obj) {
  for (auto& named : indexes_) {
    Index& index = named.second;
    auto drop = [&](std::map<std::string, ItemSet>::iterator it) {
      it->second.erase(&item);
      return it->second.empty() ? index.keysByValue.erase(it) : std::next(it);
    };
    if (obj == nullptr) {
      // What the item held is unknown (its encoding did not decode, which
      // our own encodings never fail to): no entry may be left pointing at
      // a node about to go, so look everywhere.
      for (auto it = index.keysByValue.begin(); it != index.keysByValue.end();) {
        it = drop(it);
      }
      continue;
    }
    for (const auto& value : valuesOf(index, *obj)) {
      if (auto it = index.keysByValue.find(value); it != index.keysByValue.end()) {
        drop(it);
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
  for (const Item& item : items_) {
    if (auto obj = decodeCompact(item.second, keyTable_)) {
      for (const auto& value : valuesOf(index, *obj)) {
        index.keysByValue[value].insert(&item);
      }
    }
  }
  return okStatus();
}

bool Indexer::hasIndex(const std::string& name) const {
  std::shared_lock lock(mu_);
  return indexes_.count(name) != 0;
}

std::optional<nlohmann::json> Indexer::getCopy(const std::string& key) const {
  std::shared_lock lock(mu_);
  auto it = items_.find(key);
  if (it == items_.end()) {
    return std::nullopt;
  }
  return decodeCompact(it->second, keyTable_);
}

ObjectPtr Indexer::get(const std::string& key) const {
  return share(getCopy(key));
}

std::vector<nlohmann::json> Indexer::listCopy() const {
  std::shared_lock lock(mu_);
  std::vector<nlohmann::json> out;
  out.reserve(items_.size());
  for (const auto& [key, encoded] : items_) {
    if (auto obj = decodeCompact(encoded, keyTable_)) {
      out.push_back(std::move(*obj));
    }
  }
  return out;
}

std::vector<ObjectPtr> Indexer::list() const {
  std::vector<ObjectPtr> out;
  for (auto& obj : listCopy()) {
    out.push_back(share(std::move(obj)));
  }
  return out;
}

std::vector<std::string> Indexer::keys() const {
  std::shared_lock lock(mu_);
  std::vector<std::string> out;
  out.reserve(items_.size());
  for (const auto& [key, encoded] : items_) {
    out.push_back(key);
  }
  return out;
}

Result<const Indexer::ItemSet*> Indexer::keysLocked(const std::string& name,
                                                    const std::string& value) const {
  auto index = indexes_.find(name);
  if (index == indexes_.end()) {
    return makeError(ErrorCode::kInvalidArgument, "no index named '" + name + "'");
  }
  auto keys = index->second.keysByValue.find(value);
  return keys == index->second.keysByValue.end() ? nullptr : &keys->second;
}

Result<std::vector<nlohmann::json>> Indexer::byIndexCopy(const std::string& name,
                                                         const std::string& value) const {
  std::shared_lock lock(mu_);
  auto keys = keysLocked(name, value);
  if (!keys) {
    return keys.error();
  }
  std::vector<nlohmann::json> out;
  if (*keys == nullptr) {
    return out;
  }
  for (const Item* item : **keys) {
    if (auto obj = decodeCompact(item->second, keyTable_)) {
      out.push_back(std::move(*obj));
    }
  }
  return out;
}

Result<std::vector<ObjectPtr>> Indexer::byIndex(const std::string& name,
                                                const std::string& value) const {
  auto objects = byIndexCopy(name, value);
  if (!objects) {
    return objects.error();
  }
  std::vector<ObjectPtr> out;
  out.reserve(objects->size());
  for (auto& obj : *objects) {
    out.push_back(share(std::move(obj)));
  }
  return out;
}

Result<std::map<std::string, std::size_t>> Indexer::countByIndex(const std::string& name) const {
  std::shared_lock lock(mu_);
  auto index = indexes_.find(name);
  if (index == indexes_.end()) {
    return makeError(ErrorCode::kInvalidArgument, "no index named '" + name + "'");
  }
  std::map<std::string, std::size_t> out;
  for (const auto& [value, keys] : index->second.keysByValue) {
    if (!keys.empty()) {
      out.emplace(value, keys.size());
    }
  }
  return out;
}

std::size_t Indexer::size() const {
  std::shared_lock lock(mu_);
  return items_.size();
}

std::size_t Indexer::encodedBytes() const {
  std::shared_lock lock(mu_);
  return encodedBytes_;
}

ObjectPtr Indexer::upsert(const std::string& key, const ObjectPtr& obj) {
  std::unique_lock lock(mu_);
  const std::size_t tableBefore = keyTable_.bytes();
  std::string encoded = encodeCompact(*obj, keyTable_);
  encodedBytes_ += keyTable_.bytes() - tableBefore;
  ObjectPtr previous;
  auto it = items_.find(key);
  if (it != items_.end()) {
    previous = share(decodeCompact(it->second, keyTable_));
    unindexLocked(*it, previous.get());
    encodedBytes_ = encodedBytes_ - it->second.size() + encoded.size();
    it->second = std::move(encoded);
  } else {
    encodedBytes_ += encoded.size();
    it = items_.emplace(key, std::move(encoded)).first;
  }
  indexLocked(*it, *obj);
  return previous;
}

ObjectPtr Indexer::remove(const std::string& key) {
  std::unique_lock lock(mu_);
  auto it = items_.find(key);
  if (it == items_.end()) {
    return nullptr;
  }
  ObjectPtr previous = share(decodeCompact(it->second, keyTable_));
  unindexLocked(*it, previous.get());
  encodedBytes_ -= it->second.size();
  items_.erase(it);
  if (items_.empty()) {  // no encoding refers to the table any more
    keyTable_ = KeyTable();
    encodedBytes_ = 0;
  }
  return previous;
}

std::vector<ObjectPtr> Indexer::replace(const std::map<std::string, ObjectPtr>& objects) {
  std::unique_lock lock(mu_);
  std::vector<ObjectPtr> dropped;
  for (const auto& [key, encoded] : items_) {
    if (objects.count(key) == 0) {
      if (ObjectPtr obj = share(decodeCompact(encoded, keyTable_))) {
        dropped.push_back(std::move(obj));
      }
    }
  }
  // Every encoding is made anew, so the table starts anew too: keys only
  // objects gone since the last relist used are forgotten.
  KeyTable table;
  std::map<std::string, std::string> next;
  std::size_t nextBytes = 0;
  for (const auto& [key, obj] : objects) {
    nextBytes += next.emplace(key, encodeCompact(*obj, table)).first->second.size();
  }
  keyTable_ = std::move(table);
  nextBytes += keyTable_.bytes();
  items_ = std::move(next);
  encodedBytes_ = nextBytes;
  for (auto& [name, index] : indexes_) {
    index.keysByValue.clear();
  }
  // items_ holds exactly the keys of `objects`, in the same order.
  auto item = items_.begin();
  for (const auto& [key, obj] : objects) {
    indexLocked(*item++, *obj);
  }
  return dropped;
}

}  // namespace mlops::runtime
