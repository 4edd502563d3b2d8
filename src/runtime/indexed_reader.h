// The read port a reconciler gathers through: get and list (kube::Reader)
// plus lookups by index. The informer cache (CacheReader) implements it; a
// reconciler that takes an IndexedReader& can be given the cache in
// production and any small fake in tests, and cannot write through it
// (STYLE.md: read from the cache, write to the API).
//
// Contract, as CacheReader gives it (cache_reader.h has the details):
//  - answers may lag the API server (a cache); NotFound means "not in the
//    cache", not "deleted";
//  - Unavailable means "not synced yet": transient, retry;
//  - InvalidArgument means a wiring mistake (no informer, no such index, no
//    informer whose selection covers the read);
//  - returned objects are copies; nothing read here may be written back
//    without its metadata.resourceVersion (optimistic concurrency).
// Implementations are thread safe.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "kube/client.h"

namespace mlops::runtime {

class IndexedReader : public kube::Reader {
 public:
  // Objects of resource `r` whose index `index` yields `value`
  // ("namespace/value" for the indexes of indexer.h), restricted to those
  // matching `labelSelector` ("" for all) and `fieldSelector` (the terms a
  // field-selected informer applied). The selectors also say which
  // informer's index is meant when several informers of `r` have one.
  virtual Result<std::vector<nlohmann::json>> byIndex(const kube::Resource& r,
                                                      const std::string& index,
                                                      const std::string& value,
                                                      const std::string& labelSelector = "",
                                                      const std::string& fieldSelector = "") = 0;
};

}  // namespace mlops::runtime
