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
  obj["metadata"]["resourceVersion"] = std::to_string(++rv_);
  if (isNew) {
    if (!obj["metadata"].contains("uid")) {
      obj["metadata"]["uid"] = "uid-" + std::to_string(++uidCounter_);
    }
    obj["metadata"]["creationTimestamp"] = "2024-01-01T00:00:00Z";
  } else {
    obj["metadata"]["uid"] = existing->second["metadata"]["uid"];
  }
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
  obj["metadata"]["resourceVersion"] = std::to_string(++rv_);
  emitLocked(res, namespaceOf(obj), kube::WatchEventType::kDeleted, obj);
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

Result<Json> FakeClient::create(const kube::Resource& r, const std::string& ns, const Json& obj,
                                const kube::WriteOptions&) {
  std::lock_guard lock(mu_);
  if (auto failure = takeWriteFailureLocked()) return *failure;
  Json o = obj;
  if (r.namespaced) o["metadata"]["namespace"] = ns;
  const std::string key = objectKey(o);
  if (objects_[r.groupResource()].count(key) != 0) {
    return apiError(ErrorCode::kAlreadyExists, 409, "AlreadyExists",
                    r.groupResource() + " \"" + nameOf(o) + "\" already exists");
  }
  o["metadata"].erase("resourceVersion");
  return putLocked(r.groupResource(), o);
}

Result<Json> FakeClient::update(const kube::Resource& r, const std::string& ns, const Json& obj,
                                const kube::WriteOptions&) {
  std::lock_guard lock(mu_);
  if (auto failure = takeWriteFailureLocked()) return *failure;
  Json o = obj;
  if (r.namespaced) o["metadata"]["namespace"] = ns;
  auto& bucket = objects_[r.groupResource()];
  auto it = bucket.find(objectKey(o));
  if (it == bucket.end()) return notFound(r.groupResource(), nameOf(o));
  const std::string want = resourceVersionOf(o);
  if (!want.empty() && want != resourceVersionOf(it->second)) {
    return apiError(ErrorCode::kConflict, 409, "Conflict",
                    "the object has been modified; please apply your changes to the latest "
                    "version and try again");
  }
  return putLocked(r.groupResource(), o);
}

Result<Json> FakeClient::mergePatch(const kube::Resource& r, const std::string& ns,
                                    const std::string& name, const Json& patch, const std::string&,
                                    const kube::WriteOptions&) {
  std::lock_guard lock(mu_);
  if (auto failure = takeWriteFailureLocked()) return *failure;
  auto& bucket = objects_[r.groupResource()];
  auto it = bucket.find(makeKey(r.namespaced ? ns : "", name));
  if (it == bucket.end()) return notFound(r.groupResource(), name);
  Json o = it->second;
  o.merge_patch(patch);
  return putLocked(r.groupResource(), o);
}

Result<Json> FakeClient::apply(const kube::Resource& r, const std::string& ns, const Json& obj,
                               const kube::ApplyOptions&, const std::string&) {
  std::lock_guard lock(mu_);
  if (auto failure = takeWriteFailureLocked()) return *failure;
  Json o = obj;
  if (r.namespaced) o["metadata"]["namespace"] = ns;
  auto& bucket = objects_[r.groupResource()];
  auto it = bucket.find(objectKey(o));
  if (it != bucket.end()) {
    Json merged = it->second;
    merged.merge_patch(o);
    o = merged;
  }
  return putLocked(r.groupResource(), o);
}

Result<Json> FakeClient::remove(const kube::Resource& r, const std::string& ns,
                                const std::string& name, const kube::DeleteOptions&) {
  std::lock_guard lock(mu_);
  if (auto failure = takeWriteFailureLocked()) return *failure;
  const std::string key = makeKey(r.namespaced ? ns : "", name);
  auto& bucket = objects_[r.groupResource()];
  auto it = bucket.find(key);
  if (it == bucket.end()) return notFound(r.groupResource(), name);
  Json last = it->second;
  eraseLocked(r.groupResource(), key);
  return last;
}

Result<Json> FakeClient::updateStatus(const kube::Resource& r, const std::string& ns,
                                      const Json& obj, const kube::WriteOptions& opts) {
  return update(r, ns, obj, opts);
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
