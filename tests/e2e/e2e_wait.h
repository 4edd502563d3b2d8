// Waiting in the end-to-end tests, without sleeping and hoping.
//
// - `pollUntil` reads an object (or a list) until a condition holds on it,
//   and returns what it read last, so that a test that times out can say
//   where the object got stuck. Every "wait for the run to reach a phase"
//   of the suites goes through it.
// - `finishedReconciles` counts, in an operator's debug log, the reconciles
//   of one object that a controller finished: the positive witness a test
//   waits for before it asserts that something did NOT happen (no write, no
//   Job made again). A fixed sleep instead proves nothing when the machine is
//   slow, and costs its length when it is fast.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "operator_process.h"

namespace mlops::e2e {

struct Polled {
  bool reached = false;
  nlohmann::json last;  // the last value read; null if no read succeeded
};

// Calls `read` every 100 ms, up to `timeout`, until it returns a value for
// which `reached` holds. `read` returns nullopt when there is nothing to
// look at yet (not created, or the read failed).
inline Polled pollUntil(std::chrono::milliseconds timeout,
                        const std::function<std::optional<nlohmann::json>()>& read,
                        const std::function<bool(const nlohmann::json&)>& reached) {
  Polled out;
  out.reached = eventually(timeout, [&] {
    std::optional<nlohmann::json> value = read();
    if (!value) return false;
    out.last = std::move(*value);
    return reached(out.last);
  });
  return out;
}

// status.phase, or "".
inline std::string phaseOf(const nlohmann::json& obj) {
  const nlohmann::json::json_pointer p("/status/phase");
  return obj.contains(p) && obj.at(p).is_string() ? obj.at(p).get<std::string>() : "";
}

// A condition for pollUntil: status.phase is one of `phases`.
inline std::function<bool(const nlohmann::json&)> phaseIn(std::set<std::string> phases) {
  return [phases = std::move(phases)](const nlohmann::json& obj) {
    return phases.count(phaseOf(obj)) > 0;
  };
}

// The phases a TrainingRun does not leave.
inline const std::set<std::string>& finishedPhases() {
  static const std::set<std::string> phases = {"Succeeded", "Failed"};
  return phases;
}

// Reconciles of `ns`/`name` by `controller` that finished (successfully,
// with or without a requeue) according to `log`, the output of an operator
// run with --log-format=text --log-level=debug: its "reconciled" lines.
inline int finishedReconciles(const std::string& log, const std::string& controller,
                              const std::string& ns, const std::string& name) {
  // "<time> DEBUG <logger> reconciled[; requeue…] controller=C key=NS/NAME seconds=…"
  const std::regex line(" reconciled(;[^=]*)? (.* )?controller=" + controller + " (.* )?key=" + ns +
                        "/" + name + "( |$)");
  std::istringstream in(log);
  int count = 0;
  for (std::string l; std::getline(in, l);) {
    if (std::regex_search(l, line)) ++count;
  }
  return count;
}

}  // namespace mlops::e2e
