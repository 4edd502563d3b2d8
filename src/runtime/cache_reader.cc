#include "runtime/cache_reader.h"

#include <algorithm>

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

// The comma-separated terms of a field selector, trimmed of nothing: the
// API server's own canonical form is what informers are configured with.
std::vector<std::string> fieldTerms(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (!text.empty()) {
    const size_t comma = text.find(',', start);
    out.push_back(
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) {
      break;
    }
    start = comma + 1;
  }
  return out;
}

std::string joinTerms(const std::vector<std::string>& terms) {
  std::string out;
  for (const auto& t : terms) {
    out += (out.empty() ? "" : ",") + t;
  }
  return out;
}

// A read's selection, parsed once.
struct ReadSelection {
  std::string ns;
  LabelSelector labels;
  std::vector<std::string> fields;
};

bool sameSelection(const InformerOptions& a, const InformerOptions& b) {
  return a.ns == b.ns && a.labelSelector == b.labelSelector && a.fieldSelector == b.fieldSelector &&
         a.transform.name == b.transform.name;
}

// How much an informer leaves out; the narrowest covering informer answers.
size_t narrowness(const Informer& informer) {
  const auto& o = informer.options();
  auto labels = LabelSelector::parse(o.labelSelector);
  return (o.ns.empty() ? 0 : 1) + (labels ? labels->requirements().size() : 0) +
         fieldTerms(o.fieldSelector).size();
}

bool coversNamespace(const Informer& informer, const std::string& ns) {
  const std::string& mine = informer.options().ns;
  return !informer.resource().namespaced || mine.empty() || mine == ns;
}

bool coversLabels(const Informer& informer, const LabelSelector& read) {
  // An informer's selector that does not parse selects nothing the cache
  // can reason about (its reflector fails too): it covers nothing.
  auto labels = LabelSelector::parse(informer.options().labelSelector);
  return labels && labels->covers(read);
}

bool covers(const Informer& informer, const ReadSelection& read) {
  if (!coversNamespace(informer, read.ns) || !coversLabels(informer, read.labels)) {
    return false;
  }
  for (const auto& term : fieldTerms(informer.options().fieldSelector)) {
    if (std::find(read.fields.begin(), read.fields.end(), term) == read.fields.end()) {
      return false;
    }
  }
  return true;
}

std::string describe(const kube::Resource& r, const ReadSelection& read) {
  std::string out = r.groupResource() + " (namespace \"" + read.ns + "\"";
  std::string labels;
  for (const auto& req : read.labels.requirements()) {
    labels += (labels.empty() ? "" : ",") + req.key;
  }
  if (!labels.empty()) {
    out += ", labels on " + labels;
  }
  if (!read.fields.empty()) {
    out += ", fields " + joinTerms(read.fields);
  }
  return out + ")";
}

Status requireSynced(const Informer& informer) {
  if (informer.hasSynced()) {
    return okStatus();
  }
  return makeError(ErrorCode::kUnavailable,
                   "the cache of " + informer.resource().groupResource() +
                       (informer.options().labelSelector.empty()
                            ? ""
                            : " (" + informer.options().labelSelector + ")") +
                       " has not synced yet");
}

Error noInformer(const kube::Resource& r) {
  return makeError(ErrorCode::kInvalidArgument,
                   "no informer for " + r.groupResource() + " is registered with the cache");
}

Error notFoundInCache(const kube::Resource& r, const std::string& name) {
  Error e = makeError(ErrorCode::kNotFound,
                      r.groupResource() + " \"" + name + "\" not found (in the cache)");
  e.reason = "NotFound";
  return e;
}

// The narrowest of `informers` that passes `accept`, or nullptr.
template <typename Accept>
Informer* narrowest(const std::vector<Informer*>& informers, Accept accept) {
  Informer* best = nullptr;
  for (Informer* informer : informers) {
    if (accept(*informer) && (best == nullptr || narrowness(*informer) > narrowness(*best))) {
      best = informer;
    }
  }
  return best;
}

}  // namespace

void CacheReader::registerInformer(Informer& informer) {
  std::lock_guard lock(mu_);
  auto& list = informers_[informer.resource().groupResource()];
  for (auto& existing : list) {
    if (sameSelection(existing->options(), informer.options())) {
      existing = &informer;
      return;
    }
  }
  list.push_back(&informer);
}

std::vector<Informer*> CacheReader::informersFor(const kube::Resource& r) const {
  std::lock_guard lock(mu_);
  auto it = informers_.find(r.groupResource());
  return it == informers_.end() ? std::vector<Informer*>{} : it->second;
}

Result<nlohmann::json> CacheReader::get(const kube::Resource& r, const std::string& ns,
                                        const std::string& name) {
  const std::vector<Informer*> informers = informersFor(r);
  if (informers.empty()) {
    return noInformer(r);
  }
  const std::string key = makeKey(r.namespaced ? ns : "", name);
  const ReadSelection everything{ns, {}, {}};
  if (Informer* all =
          narrowest(informers, [&](const Informer& i) { return covers(i, everything); })) {
    if (auto st = requireSynced(*all); !st) {
      return st.error();
    }
    auto obj = all->indexer().getCopy(key);
    if (!obj) {
      return notFoundInCache(r, name);
    }
    return std::move(*obj);
  }
  // Only filtered informers: the object is in whichever selects it.
  bool anyCoversNamespace = false;
  for (Informer* informer : informers) {
    if (!coversNamespace(*informer, ns)) {
      continue;
    }
    anyCoversNamespace = true;
    if (auto st = requireSynced(*informer); !st) {
      return st.error();
    }
    if (auto obj = informer->indexer().getCopy(key)) {
      return std::move(*obj);
    }
  }
  if (!anyCoversNamespace) {
    return makeError(ErrorCode::kInvalidArgument, "no informer covers " + describe(r, everything));
  }
  return notFoundInCache(r, name);
}

Result<kube::ListPage> CacheReader::list(const kube::Resource& r, const std::string& ns,
                                         const kube::ListOptions& opts) {
  const std::vector<Informer*> informers = informersFor(r);
  if (informers.empty()) {
    return noInformer(r);
  }
  auto selector = LabelSelector::parse(opts.labelSelector);
  if (!selector) {
    return selector.error();
  }
  const ReadSelection read{r.namespaced ? ns : "", *selector, fieldTerms(opts.fieldSelector)};
  Informer* informer = narrowest(informers, [&](const Informer& i) { return covers(i, read); });
  if (informer == nullptr) {
    return makeError(ErrorCode::kInvalidArgument, "no informer covers " + describe(r, read));
  }
  if (auto st = requireSynced(*informer); !st) {
    return st.error();
  }
  // Terms the informer applied already need no second look (and may name
  // fields the cache cannot evaluate, like spec.nodeName).
  const std::vector<std::string> applied = fieldTerms(informer->options().fieldSelector);
  std::vector<std::string> remaining;
  for (const auto& term : read.fields) {
    if (std::find(applied.begin(), applied.end(), term) == applied.end()) {
      remaining.push_back(term);
    }
  }
  auto fields = parseFieldSelector(joinTerms(remaining));
  if (!fields) {
    return fields.error();
  }

  const Indexer& indexer = informer->indexer();
  std::vector<nlohmann::json> candidates;
  if (r.namespaced && !ns.empty()) {
    auto inNamespace = indexer.byIndexCopy(kNamespaceIndex, ns);
    if (!inNamespace) {
      return inNamespace.error();
    }
    candidates = std::move(*inNamespace);
  } else {
    candidates = indexer.listCopy();
  }
  kube::ListPage page;
  page.resourceVersion = informer->lastSyncResourceVersion();
  for (auto& obj : candidates) {
    if (!selector->matches(labelsOf(obj))) {
      continue;
    }
    if (!matchesFields(*fields, obj)) {
      continue;
    }
    page.items.push_back(std::move(obj));
  }
  return page;
}

Result<std::vector<nlohmann::json>> CacheReader::byIndex(const kube::Resource& r,
                                                         const std::string& index,
                                                         const std::string& value,
                                                         const std::string& labelSelector,
                                                         const std::string& fieldSelector) {
  const std::vector<Informer*> informers = informersFor(r);
  if (informers.empty()) {
    return noInformer(r);
  }
  auto selector = LabelSelector::parse(labelSelector);
  if (!selector) {
    return selector.error();
  }
  const ReadSelection read{"", *selector, fieldTerms(fieldSelector)};
  auto hasIndexAndCovers = [&](const Informer& i) {
    // Index values carry the namespace, so any informer's namespace will do.
    auto applied = fieldTerms(i.options().fieldSelector);
    auto asked = read.fields;
    std::sort(applied.begin(), applied.end());
    std::sort(asked.begin(), asked.end());
    return i.indexer().hasIndex(index) && applied == asked && coversLabels(i, read.labels);
  };
  Informer* informer = narrowest(informers, hasIndexAndCovers);
  if (informer == nullptr) {
    return makeError(ErrorCode::kInvalidArgument,
                     "no informer of " + r.groupResource() + " has an index named '" + index +
                         "' and covers the label selector '" + labelSelector +
                         "' with the field selector '" + fieldSelector + "'");
  }
  if (auto st = requireSynced(*informer); !st) {
    return st.error();
  }
  auto objects = informer->indexer().byIndexCopy(index, value);
  if (!objects) {
    return objects.error();
  }
  std::vector<nlohmann::json> out;
  out.reserve(objects->size());
  for (auto& obj : *objects) {
    if (selector->matches(labelsOf(obj))) {
      out.push_back(std::move(obj));
    }
  }
  return out;
}

}  // namespace mlops::runtime
