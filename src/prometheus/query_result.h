// The result of a Prometheus instant query (GET /api/v1/query), as parsed
// from the HTTP API's JSON by parseQueryResponse() (prometheus/parse.h).
// Plain data; no I/O.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace mlops::prometheus {

enum class ResultType { kScalar, kVector, kMatrix, kString };
const char* resultTypeName(ResultType t);  // "scalar", "vector", "matrix", "string"

struct Series {
  std::map<std::string, std::string> labels;
  // A vector's or scalar's one value; NaN and ±Inf as the doubles they name.
  // For a matrix, the series' last value (shape errors only need the count).
  double value = 0;
};

struct QueryResult {
  ResultType type = ResultType::kVector;
  std::vector<Series> series;  // scalar: exactly one, without labels
  std::string stringValue;     // for kString
  std::vector<std::string> warnings;
};

}  // namespace mlops::prometheus
