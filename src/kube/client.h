// The Kubernetes API, as the rest of the operator sees it.
//
// Interfaces are split by capability (STYLE.md): a Reader for get/list, a
// Writer for changes, a StatusWriter for the status subresource, a Watcher for
// streams. `Client` is all of them; caches implement only what they can.
// Objects travel as nlohmann::json exactly as the API server sends them.
//
// Every call is bounded in time (the client's request timeout; watches end at
// `timeoutSeconds` on the server side and an idle timeout on ours) and returns
// an Error instead of throwing. Implementations are thread safe: calls may be
// made concurrently from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/cancel_token.h"
#include "core/result.h"
#include "kube/resource.h"

namespace mlops::kube {

using Json = nlohmann::json;

// Lets one thread abandon calls another thread is making: after cancel(), a
// list, or the opening of a watch, that was given this token returns
// kCancelled promptly instead of running until the request timeout. The
// token lives in core/ so that code outside kube/ (reconcilers, the
// Prometheus client) can share it; the alias keeps kube code unchanged.
using CancelToken = mlops::CancelToken;

// Decodes one object of a built-in type from its protobuf message (the
// bytes inside the API server's protobuf envelope) into JSON: see
// protobuf_objects.h for the ones there are and what they decode.
using ProtobufObjectDecoder = Result<Json> (*)(std::string_view message);

// The Error::reason of every failure to decode a protobuf reply (its
// envelope, a list, a watch frame or an object). Only a server bug or a
// value JSON can carry and the decoders cannot (a time past the year 9999)
// gets there, and it would repeat on every retry: callers that can, such as
// the reflector, ask for JSON from then on.
inline constexpr std::string_view kProtobufUndecodable = "ProtobufUndecodable";
inline bool isProtobufDecodeError(const Error& e) {
  return e.reason == kProtobufUndecodable;
}

struct ListOptions {
  std::string labelSelector;
  std::string fieldSelector;
  int64_t limit = 0;  // 0: no limit (one page)
  std::string continueToken;
  std::string resourceVersion;          // "" (most recent, quorum read) or "0" (any)
  const CancelToken* cancel = nullptr;  // optional: abandons the request when cancelled
  // Optional: ask for protobuf and decode each item with this (a server
  // that answers JSON instead is read as JSON). The items then hold only
  // the fields the decoder reads.
  ProtobufObjectDecoder protobuf = nullptr;
};

struct ListPage {
  Json items = Json::array();
  std::string resourceVersion;  // of the list, to start a watch from
  std::string continueToken;    // "" on the last page
};

struct WriteOptions {
  bool dryRun = false;
  std::string fieldManager;  // for create/update/patch; "" lets the server pick
};

struct ApplyOptions {
  std::string fieldManager;  // required by the API server for apply
  bool force = false;        // take ownership of conflicting fields
  bool dryRun = false;
};

enum class PropagationPolicy { kDefault, kForeground, kBackground, kOrphan };

struct DeleteOptions {
  PropagationPolicy propagation = PropagationPolicy::kDefault;
  std::string preconditionUID;  // delete only if the object still has this UID
  std::optional<int64_t> gracePeriodSeconds;
};

struct WatchOptions {
  std::string labelSelector;
  std::string fieldSelector;
  std::string resourceVersion;  // resume point; "" means "from now"
  bool allowBookmarks = true;
  int timeoutSeconds = 300;  // server closes the stream after this
  // Optional: abandons opening the stream (waiting for the response headers,
  // reading an error reply) when cancelled. An open stream is cancelled with
  // WatchStream::cancel().
  const CancelToken* cancel = nullptr;
  // Optional: as ListOptions::protobuf, for the stream's objects.
  ProtobufObjectDecoder protobuf = nullptr;
};

enum class WatchEventType { kAdded, kModified, kDeleted, kBookmark, kError };

struct WatchEvent {
  WatchEventType type = WatchEventType::kAdded;
  Json object;  // the object; for kError, a metav1.Status
};

// One open watch. `next()` blocks until an event arrives, the stream ends
// (returns nullopt: the caller re-watches from its last resourceVersion), or
// an error occurs. A kError event carrying code 410 is returned as an Error
// with code kGone so callers relist. `cancel()` may be called from another
// thread and makes a blocked `next()` return kCancelled promptly.
class WatchStream {
 public:
  virtual ~WatchStream() = default;
  virtual Result<std::optional<WatchEvent>> next() = 0;
  virtual void cancel() = 0;
};

class Reader {
 public:
  virtual ~Reader() = default;
  virtual Result<Json> get(const Resource& r, const std::string& ns, const std::string& name) = 0;
  // One page; follow `continueToken` for more.
  virtual Result<ListPage> list(const Resource& r, const std::string& ns,
                                const ListOptions& opts = {}) = 0;
};

class Writer {
 public:
  virtual ~Writer() = default;
  virtual Result<Json> create(const Resource& r, const std::string& ns, const Json& obj,
                              const WriteOptions& opts = {}) = 0;
  // PUT; obj must carry metadata.resourceVersion for optimistic concurrency.
  virtual Result<Json> update(const Resource& r, const std::string& ns, const Json& obj,
                              const WriteOptions& opts = {}) = 0;
  // application/merge-patch+json; subresource "" or e.g. "status".
  virtual Result<Json> mergePatch(const Resource& r, const std::string& ns, const std::string& name,
                                  const Json& patch, const std::string& subresource = "",
                                  const WriteOptions& opts = {}) = 0;
  // Server-side apply (application/apply-patch+yaml with a JSON body).
  virtual Result<Json> apply(const Resource& r, const std::string& ns, const Json& obj,
                             const ApplyOptions& opts, const std::string& subresource = "") = 0;
  // Returns the deleted object, or its last state while finalizers run
  // (a metav1.Status body becomes an empty object).
  virtual Result<Json> remove(const Resource& r, const std::string& ns, const std::string& name,
                              const DeleteOptions& opts = {}) = 0;
};

class StatusWriter {
 public:
  virtual ~StatusWriter() = default;
  // PUT on the status subresource; obj carries metadata.resourceVersion.
  virtual Result<Json> updateStatus(const Resource& r, const std::string& ns, const Json& obj,
                                    const WriteOptions& opts = {}) = 0;
};

class Watcher {
 public:
  virtual ~Watcher() = default;
  virtual Result<std::unique_ptr<WatchStream>> watch(const Resource& r, const std::string& ns,
                                                     const WatchOptions& opts) = 0;
};

class Client : public Reader, public Writer, public StatusWriter, public Watcher {};

// Lists every page (limit `pageSize`) and concatenates the items; the returned
// resourceVersion is the one of the first page, which is consistent across
// pages.
Result<ListPage> listAll(Reader& reader, const Resource& r, const std::string& ns, ListOptions opts,
                         int64_t pageSize = 500);

}  // namespace mlops::kube
