#include "fake_client.h"

#include <algorithm>

#include "kube/watch_decoder.h"

#include "runtime/label_selector.h"
#include "runtime/object.h"

namespace mlops::runtime::testing {

struct FakeClient::StreamState {
  std::string resource;
  std::string ns;
  LabelSelector selector;
  bool allowBookmarks = false;
  std::string from;  // the resourceVersion the watch started from
  size_t pos = 0;    // next history index to look at
  bool gone = false;
  bool cancelled = false;
  bool ended = false;
  std::optional<Error> broken;
};

namespace {

Error apiError(ErrorCode code, int http, const std::string& reason, const std::string& message) {
  Error e = makeError(code, message);
  e.httpStatus = http;
  e.reason = reason;
  return e;
}

Error notFound(const std::string& res, const std::string& name) {
  return apiError(ErrorCode::kNotFound, 404, "NotFound", res + " \"" + name + "\" not found");
}

Json statusObject(int code, const std::string& reason, const std::string& message) {
  return {{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", Json::object()},
          {"status", "Failure"}, {"message", message}, {"reason", reason},
          {"code", code}};
}

// Streams deliver what the API server would put on the wire, decoded by the
// real watch decoder: the reflector sees exactly what it sees in production
// (for instance, an ERROR event with code 410 arrives as a kGone error).
Result<std::optional<kube::WatchEvent>> throughDecoder(const kube::WatchEvent& event) {
  const Json line = {{"type", kube::watchEventTypeName(event.type)}, {"object", event.object}};
  auto decoded = kube::decodeWatchLine(line.dump());
  if (!decoded) return decoded.error();
  return std::optional<kube::WatchEvent>(std::move(*decoded));
}

// Registers a wake-up of `cv` on `token` while it lives (the caller must not
// hold `mu` when constructing or destroying it).
class WakeOnCancel {
 public:
  WakeOnCancel(const kube::CancelToken* token, std::mutex& mu, std::condition_variable& cv)
      : token_(token) {
    if (token_ != nullptr) {
      id_ = token_->subscribe([&mu, &cv] {
        std::lock_guard lock(mu);
        cv.notify_all();
      });
    }
  }
  ~WakeOnCancel() {
    if (token_ != nullptr) token_->unsubscribe(id_);
  }
  WakeOnCancel(const WakeOnCancel&) = delete;
  WakeOnCancel& operator=(const WakeOnCancel&) = delete;

 private:
  const kube::CancelToken* token_;
  uint64_t id_ = 0;
};

bool isCancelled(const kube::CancelToken* token) {
  return token != nullptr && token->cancelled();
}

Error conflict(const std::string& message) {
  return apiError(ErrorCode::kConflict, 409, "Conflict", message);
}

Error staleResourceVersion() {
  return conflict(
      "the object has been modified; please apply your changes to the latest version and try "
      "again");
}

constexpr const char* kDeletionTimestamp = "2024-01-01T00:00:01Z";

// What metadata.generation follows: everything but metadata and status.
Json specPart(const Json& obj) {
  Json out = obj;
  if (out.is_object()) {
    for (const char* key : {"metadata", "status", "apiVersion", "kind"}) out.erase(key);
  }
  return out;
}

bool hasFinalizers(const Json& obj) {
  const Json& meta = obj.contains("metadata") ? obj["metadata"] : Json();
  return meta.is_object() && meta.contains("finalizers") && meta["finalizers"].is_array() &&
         !meta["finalizers"].empty();
}

bool isDeleting(const Json& obj) {
  return obj.contains("metadata") && obj["metadata"].is_object() &&
         obj["metadata"].contains("deletionTimestamp");
}

std::string escapePointer(const std::string& token) {
  std::string out;
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

// "/metadata/labels/mlops.dev~1model" → "metadata.labels.mlops.dev/model"
std::string dotted(const std::string& pointer) {
  std::vector<std::string> parts;
  Json::json_pointer p(pointer);
  while (!p.empty()) {
    parts.insert(parts.begin(), p.back());
    p.pop_back();
  }
  std::string out;
  for (const auto& part : parts) out += (out.empty() ? "" : ".") + part;
  return out;
}

// The fields of `obj` at the granularity ownership is tracked (see the
// header): JSON pointer → value. `scope`: which part of the object a write
// addresses.
enum class Scope { kMain, kStatus, kAll };
std::map<std::string, Json> fieldsOf(const Json& obj, Scope scope) {
  std::map<std::string, Json> out;
  if (!obj.is_object()) return out;
  auto secondLevel = [&](const std::string& key, const Json& value) {
    // A map's keys are the fields; an empty map claims nothing.
    if (value.is_object()) {
      for (auto it = value.begin(); it != value.end(); ++it) {
        out["/" + escapePointer(key) + "/" + escapePointer(it.key())] = it.value();
      }
    } else {
      out["/" + escapePointer(key)] = value;
    }
  };
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const std::string& key = it.key();
    if (key == "apiVersion" || key == "kind") continue;
    if (key == "status") {
      if (scope != Scope::kMain) secondLevel(key, it.value());
      continue;
    }
    if (scope == Scope::kStatus) continue;
    if (key == "metadata") {
      const Json& meta = it.value();
      if (!meta.is_object()) continue;
      for (const char* map : {"labels", "annotations"}) {
        if (!meta.contains(map) || !meta[map].is_object()) continue;
        for (auto m = meta[map].begin(); m != meta[map].end(); ++m) {
          out[std::string("/metadata/") + map + "/" + escapePointer(m.key())] = m.value();
        }
      }
      for (const char* list : {"finalizers", "ownerReferences"}) {
        if (meta.contains(list)) out[std::string("/metadata/") + list] = meta[list];
      }
      continue;
    }
    secondLevel(key, it.value());
  }
  return out;
}

bool inScope(const std::string& pointer, Scope scope) {
  const bool status = pointer.rfind("/status", 0) == 0;
  return scope == Scope::kAll || (scope == Scope::kStatus) == status;
}

void erasePointer(Json& obj, const std::string& pointer) {
  Json::json_pointer p(pointer);
  if (p.empty() || !obj.contains(p)) return;
  const std::string last = p.back();
  p.pop_back();
  obj[p].erase(last);
}

}  // namespace

class FakeWatchStream final : public kube::WatchStream {
 public:
  FakeWatchStream(FakeClient& client, std::shared_ptr<FakeClient::StreamState> state)
      : client_(client), state_(std::move(state)) {}
  ~FakeWatchStream() override {
    std::lock_guard lock(client_.mu_);
    client_.streams_.erase(state_);
  }

  Result<std::optional<kube::WatchEvent>> next() override {
    std::unique_lock lock(client_.mu_);
    while (true) {
      auto& s = *state_;
      if (s.cancelled) return makeError(ErrorCode::kCancelled, "watch cancelled");
      if (s.gone) {
        // What an API server without watch cache sends for a compacted
        // resourceVersion: HTTP 200, then one ERROR event.
        s.gone = false;
        s.ended = true;
        return throughDecoder(
            {kube::WatchEventType::kError,
             statusObject(410, "Expired", "too old resource version: " + s.from)});
      }
      if (s.broken) {
        Error e = *s.broken;
        s.broken.reset();
        s.ended = true;
        return e;
      }
      if (s.ended) return std::optional<kube::WatchEvent>();
      while (s.pos < client_.history_.size()) {
        const auto& entry = client_.history_[s.pos++];
        if (entry.resource != s.resource) continue;
        if (entry.event.type == kube::WatchEventType::kBookmark) {
          if (s.allowBookmarks) return throughDecoder(entry.event);
          continue;
        }
        if (entry.event.type == kube::WatchEventType::kError) {
          return throughDecoder(entry.event);
        }
        if (!s.ns.empty() && entry.ns != s.ns) continue;
        if (!s.selector.matches(labelsOf(entry.event.object))) continue;
        return throughDecoder(entry.event);
      }
      client_.changed_.wait(lock);
    }
  }

  void cancel() override {
    std::lock_guard lock(client_.mu_);
    state_->cancelled = true;
    client_.changed_.notify_all();
  }

 private:
  FakeClient& client_;
  std::shared_ptr<FakeClient::StreamState> state_;
};

FakeClient::FakeClient() = default;
FakeClient::~FakeClient() = default;

Json FakeClient::putLocked(const std::string& res, Json obj) {
  const std::string key = objectKey(obj);
  auto& bucket = objects_[res];
  auto existing = bucket.find(key);
  const bool isNew = existing == bucket.end();
  Json& meta = obj["metadata"];
  if (isNew) {
    if (!meta.contains("uid")) {
      meta["uid"] = "uid-" + std::to_string(++uidCounter_);
    }
    meta["creationTimestamp"] = "2024-01-01T00:00:00Z";
    meta["generation"] = 1;
  } else {
    const Json& before = existing->second;
    const Json& was = before["metadata"];
    meta["uid"] = was["uid"];
    meta["creationTimestamp"] = was.value("creationTimestamp", Json("2024-01-01T00:00:00Z"));
    const int64_t generation = was.value("generation", int64_t{1});
    meta["generation"] = specPart(before) == specPart(obj) ? generation : generation + 1;
    if (isDeleting(before)) {
      meta["deletionTimestamp"] = was["deletionTimestamp"];
      if (was.contains("deletionGracePeriodSeconds")) {
        meta["deletionGracePeriodSeconds"] = was["deletionGracePeriodSeconds"];
      }
      if (!hasFinalizers(obj)) {
        // The last finalizer went: the deletion completes.
        meta["resourceVersion"] = std::to_string(rv_ + 1);
        bucket[key] = obj;
        eraseLocked(res, key);
        return obj;
      }
    }
  }
  meta["resourceVersion"] = std::to_string(++rv_);
  bucket[key] = obj;
  emitLocked(res, namespaceOf(obj),
             isNew ? kube::WatchEventType::kAdded : kube::WatchEventType::kModified, obj);
  return obj;
}

void FakeClient::eraseLocked(const std::string& res, const std::string& key) {
  auto& bucket = objects_[res];
  auto it = bucket.find(key);
  if (it == bucket.end()) return;
  Json obj = it->second;
  bucket.erase(it);
  owners_[res].erase(key);
  obj["metadata"]["resourceVersion"] = std::to_string(++rv_);
  emitLocked(res, namespaceOf(obj), kube::WatchEventType::kDeleted, obj);
}

void FakeClient::takeChangedFieldsLocked(const std::string& res, const std::string& key,
                                         const std::string& manager, const Json& before,
                                         const Json& after) {
  if (manager.empty() || objects_[res].count(key) == 0) return;
  const auto was = fieldsOf(before, Scope::kAll);
  const auto now = fieldsOf(after, Scope::kAll);
  auto& owners = owners_[res][key];
  std::set<std::string> pointers;
  for (const auto& [p, v] : was) pointers.insert(p);
  for (const auto& [p, v] : now) pointers.insert(p);
  for (const auto& p : pointers) {
    auto a = was.find(p);
    auto b = now.find(p);
    const bool changed = (a == was.end()) != (b == now.end()) ||
                         (a != was.end() && b != now.end() && a->second != b->second);
    if (!changed) continue;
    for (auto& [m, fields] : owners) fields.erase(p);
    if (b != now.end()) owners[manager].insert(p);
  }
}

void FakeClient::emitLocked(const std::string& res, const std::string& ns,
                            kube::WatchEventType type, const Json& obj) {
  history_.push_back(HistoryEntry{res, ns, kube::WatchEvent{type, obj}, rv_});
  changed_.notify_all();
}

Json FakeClient::put(const kube::Resource& r, Json obj) {
  std::lock_guard lock(mu_);
  return putLocked(r.groupResource(), std::move(obj));
}

void FakeClient::erase(const kube::Resource& r, const std::string& ns, const std::string& name) {
  std::lock_guard lock(mu_);
  eraseLocked(r.groupResource(), makeKey(ns, name));
}

void FakeClient::bookmark(const kube::Resource& r) {
  std::lock_guard lock(mu_);
  Json obj = {{"kind", r.kind},
              {"apiVersion", r.apiVersion()},
              {"metadata", {{"resourceVersion", std::to_string(++rv_)}}}};
  emitLocked(r.groupResource(), "", kube::WatchEventType::kBookmark, obj);
}

void FakeClient::compact() {
  std::lock_guard lock(mu_);
  compactedRv_ = rv_;
}

int64_t FakeClient::currentResourceVersion() const {
  std::lock_guard lock(mu_);
  return rv_;
}

void FakeClient::failNextLists(int count, Error error) {
  std::lock_guard lock(mu_);
  for (int i = 0; i < count; ++i) listFailures_.push_back(error);
}

void FakeClient::failNextWatches(int count, Error error) {
  std::lock_guard lock(mu_);
  for (int i = 0; i < count; ++i) watchFailures_.push_back(error);
}

void FakeClient::failNextWrites(int count, Error error) {
  std::lock_guard lock(mu_);
  for (int i = 0; i < count; ++i) writeFailures_.push_back(error);
}

void FakeClient::endAllWatches() {
  std::lock_guard lock(mu_);
  for (const auto& s : streams_) s->ended = true;
  changed_.notify_all();
}

void FakeClient::breakAllWatches(Error error) {
  std::lock_guard lock(mu_);
  for (const auto& s : streams_) s->broken = error;
  changed_.notify_all();
}

void FakeClient::holdLists(bool hold) {
  std::lock_guard lock(mu_);
  listsHeld_ = hold;
  changed_.notify_all();
}

void FakeClient::holdWatches(bool hold) {
  std::lock_guard lock(mu_);
  watchesHeld_ = hold;
  changed_.notify_all();
}

void FakeClient::expireEveryWatch(bool expire) {
  std::lock_guard lock(mu_);
  expireEveryWatch_ = expire;
}

void FakeClient::omitListResourceVersion(bool omit) {
  std::lock_guard lock(mu_);
  omitListResourceVersion_ = omit;
}

void FakeClient::clearFailures() {
  std::lock_guard lock(mu_);
  listFailures_.clear();
  watchFailures_.clear();
  writeFailures_.clear();
}

void FakeClient::sendErrorEvent(const kube::Resource& r, int code) {
  std::lock_guard lock(mu_);
  emitLocked(r.groupResource(), "", kube::WatchEventType::kError,
             statusObject(code, code == 410 ? "Expired" : "InternalError",
                          "injected error " + std::to_string(code)));
}

std::vector<kube::ListOptions> FakeClient::listCalls() const {
  std::lock_guard lock(mu_);
  return listCalls_;
}

std::vector<kube::WatchOptions> FakeClient::watchCalls() const {
  std::lock_guard lock(mu_);
  return watchCalls_;
}

int FakeClient::openWatches() const {
  std::lock_guard lock(mu_);
  int open = 0;
  for (const auto& s : streams_) {
    if (!s->ended && !s->cancelled) ++open;
  }
  return open;
}

int FakeClient::writeCalls() const {
  std::lock_guard lock(mu_);
  return writeCalls_;
}

std::optional<Json> FakeClient::object(const kube::Resource& r, const std::string& ns,
                                       const std::string& name) const {
  std::lock_guard lock(mu_);
  auto bucket = objects_.find(r.groupResource());
  if (bucket == objects_.end()) return std::nullopt;
  auto it = bucket->second.find(makeKey(ns, name));
  if (it == bucket->second.end()) return std::nullopt;
  return it->second;
}

std::optional<Error> FakeClient::takeWriteFailureLocked() {
  ++writeCalls_;
  if (writeFailures_.empty()) return std::nullopt;
  Error e = writeFailures_.front();
  writeFailures_.pop_front();
  return e;
}

Result<Json> FakeClient::get(const kube::Resource& r, const std::string& ns,
                             const std::string& name) {
  auto obj = object(r, r.namespaced ? ns : "", name);
  if (!obj) return notFound(r.groupResource(), name);
  return *obj;
}

Result<kube::ListPage> FakeClient::list(const kube::Resource& r, const std::string& ns,
                                        const kube::ListOptions& opts) {
  WakeOnCancel wake(opts.cancel, mu_, changed_);
  std::unique_lock lock(mu_);
  listCalls_.push_back(opts);
  changed_.wait(lock, [&] { return !listsHeld_ || isCancelled(opts.cancel); });
  if (isCancelled(opts.cancel)) {
    return makeError(ErrorCode::kCancelled, "list " + r.groupResource() + ": cancelled");
  }
  if (!listFailures_.empty()) {
    Error e = listFailures_.front();
    listFailures_.pop_front();
    return e;
  }
  auto selector = LabelSelector::parse(opts.labelSelector);
  if (!selector) return selector.error();
  std::vector<Json> matching;
  for (const auto& [key, obj] : objects_[r.groupResource()]) {
    if (r.namespaced && !ns.empty() && namespaceOf(obj) != ns) continue;
    if (!selector->matches(labelsOf(obj))) continue;
    matching.push_back(obj);
  }
  size_t offset = opts.continueToken.empty() ? 0 : std::stoul(opts.continueToken);
  size_t end = matching.size();
  if (opts.limit > 0) end = std::min(matching.size(), offset + static_cast<size_t>(opts.limit));
  kube::ListPage page;
  page.resourceVersion = omitListResourceVersion_ ? "" : std::to_string(rv_);
  for (size_t i = offset; i < end; ++i) {
    Json item = matching[i];
    // Like the API server: list items carry no kind/apiVersion.
    item.erase("kind");
    item.erase("apiVersion");
    page.items.push_back(std::move(item));
  }
  if (end < matching.size()) page.continueToken = std::to_string(end);
  return page;
}

bool FakeClient::hasStatusSubresource(const kube::Resource& r) {
  static const std::set<std::string> kWithout = {"configmaps", "secrets", "events", "leases",
                                                 "serviceaccounts"};
  return kWithout.count(r.resource) == 0;
}

Result<Json> FakeClient::create(const kube::Resource& r, const std::string& ns, const Json& obj,
                                const kube::WriteOptions& opts) {
  std::lock_guard lock(mu_);
  if (auto failure = takeWriteFailureLocked()) return *failure;
  Json o = obj;
  if (r.namespaced) o["metadata"]["namespace"] = ns;
  const std::string key = objectKey(o);
  if (objects_[r.groupResource()].count(key) != 0) {
    return apiError(ErrorCode::kAlreadyExists, 409, "AlreadyExists",
                    r.groupResource() + " \"" + nameOf(o) + "\" already exists");
  }
  if (hasStatusSubresource(r)) o.erase("status");
  for (const char* server : {"resourceVersion", "deletionTimestamp", "generation"}) {
    o["metadata"].erase(server);
  }
  Json stored = putLocked(r.groupResource(), o);
  takeChangedFieldsLocked(r.groupResource(), key, opts.fieldManager, Json(), stored);
  return stored;
}

Result<Json> FakeClient::update(const kube::Resource& r, const std::string& ns, const Json& obj,
                                const kube::WriteOptions& opts) {
  std::lock_guard lock(mu_);
  if (auto failure = takeWriteFailureLocked()) return *failure;
  Json o = obj;
  if (r.namespaced) o["metadata"]["namespace"] = ns;
  auto& bucket = objects_[r.groupResource()];
  const std::string key = objectKey(o);
  auto it = bucket.find(key);
  if (it == bucket.end()) return notFound(r.groupResource(), nameOf(o));
  const std::string want = resourceVersionOf(o);
  if (!want.empty() && want != resourceVersionOf(it->second)) return staleResourceVersion();
  const Json before = it->second;
  if (hasStatusSubresource(r)) {
    // The main resource ignores status: only updateStatus() changes it.
    if (before.contains("status")) {
      o["status"] = before["status"];
    } else {
      o.erase("status");
    }
  }
  Json stored = putLocked(r.groupResource(), o);
  takeChangedFieldsLocked(r.groupResource(), key, opts.fieldManager, before, stored);
  return stored;
}

Result<Json> FakeClient::mergePatch(const kube::Resource& r, const std::string& ns,
                                    const std::string& name, const Json& patch,
                                    const std::string& subresource,
                                    const kube::WriteOptions& opts) {
  std::lock_guard lock(mu_);
  if (auto failure = takeWriteFailureLocked()) return *failure;
  auto& bucket = objects_[r.groupResource()];
  const std::string key = makeKey(r.namespaced ? ns : "", name);
  auto it = bucket.find(key);
  if (it == bucket.end()) return notFound(r.groupResource(), name);
  if (subresource == "status" && !hasStatusSubresource(r)) {
    return notFound(r.groupResource() + "/status", name);
  }
  const Json before = it->second;
  if (patch.is_object() && patch.contains("metadata") && patch["metadata"].is_object() &&
      patch["metadata"].contains("resourceVersion") &&
      patch["metadata"]["resourceVersion"] != before["metadata"]["resourceVersion"]) {
    return staleResourceVersion();
  }
  Json patched = before;
  patched.merge_patch(patch);
  Json o = before;
  if (subresource == "status") {
    if (patched.contains("status")) {
      o["status"] = patched["status"];
    } else {
      o.erase("status");
    }
  } else {
    o = patched;
    if (hasStatusSubresource(r)) {
      if (before.contains("status")) {
        o["status"] = before["status"];
      } else {
        o.erase("status");
      }
    }
  }
  Json stored = putLocked(r.groupResource(), o);
  takeChangedFieldsLocked(r.groupResource(), key, opts.fieldManager, before, stored);
  return stored;
}

Result<Json> FakeClient::apply(const kube::Resource& r, const std::string& ns, const Json& obj,
                               const kube::ApplyOptions& opts, const std::string& subresource) {
  std::lock_guard lock(mu_);
  if (auto failure = takeWriteFailureLocked()) return *failure;
  if (opts.fieldManager.empty()) {
    return apiError(ErrorCode::kBadRequest, 400, "BadRequest",
                    "PATCH requests with apply must specify fieldManager");
  }
  const bool statusOnly = subresource == "status";
  const bool withStatus = hasStatusSubresource(r);
  const Scope scope = statusOnly ? Scope::kStatus : (withStatus ? Scope::kMain : Scope::kAll);
  Json o = obj;
  if (r.namespaced) o["metadata"]["namespace"] = ns;
  const std::string res = r.groupResource();
  const std::string key = objectKey(o);
  auto& bucket = objects_[res];
  auto it = bucket.find(key);
  const auto applied = fieldsOf(o, scope);

  if (it == bucket.end()) {
    if (statusOnly) return notFound(res, nameOf(o));
    if (withStatus) o.erase("status");
    for (const char* server : {"resourceVersion", "deletionTimestamp", "generation"}) {
      o["metadata"].erase(server);
    }
    Json stored = putLocked(res, o);
    auto& mine = owners_[res][key][opts.fieldManager];
    for (const auto& [p, v] : applied) mine.insert(p);
    return stored;
  }

  const Json before = it->second;
  auto& owners = owners_[res][key];
  // Conflicts: a field another manager owns, applied with another value.
  std::vector<std::pair<std::string, std::string>> conflicts;  // pointer, manager
  for (const auto& [p, value] : applied) {
    const Json::json_pointer ptr(p);
    if (before.contains(ptr) && before.at(ptr) == value) continue;
    for (const auto& [manager, fields] : owners) {
      if (manager != opts.fieldManager && fields.count(p) != 0) conflicts.emplace_back(p, manager);
    }
  }
  if (!conflicts.empty() && !opts.force) {
    std::string message = "Apply failed with " + std::to_string(conflicts.size()) + " conflict" +
                          (conflicts.size() == 1 ? "" : "s") + ":";
    for (const auto& [p, manager] : conflicts) {
      message += " conflict with \"" + manager + "\": ." + dotted(p) + ";";
    }
    return conflict(message);
  }
  for (const auto& [p, manager] : conflicts) owners[manager].erase(p);

  Json merged = before;
  for (const auto& [p, value] : applied) merged[Json::json_pointer(p)] = value;
  // Fields this manager applied before, in this scope, and leaves out now.
  std::set<std::string>& mine = owners[opts.fieldManager];
  for (const auto& p : std::set<std::string>(mine)) {
    if (!inScope(p, scope) || applied.count(p) != 0) continue;
    mine.erase(p);
    bool ownedByOthers = false;
    for (const auto& [manager, fields] : owners) {
      ownedByOthers = ownedByOthers || (manager != opts.fieldManager && fields.count(p) != 0);
    }
    if (!ownedByOthers) erasePointer(merged, p);
  }
  for (const auto& [p, value] : applied) mine.insert(p);
  return putLocked(res, merged);
}

Result<Json> FakeClient::remove(const kube::Resource& r, const std::string& ns,
                                const std::string& name, const kube::DeleteOptions& opts) {
  std::lock_guard lock(mu_);
  if (auto failure = takeWriteFailureLocked()) return *failure;
  const std::string key = makeKey(r.namespaced ? ns : "", name);
  auto& bucket = objects_[r.groupResource()];
  auto it = bucket.find(key);
  if (it == bucket.end()) return notFound(r.groupResource(), name);
  Json last = it->second;
  if (!opts.preconditionUID.empty() && opts.preconditionUID != uidOf(last)) {
    return conflict("Operation cannot be fulfilled on " + r.groupResource() + " \"" + name +
                    "\": Precondition failed: UID in precondition: " + opts.preconditionUID +
                    ", UID in object meta: " + uidOf(last));
  }
  if (hasFinalizers(last)) {
    // Finalizers hold the object: it is only marked (once).
    if (isDeleting(last)) return last;
    last["metadata"]["deletionTimestamp"] = kDeletionTimestamp;
    last["metadata"]["deletionGracePeriodSeconds"] = 0;
    return putLocked(r.groupResource(), last);
  }
  eraseLocked(r.groupResource(), key);
  return last;
}

Result<Json> FakeClient::updateStatus(const kube::Resource& r, const std::string& ns,
                                      const Json& obj, const kube::WriteOptions& opts) {
  std::lock_guard lock(mu_);
  if (auto failure = takeWriteFailureLocked()) return *failure;
  const std::string key = makeKey(r.namespaced ? ns : "", nameOf(obj));
  if (!hasStatusSubresource(r)) return notFound(r.groupResource() + "/status", nameOf(obj));
  auto& bucket = objects_[r.groupResource()];
  auto it = bucket.find(key);
  if (it == bucket.end()) return notFound(r.groupResource(), nameOf(obj));
  const std::string want = resourceVersionOf(obj);
  if (!want.empty() && want != resourceVersionOf(it->second)) return staleResourceVersion();
  const Json before = it->second;
  // Only status: spec and metadata of `obj` are ignored.
  Json o = before;
  if (obj.contains("status")) {
    o["status"] = obj["status"];
  } else {
    o.erase("status");
  }
  Json stored = putLocked(r.groupResource(), o);
  takeChangedFieldsLocked(r.groupResource(), key, opts.fieldManager, before, stored);
  return stored;
}

std::map<std::string, std::set<std::string>> FakeClient::fieldOwners(
    const kube::Resource& r, const std::string& ns, const std::string& name) const {
  std::lock_guard lock(mu_);
  std::map<std::string, std::set<std::string>> out;
  auto res = owners_.find(r.groupResource());
  if (res == owners_.end()) return out;
  auto obj = res->second.find(makeKey(r.namespaced ? ns : "", name));
  if (obj == res->second.end()) return out;
  for (const auto& [manager, fields] : obj->second) {
    if (fields.empty()) continue;
    for (const auto& p : fields) out[manager].insert(dotted(p));
  }
  return out;
}

Result<std::unique_ptr<kube::WatchStream>> FakeClient::watch(const kube::Resource& r,
                                                             const std::string& ns,
                                                             const kube::WatchOptions& opts) {
  WakeOnCancel wake(opts.cancel, mu_, changed_);
  std::unique_lock lock(mu_);
  watchCalls_.push_back(opts);
  changed_.wait(lock, [&] { return !watchesHeld_ || isCancelled(opts.cancel); });
  if (isCancelled(opts.cancel)) {
    return makeError(ErrorCode::kCancelled, "watch " + r.groupResource() + ": cancelled");
  }
  if (!watchFailures_.empty()) {
    Error e = watchFailures_.front();
    watchFailures_.pop_front();
    return e;
  }
  auto selector = LabelSelector::parse(opts.labelSelector);
  if (!selector) return selector.error();
  auto state = std::make_shared<StreamState>();
  state->resource = r.groupResource();
  state->ns = r.namespaced ? ns : "";
  state->selector = *selector;
  state->allowBookmarks = opts.allowBookmarks;
  int64_t from = rv_;
  state->from = opts.resourceVersion;
  if (!opts.resourceVersion.empty() && opts.resourceVersion != "0") {
    from = std::stoll(opts.resourceVersion);
    if (from < compactedRv_) state->gone = true;
  }
  if (expireEveryWatch_) state->gone = true;
  // Start after every entry at or below `from`.
  state->pos = static_cast<size_t>(
      std::upper_bound(history_.begin(), history_.end(), from,
                       [](int64_t v, const HistoryEntry& e) { return v < e.rv; }) -
      history_.begin());
  streams_.insert(state);
  return std::unique_ptr<kube::WatchStream>(new FakeWatchStream(*this, state));
}

}  // namespace mlops::runtime::testing
