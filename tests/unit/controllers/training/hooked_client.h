// A kube::Client that forwards to the runtime's FakeClient and lets a test
// see every write and step in before it happens (to inject an error or to
// play another writer racing the code under test).
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "fake_client.h"
#include "kube/client.h"

namespace mlops::training::testing {

class HookedClient final : public kube::Client {
 public:
  struct Call {
    std::string verb;      // create, update, updateStatus, mergePatch, apply, remove
    std::string resource;  // groupResource
    std::string name;
  };
  // Runs before each write; an Error it returns is returned instead of
  // forwarding the call.
  using Hook = std::function<std::optional<Error>(const Call& call, const kube::Json& obj)>;

  explicit HookedClient(runtime::testing::FakeClient& fake) : fake_(fake) {}

  void setHook(Hook hook) {
    std::lock_guard lock(mu_);
    hook_ = std::move(hook);
  }
  std::vector<Call> writes() const {
    std::lock_guard lock(mu_);
    return writes_;
  }
  // Writes of `verb` on `resource` ("trainingruns.mlops.dev", ...).
  int count(const std::string& verb, const std::string& resource) const {
    std::lock_guard lock(mu_);
    int n = 0;
    for (const auto& c : writes_) n += c.verb == verb && c.resource == resource ? 1 : 0;
    return n;
  }
  void clearWrites() {
    std::lock_guard lock(mu_);
    writes_.clear();
  }

  Result<kube::Json> get(const kube::Resource& r, const std::string& ns,
                         const std::string& name) override {
    return fake_.get(r, ns, name);
  }
  Result<kube::ListPage> list(const kube::Resource& r, const std::string& ns,
                              const kube::ListOptions& opts = {}) override {
    return fake_.list(r, ns, opts);
  }
  Result<kube::Json> create(const kube::Resource& r, const std::string& ns, const kube::Json& obj,
                            const kube::WriteOptions& opts = {}) override {
    if (auto e = before({"create", r.groupResource(), nameOf(obj)}, obj)) return *e;
    return fake_.create(r, ns, obj, opts);
  }
  Result<kube::Json> update(const kube::Resource& r, const std::string& ns, const kube::Json& obj,
                            const kube::WriteOptions& opts = {}) override {
    if (auto e = before({"update", r.groupResource(), nameOf(obj)}, obj)) return *e;
    return fake_.update(r, ns, obj, opts);
  }
  Result<kube::Json> mergePatch(const kube::Resource& r, const std::string& ns,
                                const std::string& name, const kube::Json& patch,
                                const std::string& subresource = "",
                                const kube::WriteOptions& opts = {}) override {
    if (auto e = before({"mergePatch", r.groupResource(), name}, patch)) return *e;
    return fake_.mergePatch(r, ns, name, patch, subresource, opts);
  }
  Result<kube::Json> apply(const kube::Resource& r, const std::string& ns, const kube::Json& obj,
                           const kube::ApplyOptions& opts,
                           const std::string& subresource = "") override {
    if (auto e = before({"apply", r.groupResource(), nameOf(obj)}, obj)) return *e;
    return fake_.apply(r, ns, obj, opts, subresource);
  }
  Result<kube::Json> remove(const kube::Resource& r, const std::string& ns, const std::string& name,
                            const kube::DeleteOptions& opts = {}) override {
    if (auto e = before({"remove", r.groupResource(), name}, kube::Json())) return *e;
    return fake_.remove(r, ns, name, opts);
  }
  Result<kube::Json> updateStatus(const kube::Resource& r, const std::string& ns,
                                  const kube::Json& obj,
                                  const kube::WriteOptions& opts = {}) override {
    if (auto e = before({"updateStatus", r.groupResource(), nameOf(obj)}, obj)) return *e;
    return fake_.updateStatus(r, ns, obj, opts);
  }
  Result<std::unique_ptr<kube::WatchStream>> watch(const kube::Resource& r, const std::string& ns,
                                                   const kube::WatchOptions& opts) override {
    return fake_.watch(r, ns, opts);
  }

 private:
  static std::string nameOf(const kube::Json& obj) {
    if (!obj.is_object() || !obj.contains("metadata")) return "";
    return obj["metadata"].value("name", "");
  }
  std::optional<Error> before(const Call& call, const kube::Json& obj) {
    Hook hook;
    {
      std::lock_guard lock(mu_);
      writes_.push_back(call);
      hook = hook_;
    }
    return hook ? hook(call, obj) : std::nullopt;
  }

  runtime::testing::FakeClient& fake_;
  mutable std::mutex mu_;
  Hook hook_;
  std::vector<Call> writes_;
};

// An Error as the API server reports it.
inline Error apiError(ErrorCode code, int httpStatus, const std::string& reason,
                      const std::string& message) {
  Error e = makeError(code, message);
  e.httpStatus = httpStatus;
  e.reason = reason;
  return e;
}

}  // namespace mlops::training::testing
