#include "analysis/evaluate.h"

#include <exception>

namespace mlops::analysis {
namespace {

// The port promises not to throw; a broken implementation still must not
// take the reconciler down, so its exception becomes this check's Error.
Result<prometheus::QueryResult> queryFenced(prometheus::QueryClient& client,
                                            const std::string& promql) {
  try {
    return client.query(promql);
  } catch (const std::exception& e) {
    return makeError(ErrorCode::kInternal, std::string("the query client failed: ") + e.what());
  } catch (...) {
    return makeError(ErrorCode::kInternal, "the query client failed");
  }
}

}  // namespace

Evaluation evaluateChecks(const std::vector<Check>& checks, const Placeholders& placeholders,
                          prometheus::QueryClient& client, const std::string& time) {
  Evaluation out;
  out.measurements.reserve(checks.size());
  for (const Check& check : checks) {
    const std::string promql = renderQuery(check.query, placeholders);
    const Result<prometheus::QueryResult> outcome = queryFenced(client, promql);
    ++out.queries;
    out.measurements.push_back(judge(check, promql, outcome, time));
  }
  out.verdict = evaluationVerdict(out.measurements);
  return out;
}

}  // namespace mlops::analysis
