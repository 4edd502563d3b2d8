// The pure helpers declared in client.h (urlAllowed, bearerTokenFromSecret).
// The interfaces themselves have no code.
#include "prometheus/client.h"

#include <array>
#include <cctype>
#include <optional>
#include <string>

#include "core/json_access.h"

namespace mlops::prometheus {
namespace {

std::string lowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// "HTTPS://Prom.Example:9090/Path" → "https://prom.example:9090/Path": scheme
// and authority are case-insensitive, the path is not.
std::string normalizeUrl(std::string_view url) {
  const std::size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) {
    return std::string(url);
  }
  const std::size_t pathStart = url.find('/', scheme + 3);
  const std::size_t authorityEnd = pathStart == std::string_view::npos ? url.size() : pathStart;
  return lowerAscii(url.substr(0, authorityEnd)) + std::string(url.substr(authorityEnd));
}

// Text that could make two URLs that look alike reach different places: user
// info ("https://allowed@evil"), backslashes (read as "/" by some parsers),
// dot segments and their escapes ("/allowed/../admin"), control bytes and
// spaces.
bool looksAmbiguous(std::string_view url) {
  for (const char c : url) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '@' || c == '\\' || u <= 0x20 || u == 0x7f) {
      return true;
    }
  }
  const std::string lower = lowerAscii(url);
  if (lower.find("%2e") != std::string::npos) {
    return true;
  }
  const std::size_t scheme = lower.find("://");
  const std::size_t pathStart =
      scheme == std::string::npos ? std::string::npos : lower.find('/', scheme + 3);
  if (pathStart == std::string::npos) {
    return false;
  }
  const std::string path = lower.substr(pathStart) + "/";
  return path.find("/../") != std::string::npos || path.find("/./") != std::string::npos;
}

bool prefixMatches(const std::string& url, const std::string& prefix) {
  if (prefix.empty() || url.compare(0, prefix.size(), prefix) != 0) {
    return false;
  }
  return prefix.back() == '/' || url.size() == prefix.size() || url[prefix.size()] == '/';
}

// Strict RFC 4648 base64 (standard alphabet, padded), as the API server
// writes Secret data; nullopt for anything else.
std::optional<std::string> decodeBase64(std::string_view in) {
  if (in.size() % 4 != 0) {
    return std::nullopt;
  }
  std::array<int, 256> table{};
  table.fill(-1);
  const std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (std::size_t i = 0; i < alphabet.size(); ++i) {
    table[static_cast<unsigned char>(alphabet[i])] = static_cast<int>(i);
  }
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    int padding = 0;
    uint32_t group = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      const char c = in[i + j];
      if (c == '=' && last && j >= 2) {
        ++padding;
        group <<= 6;
        continue;
      }
      if (padding > 0) {
        return std::nullopt;  // data after padding
      }
      const int v = table[static_cast<unsigned char>(c)];
      if (v < 0) {
        return std::nullopt;
      }
      group = (group << 6) | static_cast<uint32_t>(v);
    }
    out.push_back(static_cast<char>((group >> 16) & 0xff));
    if (padding < 2) {
      out.push_back(static_cast<char>((group >> 8) & 0xff));
    }
    if (padding < 1) {
      out.push_back(static_cast<char>(group & 0xff));
    }
  }
  return out;
}

// A token goes into an HTTP header as it is: a control byte or space could
// split the header (or end the request), so such a token is refused.
bool isHeaderSafe(std::string_view token) {
  for (const char c : token) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool urlAllowed(std::string_view url, const std::vector<std::string>& allowPrefixes) {
  if (allowPrefixes.empty()) {
    return true;
  }
  if (looksAmbiguous(url)) {
    return false;
  }
  const std::string normalized = normalizeUrl(url);
  for (const std::string& prefix : allowPrefixes) {
    if (prefixMatches(normalized, normalizeUrl(prefix))) {
      return true;
    }
  }
  return false;
}

Result<std::string> bearerTokenFromSecret(const nlohmann::json& secret, const std::string& key) {
  const nlohmann::json& metadata = member(secret, "metadata");
  const std::string ns = stringMember(metadata, "namespace");
  const std::string name = stringMember(metadata, "name");
  const std::string what = "Secret " + (ns.empty() ? name : ns + "/" + name);
  if (stringMember(member(metadata, "labels"), kCredentialsLabel) != "true") {
    return makeError(ErrorCode::kInvalidArgument,
                     what + " is not labelled " + kCredentialsLabel +
                         ": \"true\"; only Secrets with that label are read for Prometheus tokens");
  }
  const nlohmann::json& value = member(member(secret, "data"), key.c_str());
  if (!value.is_string()) {
    return makeError(ErrorCode::kInvalidArgument, what + " has no key \"" + key + "\" in data");
  }
  std::optional<std::string> token = decodeBase64(value.get<std::string>());
  if (!token) {
    return makeError(ErrorCode::kInvalidArgument,
                     what + ": data[\"" + key + "\"] is not valid base64");
  }
  if (!token->empty() && token->back() == '\n') {
    token->pop_back();
    if (!token->empty() && token->back() == '\r') {
      token->pop_back();
    }
  }
  if (token->empty()) {
    return makeError(ErrorCode::kInvalidArgument, what + ": data[\"" + key + "\"] is empty");
  }
  if (!isHeaderSafe(*token)) {
    return makeError(ErrorCode::kInvalidArgument,
                     what + ": data[\"" + key +
                         "\"] contains spaces or control characters, which a bearer token "
                         "cannot");
  }
  return std::move(*token);
}

}  // namespace mlops::prometheus
