// Stopping a civetweb server quickly.
//
// civetweb's listener thread polls its sockets with a 2 s timeout and only
// then notices a stop request, so mg_stop() can take 2 s. While `stop` runs,
// this connects to the server's port on loopback every few milliseconds so
// that the poll returns at once. Internal to src/server.
#pragma once

#include <functional>

namespace mlops::server {

void stopWithWakeups(int port, const std::function<void()>& stop);

}  // namespace mlops::server
