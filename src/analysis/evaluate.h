// One evaluation of a list of checks (DESIGN.md "Evaluating one check
// once"): each check's query is rendered with the placeholders, sent through
// the QueryClient port, and judged; the evaluation's verdict is the worst of
// the checks'.
//
//   checks + placeholders ─▶ renderQuery ─▶ QueryClient::query ─▶ judge
//                                              (one per check, in order)
//
// The only I/O is the client the caller passes in (a fake in tests). The
// time is given, not read: the caller owns the clock.
#pragma once

#include <string>
#include <vector>

#include "analysis/analysis.h"
#include "prometheus/client.h"

namespace mlops::analysis {

struct Evaluation {
  std::vector<Measurement> measurements;   // one per check, in the checks' order
  Verdict verdict = Verdict::kSuccessful;  // the worst of them; Successful for no checks
  int queries = 0;                         // queries sent to the client
};

// Queries every check once, even after one has failed, so that status shows
// each check's latest value. `time` (RFC 3339) is stamped on every
// measurement. A client that throws (it must not) gives that check an Error
// measurement; nothing escapes.
Evaluation evaluateChecks(const std::vector<Check>& checks, const Placeholders& placeholders,
                          prometheus::QueryClient& client, const std::string& time);

}  // namespace mlops::analysis
