// Bind addresses as the operator's flags spell them (controller-runtime's
// conventions):
//
//   ":8080"          every interface, IPv6 and IPv4 (dual stack; IPv4 only
//                    where the machine has no IPv6), port 8080
//   "0.0.0.0:8081"   every IPv4 interface
//   "127.0.0.1:0"    loopback, a free port
//   "localhost:9000" loopback (127.0.0.1)
//   "[::1]:8080"     an IPv6 address; "[::]:8080" every interface, dual stack
//   "0"              disabled (std::nullopt)
//
// Host names other than localhost are rejected: bind to an address.
#pragma once

#include <optional>
#include <string>

#include "core/result.h"

namespace mlops::server {

struct BindAddress {
  std::string host;  // an IP literal without brackets; "" for every interface
  int port = 0;      // 0: the kernel picks a free port
  bool ipv6 = false;
};

Result<std::optional<BindAddress>> parseBindAddress(const std::string& bindAddress);

}  // namespace mlops::server
