// Reads from informer caches through the kube::Reader interface, so code
// that reads can be pointed at the cache and code that writes at the API:
// the cache implements only Reader (STYLE.md).
//
//  - get() and list() answer from the informer registered for the resource
//    (by group and plural); asking for a resource without an informer is an
//    InvalidArgument error (a wiring mistake), and asking before the informer
//    synced is Unavailable (transient, so the reconcile is retried).
//  - list() honours namespace, labelSelector and the field selectors
//    `metadata.name` and `metadata.namespace` (= or ==, !=); `limit` and
//    `continue` are ignored: the whole answer is one page. The page's
//    resourceVersion is the informer's last synced one.
//  - An informer with a label selector caches only matching objects; the
//    cache cannot see the rest.
//  - byIndex() exposes the informers' indexes.
//
// Thread safe. Registering informers is done once at start-up, before reads.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "kube/client.h"
#include "runtime/indexer.h"
#include "runtime/informer.h"

namespace mlops::runtime {

class CacheReader final : public kube::Reader {
 public:
  // The informer must outlive this reader. A second informer for the same
  // resource replaces the first.
  void registerInformer(Informer& informer);
  Informer* informerFor(const kube::Resource& r) const;

  Result<nlohmann::json> get(const kube::Resource& r, const std::string& ns,
                             const std::string& name) override;
  Result<kube::ListPage> list(const kube::Resource& r, const std::string& ns,
                              const kube::ListOptions& opts = {}) override;

  // Objects of resource `r` whose index `index` yields `value` (copies).
  Result<std::vector<nlohmann::json>> byIndex(const kube::Resource& r, const std::string& index,
                                              const std::string& value) const;

 private:
  Result<Informer*> syncedInformer(const kube::Resource& r) const;

  mutable std::mutex mu_;
  std::map<std::string, Informer*> informers_;  // by groupResource
};

}  // namespace mlops::runtime
