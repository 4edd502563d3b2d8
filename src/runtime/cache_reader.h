// Reads from informer caches through the kube::Reader interface, so code
// that reads can be pointed at the cache and code that writes at the API:
// the cache implements only Reader (STYLE.md).
//
// Several informers may cache one resource, each with its own selection
// (namespace, label selector, field selector): e.g. the training controller
// caches Pods labelled app.kubernetes.io/component=training and the rollout
// controller Pods labelled app.kubernetes.io/component=serving. A read is
// answered from an informer whose selection *covers* it, i.e. holds every
// object the read could return:
//
//   an informer covers a read when
//     - its namespace is "" (all) or the read's namespace, and
//     - every requirement of its label selector is implied by the read's
//       labelSelector (LabelSelector::covers), and
//     - every term of its field selector appears verbatim in the read's
//       fieldSelector.
//
//  - list(r, ns, {.labelSelector, .fieldSelector}): the narrowest covering
//    informer answers (fewest objects to filter; ties: the first
//    registered), then the read's own selectors are applied. No covering
//    informer is an InvalidArgument error naming the selection: the read
//    would silently miss objects, which is a wiring mistake. So a reconciler
//    reads a filtered informer by passing the selector it was wired with
//    (or a narrower one).
//  - get(r, ns, name) has no selector: an informer without label and field
//    selectors (covering the namespace) answers if there is one; otherwise
//    every informer of `r` covering the namespace is consulted, in
//    registration order, and the first that holds the object answers. An
//    object no informer selects is NotFound, as it would be for any single
//    filtered informer.
//  - byIndex(r, index, value, labelSelector, fieldSelector): the narrowest
//    informer of `r` that has an index named `index` and covers both
//    selectors; the result is then filtered by `labelSelector`. The field
//    selector must be exactly the informer's own (the cache cannot evaluate
//    other field terms). Index values are "namespace/value" (indexer.h), so
//    no namespace is asked for.
//  - list() honours the field selectors `metadata.name` and
//    `metadata.namespace` (= or ==, !=) beyond those an informer already
//    applied; `limit` and `continue` are ignored: the whole answer is one
//    page. The page's resourceVersion is the answering informer's last
//    synced one.
//  - An informer with a transform (informer.h) answers with the objects as
//    reduced: a resource whose informer keeps only some fields must be read
//    only by code that needs no others (the training controller's Jobs and
//    Pods).
//  - Asking for a resource without any informer is InvalidArgument (a
//    wiring mistake); asking before the answering informer(s) synced is
//    Unavailable (transient, so the reconcile is retried).
//
// Thread safe. Informers are registered at start-up, before reads, and must
// outlive the reader.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "kube/client.h"
#include "runtime/indexed_reader.h"
#include "runtime/indexer.h"
#include "runtime/informer.h"

namespace mlops::runtime {

class CacheReader final : public IndexedReader {
 public:
  // Adds `informer` to those answering reads of its resource. An informer
  // with exactly the same selection as one already registered replaces it.
  void registerInformer(Informer& informer);
  // The informers of `r`, in registration order.
  std::vector<Informer*> informersFor(const kube::Resource& r) const;

  Result<nlohmann::json> get(const kube::Resource& r, const std::string& ns,
                             const std::string& name) override;
  Result<kube::ListPage> list(const kube::Resource& r, const std::string& ns,
                              const kube::ListOptions& opts = {}) override;

  // Objects of resource `r` whose index `index` yields `value` and that
  // match `labelSelector` (copies).
  Result<std::vector<nlohmann::json>> byIndex(const kube::Resource& r, const std::string& index,
                                              const std::string& value,
                                              const std::string& labelSelector = "",
                                              const std::string& fieldSelector = "") override;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::vector<Informer*>> informers_;  // by groupResource
};

}  // namespace mlops::runtime
