// Waiting in the end-to-end tests, without sleeping and hoping.
//
// - `finishedReconciles` counts, in an operator's debug log, the reconciles
//   of one object that a controller finished: the positive witness a test
//   waits for before it asserts that something did NOT happen (no write, no
//   Job made again). A fixed sleep instead proves nothing when the machine is
//   slow, and costs its length when it is fast.
#pragma once

#include <regex>
#include <sstream>
#include <string>

namespace mlops::e2e {

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
