// The Prometheus query reply parser (prometheus/parse.h) on arbitrary bytes,
// and judge() (analysis/analysis.h) on whatever it accepts.
//
// The first byte picks the HTTP status (byte % 8 indexes kStatuses: '0' is
// 200, '2' 400, '4' 500, '5' 503, ...); the rest is the body.
//
// Properties:
//   - parseQueryResponse never throws or crashes, whatever the bytes;
//   - an error carries the HTTP status, and a non-empty, valid UTF-8 message
//     of at most kMaxErrorMessageBytes (it goes into status as it is);
//   - only a 2xx reply is ever accepted, and an accepted result is
//     internally consistent: a scalar has exactly one series without labels,
//     a string none, every text is valid UTF-8;
//   - an accepted result survives a round trip: written back as the API's
//     JSON and parsed again, it is the same result;
//   - judge() on it never throws, and its verdict agrees with the value:
//     Successful only inside [min, max], a value recorded only when finite.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "analysis/analysis.h"
#include "core/utf8.h"
#include "fuzz/fuzz_check.h"
#include "prometheus/parse.h"

namespace {

using mlops::prometheus::QueryResult;
using mlops::prometheus::ResultType;
using Json = nlohmann::json;

constexpr int kStatuses[8] = {200, 204, 400, 422, 500, 503, 302, 404};

std::string sampleText(double v) {
  if (std::isnan(v)) {
    return "NaN";
  }
  if (std::isinf(v)) {
    return v > 0 ? "+Inf" : "-Inf";
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

Json sample(double v) {
  return Json::array({1700000000.5, sampleText(v)});
}

// The API's JSON for `r` (a matrix series keeps only its last value, which
// is all QueryResult holds).
std::string toJson(const QueryResult& r) {
  Json data;
  data["resultType"] = mlops::prometheus::resultTypeName(r.type);
  switch (r.type) {
    case ResultType::kScalar:
      data["result"] = sample(r.series.at(0).value);
      break;
    case ResultType::kString:
      data["result"] = Json::array({1700000000.5, r.stringValue});
      break;
    case ResultType::kVector:
    case ResultType::kMatrix: {
      data["result"] = Json::array();
      for (const auto& s : r.series) {
        Json item = {{"metric", s.labels}};
        if (r.type == ResultType::kVector) {
          item["value"] = sample(s.value);
        } else {
          item["values"] = Json::array({sample(s.value)});
        }
        data["result"].push_back(item);
      }
      break;
    }
  }
  Json reply = {{"status", "success"}, {"data", data}};
  if (!r.warnings.empty()) {
    reply["warnings"] = r.warnings;
  }
  return reply.dump();
}

bool sameValue(double a, double b) {
  return (std::isnan(a) && std::isnan(b)) || a == b;
}

bool same(const QueryResult& a, const QueryResult& b) {
  if (a.type != b.type || a.stringValue != b.stringValue || a.warnings != b.warnings ||
      a.series.size() != b.series.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.series.size(); ++i) {
    if (a.series[i].labels != b.series[i].labels ||
        !sameValue(a.series[i].value, b.series[i].value)) {
      return false;
    }
  }
  return true;
}

void checkConsistent(const QueryResult& r) {
  if (r.type == ResultType::kScalar) {
    FUZZ_CHECK(r.series.size() == 1, "a scalar without exactly one series");
    FUZZ_CHECK(r.series[0].labels.empty(), "a scalar with labels");
  }
  if (r.type == ResultType::kString) {
    FUZZ_CHECK(r.series.empty(), "a string with series");
  } else {
    FUZZ_CHECK(r.stringValue.empty(), "a string value on a non-string result");
  }
  FUZZ_CHECK(mlops::isValidUtf8(r.stringValue), r.stringValue);
  for (const std::string& w : r.warnings) {
    FUZZ_CHECK(mlops::isValidUtf8(w), w);
  }
  for (const auto& s : r.series) {
    for (const auto& [name, value] : s.labels) {
      FUZZ_CHECK(mlops::isValidUtf8(name) && mlops::isValidUtf8(value), name);
    }
  }
}

void checkJudge(const QueryResult& r) {
  const mlops::analysis::Check check{"c", "q", 0.0, 1.0, mlops::analysis::OnNoData::kInconclusive};
  const mlops::analysis::Measurement m = mlops::analysis::judge(check, "q", r, "t");
  FUZZ_CHECK(mlops::isValidUtf8(m.message), m.message);
  FUZZ_CHECK(m.message.size() <= mlops::prometheus::kMaxErrorMessageBytes, m.message);
  if (m.value) {
    FUZZ_CHECK(std::isfinite(*m.value), "a non-finite value recorded");
  }
  if (m.verdict == mlops::analysis::Verdict::kSuccessful) {
    FUZZ_CHECK(m.value && *m.value >= 0.0 && *m.value <= 1.0, m.message);
  }
  const bool judgeable =
      (r.type == ResultType::kScalar || r.type == ResultType::kVector) && r.series.size() == 1;
  if (!judgeable && !(r.type == ResultType::kVector && r.series.empty())) {
    FUZZ_CHECK(m.verdict == mlops::analysis::Verdict::kError, m.message);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const int status = kStatuses[data[0] % 8];
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const mlops::Result<QueryResult> r = mlops::prometheus::parseQueryResponse(status, body);
  if (!r.ok()) {
    const mlops::Error& e = r.error();
    FUZZ_CHECK(e.httpStatus == status, e.toString());
    FUZZ_CHECK(!e.message.empty(), "empty error message");
    FUZZ_CHECK(mlops::isValidUtf8(e.message), e.message);
    FUZZ_CHECK(e.message.size() <= mlops::prometheus::kMaxErrorMessageBytes, e.message);
    return 0;
  }
  FUZZ_CHECK(status >= 200 && status <= 299,
             "accepted a reply with HTTP " + std::to_string(status));
  checkConsistent(*r);
  checkJudge(*r);

  const std::string again = toJson(*r);
  const mlops::Result<QueryResult> reparsed = mlops::prometheus::parseQueryResponse(200, again);
  FUZZ_CHECK(reparsed.ok(), again + " -> " + reparsed.error().toString());
  FUZZ_CHECK(same(*r, *reparsed), again);
  return 0;
}
