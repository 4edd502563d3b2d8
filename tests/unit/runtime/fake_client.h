// An in-memory kube::Client for unit tests of the runtime and controllers.
//
// It behaves like a tiny API server: objects per resource with increasing
// resourceVersions, optimistic concurrency on update, paginated lists, label
// selectors, and watches fed from an event history (from a resourceVersion,
// with bookmarks on request). Faithful where controllers depend on it:
//
//  - Status subresource. Every resource has one except configmaps, secrets,
//    events, leases and serviceaccounts (hasStatusSubresource()). For those
//    that have one: create() and update() ignore `status` (keeping what is
//    stored), updateStatus() takes only `status` (spec and metadata other
//    than the resourceVersion precondition are ignored), mergePatch() with
//    subresource "status" changes only status, without it anything but
//    status. updateStatus() on a resource without one is NotFound.
//  - metadata.generation is 1 on create and grows by one whenever anything
//    other than metadata and status changes (for any write, put() included);
//    clients cannot set it. uid and creationTimestamp are the server's too.
//  - resourceVersion: update() and updateStatus() with a stale
//    metadata.resourceVersion get Conflict (409); without one they are
//    unconditional. A merge patch carrying metadata.resourceVersion is
//    conditional in the same way.
//  - Server-side apply (apply()) tracks field ownership per fieldManager at
//    a documented granularity: the second level of the object — each key
//    of spec (`spec.replicas`, `spec.template`), of status, of data, and each
//    label and annotation; metadata.finalizers and metadata.ownerReferences
//    as a whole; any other top-level field as a whole. Applying a field
//    another manager owns with a different value is a Conflict (409) naming
//    the fields and their managers, unless `force` (which takes them over);
//    applying an equal value shares ownership. Fields a manager applied
//    before and leaves out now are removed, unless another manager still
//    owns them. apply() needs a fieldManager (else BadRequest) and creates
//    the object when absent. create/update/mergePatch/updateStatus with a
//    fieldManager take ownership of the fields they change (never a
//    conflict), as the API server does for non-apply writes.
//  - Finalizers: remove() of an object with metadata.finalizers only sets
//    metadata.deletionTimestamp (a MODIFIED event) and returns the object;
//    a write that leaves such an object without finalizers deletes it.
//  - Delete preconditions: remove() with a preconditionUID that is not the
//    object's uid is a Conflict (409) and deletes nothing.
//
// put() and erase() are the test's side door: put() stores the object as
// given (status included), still assigning resourceVersion, uid and
// generation; it takes no field ownership.
// Tests can also break it: fail the next lists
// or watches, end or break every open watch, compact the history so that
// watches from older versions get 410 Gone, and hold lists or the opening of
// watches until released (or until the call's CancelToken is cancelled).
// Events reach the streams through the real watch decoder.
// Thread safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kube/client.h"

namespace mlops::runtime::testing {

using kube::Json;

class FakeClient final : public kube::Client {
 public:
  FakeClient();
  ~FakeClient() override;

  // ---- Test-side changes (each emits a watch event).
  // Creates or replaces the object (keeping its uid), bumping resourceVersion.
  Json put(const kube::Resource& r, Json obj);
  void erase(const kube::Resource& r, const std::string& ns, const std::string& name);
  // Emits a BOOKMARK with the current resourceVersion to matching watches.
  void bookmark(const kube::Resource& r);
  // Forgets all history: watches (and re-watches) from an older version fail
  // with 410 Gone.
  void compact();
  int64_t currentResourceVersion() const;

  // ---- Failure injection.
  void failNextLists(int count, Error error);
  void failNextWatches(int count, Error error);
  void failNextWrites(int count, Error error);  // create/update/patch/remove
  void endAllWatches();                         // streams end normally
  void breakAllWatches(Error error);            // streams return this error
  void holdLists(bool hold);                    // lists block while held
  void holdWatches(bool hold);                  // opening a watch blocks while held
  // Every watch opened from now on answers 410 Gone (an ERROR event).
  void expireEveryWatch(bool expire);
  // Lists answer without a resourceVersion (as some aggregated APIs do).
  void omitListResourceVersion(bool omit);
  void clearFailures();  // drops pending injected failures
  // Sends an ERROR event carrying a metav1.Status with `code` to matching watches.
  void sendErrorEvent(const kube::Resource& r, int code);

  // ---- Observation.
  std::vector<kube::ListOptions> listCalls() const;
  std::vector<kube::WatchOptions> watchCalls() const;
  int openWatches() const;
  int writeCalls() const;
  std::optional<Json> object(const kube::Resource& r, const std::string& ns,
                             const std::string& name) const;
  // Field ownership of an object: fieldManager → fields ("spec.replicas",
  // "metadata.labels.app"), as apply() and the other writes recorded it.
  std::map<std::string, std::set<std::string>> fieldOwners(const kube::Resource& r,
                                                           const std::string& ns,
                                                           const std::string& name) const;

  static bool hasStatusSubresource(const kube::Resource& r);

  // ---- kube::Client
  Result<Json> get(const kube::Resource& r, const std::string& ns,
                   const std::string& name) override;
  Result<kube::ListPage> list(const kube::Resource& r, const std::string& ns,
                              const kube::ListOptions& opts = {}) override;
  Result<Json> create(const kube::Resource& r, const std::string& ns, const Json& obj,
                      const kube::WriteOptions& opts = {}) override;
  Result<Json> update(const kube::Resource& r, const std::string& ns, const Json& obj,
                      const kube::WriteOptions& opts = {}) override;
  Result<Json> mergePatch(const kube::Resource& r, const std::string& ns, const std::string& name,
                          const Json& patch, const std::string& subresource = "",
                          const kube::WriteOptions& opts = {}) override;
  Result<Json> apply(const kube::Resource& r, const std::string& ns, const Json& obj,
                     const kube::ApplyOptions& opts, const std::string& subresource = "") override;
  Result<Json> remove(const kube::Resource& r, const std::string& ns, const std::string& name,
                      const kube::DeleteOptions& opts = {}) override;
  Result<Json> updateStatus(const kube::Resource& r, const std::string& ns, const Json& obj,
                            const kube::WriteOptions& opts = {}) override;
  Result<std::unique_ptr<kube::WatchStream>> watch(const kube::Resource& r, const std::string& ns,
                                                   const kube::WatchOptions& opts) override;

  struct HistoryEntry {
    std::string resource;  // groupResource
    std::string ns;
    kube::WatchEvent event;
    int64_t rv;
  };
  struct StreamState;  // shared with streams

 private:
  friend class FakeWatchStream;
  // Stores `obj` (new or replacing), assigning resourceVersion, uid,
  // creationTimestamp and generation; an object being deleted whose last
  // finalizer went is deleted instead.
  Json putLocked(const std::string& res, Json obj);
  void eraseLocked(const std::string& res, const std::string& key);
  // Gives `manager` the fields that differ between `before` and `after`
  // (non-apply writes).
  void takeChangedFieldsLocked(const std::string& res, const std::string& key,
                               const std::string& manager, const Json& before, const Json& after);
  void emitLocked(const std::string& res, const std::string& ns, kube::WatchEventType type,
                  const Json& obj);
  std::optional<Error> takeWriteFailureLocked();

  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::map<std::string, std::map<std::string, Json>> objects_;  // resource → key → object
  // resource → key → fieldManager → field pointers ("/spec/replicas")
  std::map<std::string, std::map<std::string, std::map<std::string, std::set<std::string>>>>
      owners_;
  std::vector<HistoryEntry> history_;
  int64_t rv_ = 100;
  int64_t compactedRv_ = 0;  // watches from below this get 410
  int64_t uidCounter_ = 0;
  std::deque<Error> listFailures_;
  std::deque<Error> watchFailures_;
  std::deque<Error> writeFailures_;
  bool listsHeld_ = false;
  bool watchesHeld_ = false;
  bool expireEveryWatch_ = false;
  bool omitListResourceVersion_ = false;
  std::vector<kube::ListOptions> listCalls_;
  std::vector<kube::WatchOptions> watchCalls_;
  int writeCalls_ = 0;
  std::set<std::shared_ptr<StreamState>> streams_;
};

}  // namespace mlops::runtime::testing
