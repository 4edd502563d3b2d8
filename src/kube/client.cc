#include "kube/client.h"

#include <unordered_set>

namespace mlops::kube {

Result<ListPage> listAll(Reader& reader, const Resource& r, const std::string& ns, ListOptions opts,
                         int64_t pageSize) {
  opts.limit = pageSize;
  opts.continueToken.clear();
  ListPage all;
  // A server that hands back a token it handed out before would loop us
  // forever; remember them all (a list has few pages).
  std::unordered_set<std::string> seenTokens;
  bool first = true;
  while (true) {
    Result<ListPage> page = reader.list(r, ns, opts);
    if (!page.ok()) {
      return page.error();
    }
    if (first) {
      all.resourceVersion = page->resourceVersion;
      first = false;
    }
    for (auto& item : page->items) {
      all.items.push_back(std::move(item));
    }
    if (page->continueToken.empty()) {
      break;
    }
    if (!seenTokens.insert(page->continueToken).second) {
      return makeError(ErrorCode::kInternal,
                       "list " + r.groupResource() + ": the server repeated a continue token");
    }
    opts.continueToken = page->continueToken;
    // Later pages are served from the snapshot the token names; a
    // resourceVersion alongside a continue token is rejected by the server.
    opts.resourceVersion.clear();
  }
  return all;
}

}  // namespace mlops::kube
