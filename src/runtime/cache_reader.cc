#include "runtime/cache_reader.h"

#include "runtime/label_selector.h"
#include "runtime/object.h"

namespace mlops::runtime {
namespace {

struct FieldRequirement {
  std::string field;
  bool equals = true;
  std::string value;
};

Result<std::vector<FieldRequirement>> parseFieldSelector(const std::string& text) {
  std::vector<FieldRequirement> out;
  size_t start = 0;
  while (start <= text.size() && !text.empty()) {
    size_t comma = text.find(',', start);
    std::string part =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    FieldRequirement req;
    size_t op = part.find("!=");
    size_t skip = 2;
    if (op != std::string::npos) {
      req.equals = false;
    } else if ((op = part.find("==")) == std::string::npos) {
      op = part.find('=');
      skip = 1;
    }
    if (op == std::string::npos) {
      return makeError(ErrorCode::kInvalidArgument, "invalid field selector '" + text + "'");
    }
    req.field = part.substr(0, op);
    req.value = part.substr(op + skip);
    if (req.field != "metadata.name" && req.field != "metadata.namespace") {
      return makeError(ErrorCode::kInvalidArgument,
                       "the cache supports only metadata.name and metadata.namespace field "
                       "selectors, not '" +
                           req.field + "'");
    }
    out.push_back(std::move(req));
    if (comma == std::string::npos) {
      break;
    }
    start = comma + 1;
  }
  return out;
}

bool matchesFields(const std::vector<FieldRequirement>& reqs, const nlohmann::json& obj) {
  for (const auto& req : reqs) {
    const std::string actual = req.field == "metadata.name" ? nameOf(obj) : namespaceOf(obj);
    if ((actual == req.value) != req.equals) {
      return false;
    }
  }
  return true;
}

}  // namespace

void CacheReader::registerInformer(Informer& informer) {
  std::lock_guard lock(mu_);
  informers_[informer.resource().groupResource()] = &informer;
}

Informer* CacheReader::informerFor(const kube::Resource& r) const {
  std::lock_guard lock(mu_);
  auto it = informers_.find(r.groupResource());
  return it == informers_.end() ? nullptr : it->second;
}

Result<Informer*> CacheReader::syncedInformer(const kube::Resource& r) const {
  Informer* informer = informerFor(r);
  if (informer == nullptr) {
    return makeError(ErrorCode::kInvalidArgument,
                     "no informer for " + r.groupResource() + " is registered with the cache");
  }
  if (!informer->hasSynced()) {
    return makeError(ErrorCode::kUnavailable,
                     "the cache of " + r.groupResource() + " has not synced yet");
  }
  return informer;
}

Result<nlohmann::json> CacheReader::get(const kube::Resource& r, const std::string& ns,
                                        const std::string& name) {
  auto informer = syncedInformer(r);
  if (!informer) {
    return informer.error();
  }
  ObjectPtr obj = (*informer)->indexer().get(makeKey(r.namespaced ? ns : "", name));
  if (!obj) {
    Error e = makeError(ErrorCode::kNotFound,
                        r.groupResource() + " \"" + name + "\" not found (in the cache)");
    e.reason = "NotFound";
    return e;
  }
  return *obj;
}

Result<kube::ListPage> CacheReader::list(const kube::Resource& r, const std::string& ns,
                                         const kube::ListOptions& opts) {
  auto informer = syncedInformer(r);
  if (!informer) {
    return informer.error();
  }
  auto selector = LabelSelector::parse(opts.labelSelector);
  if (!selector) {
    return selector.error();
  }
  auto fields = parseFieldSelector(opts.fieldSelector);
  if (!fields) {
    return fields.error();
  }

  const Indexer& indexer = (*informer)->indexer();
  std::vector<ObjectPtr> candidates;
  if (r.namespaced && !ns.empty()) {
    auto inNamespace = indexer.byIndex(kNamespaceIndex, ns);
    if (!inNamespace) {
      return inNamespace.error();
    }
    candidates = std::move(*inNamespace);
  } else {
    candidates = indexer.list();
  }
  kube::ListPage page;
  page.resourceVersion = (*informer)->lastSyncResourceVersion();
  for (const auto& obj : candidates) {
    if (!selector->matches(labelsOf(*obj))) {
      continue;
    }
    if (!matchesFields(*fields, *obj)) {
      continue;
    }
    page.items.push_back(*obj);
  }
  return page;
}

Result<std::vector<nlohmann::json>> CacheReader::byIndex(const kube::Resource& r,
                                                         const std::string& index,
                                                         const std::string& value) const {
  auto informer = syncedInformer(r);
  if (!informer) {
    return informer.error();
  }
  auto objects = (*informer)->indexer().byIndex(index, value);
  if (!objects) {
    return objects.error();
  }
  std::vector<nlohmann::json> out;
  out.reserve(objects->size());
  for (const auto& obj : *objects) {
    out.push_back(*obj);
  }
  return out;
}

}  // namespace mlops::runtime
