#include "prometheus/query_result.h"

namespace mlops::prometheus {

const char* resultTypeName(ResultType t) {
  switch (t) {
    case ResultType::kScalar:
      return "scalar";
    case ResultType::kVector:
      return "vector";
    case ResultType::kMatrix:
      return "matrix";
    case ResultType::kString:
      return "string";
  }
  return "unknown";
}

}  // namespace mlops::prometheus
