// Helpers for the runtime's integration tests on the local control plane.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "config_maps.h"
#include "runtime/informer.h"
#include "runtime/object.h"

namespace mlops::runtime::it {

// Polls `condition` until it holds or `timeout` passes.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

inline nlohmann::json configMap(const std::string& name,
                                nlohmann::json labels = nlohmann::json::object(),
                                nlohmann::json data = nlohmann::json::object()) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"labels", std::move(labels)}}},
          {"data", std::move(data)}};
}

// Records an informer's events: "add <name>", "update <name> <data.v>",
// "delete <name>" or "tombstone <name>".
class EventLog {
 public:
  EventHandler handler() {
    EventHandler h;
    h.onAdd = [this](const nlohmann::json& o, bool) { push("add " + nameOf(o)); };
    h.onUpdate = [this](const nlohmann::json&, const nlohmann::json& n) {
      std::string v =
          n.contains("data") && n["data"].contains("v") ? n["data"]["v"].get<std::string>() : "";
      push("update " + nameOf(n) + " " + v);
    };
    h.onDelete = [this](const nlohmann::json& o, bool unknown) {
      push((unknown ? "tombstone " : "delete ") + nameOf(o));
    };
    return h;
  }
  bool contains(const std::string& entry) const {
    std::lock_guard lock(mu_);
    for (const auto& e : entries_) {
      if (e == entry) return true;
    }
    return false;
  }
  std::vector<std::string> entries() const {
    std::lock_guard lock(mu_);
    return entries_;
  }
  std::string dump() const {
    std::string out;
    for (const auto& e : entries()) out += e + "; ";
    return out;
  }

 private:
  void push(std::string e) {
    std::lock_guard lock(mu_);
    entries_.push_back(std::move(e));
  }
  mutable std::mutex mu_;
  std::vector<std::string> entries_;
};

}  // namespace mlops::runtime::it
