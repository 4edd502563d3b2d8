// Bind addresses as the operator's flags spell them (controller-runtime's
// conventions), turned into civetweb's `listening_ports` syntax:
//
//   ":8080"          all IPv4 interfaces, port 8080  → "8080"
//   "127.0.0.1:0"    loopback, a free port           → "127.0.0.1:0"
//   "localhost:9000" loopback                        → "127.0.0.1:9000"
//   "[::1]:8080"     IPv6 literal                    → "[::1]:8080"
//   "0"              disabled (std::nullopt)
//
// Host names other than localhost are rejected: bind to an address.
#pragma once

#include <optional>
#include <string>

#include "core/result.h"

namespace mlops::server {

Result<std::optional<std::string>> civetListeningPorts(const std::string& bindAddress);

}  // namespace mlops::server
