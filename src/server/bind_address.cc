#include "server/bind_address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace mlops::server {
namespace {

bool isPort(const std::string& s) {
  if (s.empty() || s.size() > 5) {
    return false;
  }
  if (!std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; })) {
    return false;
  }
  return std::stoi(s) <= 65535;
}

Error invalid(const std::string& address, const std::string& why) {
  return makeError(ErrorCode::kInvalidArgument, "invalid bind address '" + address + "': " + why);
}

}  // namespace

Result<std::optional<BindAddress>> parseBindAddress(const std::string& bindAddress) {
  if (bindAddress == "0") {
    return std::optional<BindAddress>();
  }
  const auto colon = bindAddress.rfind(':');
  if (colon == std::string::npos) {
    return invalid(bindAddress, "expected host:port or :port");
  }
  std::string host = bindAddress.substr(0, colon);
  const std::string port = bindAddress.substr(colon + 1);
  if (!isPort(port)) {
    return invalid(bindAddress, "bad port '" + port + "'");
  }
  BindAddress out;
  out.port = std::stoi(port);
  if (host.empty()) {
    out.ipv6 = true;  // dual stack, as Go listens on ":port"
    return std::optional<BindAddress>(out);
  }
  if (host == "localhost") {
    host = "127.0.0.1";
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    in6_addr addr6{};
    if (inet_pton(AF_INET6, host.c_str(), &addr6) != 1) {
      return invalid(bindAddress, "bad IPv6 address");
    }
    out.ipv6 = true;
    out.host = host == "::" ? "" : host;
    return std::optional<BindAddress>(out);
  }
  in_addr addr{};
  if (inet_pton(AF_INET, host.c_str(), &addr) != 1) {
    return invalid(bindAddress, "host must be an IP address or localhost");
  }
  out.host = host == "0.0.0.0" ? "" : host;
  return std::optional<BindAddress>(out);
}

}  // namespace mlops::server
