// Small helpers shared by the runtime unit tests.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include "config_maps.h"

namespace mlops::runtime::testing {

// Polls `condition` every 2 ms until it holds or `timeout` passes. For
// conditions that depend on another thread; never used to wait for time.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return condition();
}

inline nlohmann::json configMap(const std::string& ns, const std::string& name,
                                nlohmann::json labels = nlohmann::json::object(),
                                nlohmann::json data = nlohmann::json::object()) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"namespace", ns}, {"name", name}, {"labels", std::move(labels)}}},
          {"data", std::move(data)}};
}

// A plain HTTP/1.1 GET to 127.0.0.1:port: (status, body); status -1 when
// the connection failed.
std::pair<int, std::string> httpGet(int port, const std::string& path);

}  // namespace mlops::runtime::testing
