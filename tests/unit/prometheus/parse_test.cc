// parseQueryResponse on every result shape, the special sample values,
// Prometheus error replies, non-API replies and hostile JSON.
#include "prometheus/parse.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/utf8.h"

namespace mlops::prometheus {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

std::string vectorReply(const std::string& value) {
  return R"({"status":"success","data":{"resultType":"vector","result":[)"
         R"({"metric":{"__name__":"up","job":"x"},"value":[1700000000.123,")" +
         value + R"("]}]}})";
}

TEST(PrometheusParse, VectorSampleValues) {
  struct Case {
    const char* text;
    double expected;  // NaN means NaN
  };
  const Case cases[] = {
      {"1", 1},
      {"0", 0},
      {"-0.5", -0.5},
      {"0.93", 0.93},
      {"1e-7", 1e-7},
      {"1.5E+10", 1.5e10},
      {"123456789012345678", 123456789012345678.0},
      {"+Inf", kInf},
      {"Inf", kInf},
      {"-Inf", -kInf},
      {"NaN", std::numeric_limits<double>::quiet_NaN()},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    Result<QueryResult> r = parseQueryResponse(200, vectorReply(c.text));
    ASSERT_TRUE(r.ok()) << r.error().toString();
    EXPECT_EQ(r->type, ResultType::kVector);
    ASSERT_EQ(r->series.size(), 1u);
    EXPECT_EQ(r->series[0].labels.at("job"), "x");
    EXPECT_EQ(r->series[0].labels.at("__name__"), "up");
    if (std::isnan(c.expected)) {
      EXPECT_TRUE(std::isnan(r->series[0].value));
    } else {
      EXPECT_EQ(r->series[0].value, c.expected);
    }
  }
}

TEST(PrometheusParse, BadSampleValuesAreErrors) {
  for (const char* text : {"", "abc", "1x", " 1", "1 ", "inf", "nan", "NAN", "infinity", "0x10",
                           "1e999", "--1", "1..2"}) {
    SCOPED_TRACE(text);
    Result<QueryResult> r = parseQueryResponse(200, vectorReply(text));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kInternal);
    EXPECT_NE(r.error().message.find("data.result[0].value[1]"), std::string::npos)
        << r.error().message;
  }
}

TEST(PrometheusParse, EveryResultType) {
  {
    Result<QueryResult> r = parseQueryResponse(
        200, R"({"status":"success","data":{"resultType":"scalar","result":[1700000000,"0.25"]}})");
    ASSERT_TRUE(r.ok()) << r.error().toString();
    EXPECT_EQ(r->type, ResultType::kScalar);
    ASSERT_EQ(r->series.size(), 1u);
    EXPECT_TRUE(r->series[0].labels.empty());
    EXPECT_EQ(r->series[0].value, 0.25);
  }
  {
    Result<QueryResult> r = parseQueryResponse(
        200,
        R"({"status":"success","data":{"resultType":"string","result":[1700000000,"hello"]}})");
    ASSERT_TRUE(r.ok()) << r.error().toString();
    EXPECT_EQ(r->type, ResultType::kString);
    EXPECT_TRUE(r->series.empty());
    EXPECT_EQ(r->stringValue, "hello");
  }
  {
    Result<QueryResult> r = parseQueryResponse(200, R"({"status":"success","data":{
        "resultType":"matrix","result":[
          {"metric":{"a":"1"},"values":[[1,"1"],[2,"2"],[3,"NaN"],[4,"7.5"]]},
          {"metric":{"a":"2"},"values":[]},
          {"metric":{"a":"3"},"histograms":[[1,{"count":"1","sum":"1"}]]}]}})");
    ASSERT_TRUE(r.ok()) << r.error().toString();
    EXPECT_EQ(r->type, ResultType::kMatrix);
    ASSERT_EQ(r->series.size(), 3u);
    EXPECT_EQ(r->series[0].labels.at("a"), "1");
    EXPECT_EQ(r->series[0].value, 7.5);  // the last value
    EXPECT_TRUE(std::isnan(r->series[1].value));
    EXPECT_TRUE(std::isnan(r->series[2].value));
  }
  {
    Result<QueryResult> r = parseQueryResponse(
        200, R"({"status":"success","data":{"resultType":"vector","result":[]}})");
    ASSERT_TRUE(r.ok()) << r.error().toString();
    EXPECT_EQ(r->type, ResultType::kVector);
    EXPECT_TRUE(r->series.empty());
  }
  {
    // Several series, one without "metric" (an empty label set).
    Result<QueryResult> r = parseQueryResponse(200, R"({"status":"success","data":{
        "resultType":"vector","result":[{"value":[1,"1"]},{"metric":{},"value":[1,"2"]},
        {"metric":{"k":"v\"}\n"},"value":[1,"3"]}]}})");
    ASSERT_TRUE(r.ok()) << r.error().toString();
    ASSERT_EQ(r->series.size(), 3u);
    EXPECT_TRUE(r->series[0].labels.empty());
    EXPECT_EQ(r->series[2].labels.at("k"), "v\"}\n");
    EXPECT_EQ(r->series[2].value, 3);
  }
}

TEST(PrometheusParse, Warnings) {
  Result<QueryResult> r = parseQueryResponse(
      200,
      R"({"status":"success","data":{"resultType":"vector","result":[]},)"
      R"("warnings":["PromQL info: metric might not be a counter","w2"],"infos":["ignored"]})");
  ASSERT_TRUE(r.ok()) << r.error().toString();
  EXPECT_EQ(r->warnings,
            (std::vector<std::string>{"PromQL info: metric might not be a counter", "w2"}));

  Result<QueryResult> bad = parseQueryResponse(
      200, R"({"status":"success","data":{"resultType":"vector","result":[]},"warnings":[1]})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("warnings[0]"), std::string::npos) << bad.error().message;
}

TEST(PrometheusParse, PrometheusErrorReplies) {
  struct Case {
    int http;
    const char* body;
    ErrorCode code;
    const char* message;
  };
  const Case cases[] = {
      {400,
       R"({"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected \"}\""})",
       ErrorCode::kInvalidArgument, "bad_data: 1:5: parse error: unexpected \"}\""},
      {503,
       R"({"status":"error","errorType":"timeout","error":"query timed out in query execution"})",
       ErrorCode::kTimeout, "timeout: query timed out in query execution"},
      {503, R"({"status":"error","errorType":"unavailable","error":"not ready"})",
       ErrorCode::kUnavailable, "unavailable: not ready"},
      {422, R"({"status":"error","errorType":"execution","error":"many-to-many matching"})",
       ErrorCode::kInternal, "execution: many-to-many matching"},
      {500, R"({"status":"error","errorType":"internal","error":"boom"})", ErrorCode::kUnavailable,
       "internal: boom"},
      {200, R"({"status":"error","errorType":"canceled","error":"stop"})", ErrorCode::kInternal,
       "canceled: stop"},
      {400, R"({"status":"error","error":"no type"})", ErrorCode::kInternal, "no type"},
      {400, R"({"status":"error","errorType":7,"error":["x"]})", ErrorCode::kInternal,
       "Prometheus reported an error without a message (HTTP 400)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    Result<QueryResult> r = parseQueryResponse(c.http, c.body);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, c.code);
    EXPECT_EQ(r.error().message, c.message);
    EXPECT_EQ(r.error().httpStatus, c.http);
  }
  Result<QueryResult> typed =
      parseQueryResponse(400, R"({"status":"error","errorType":"bad_data","error":"x"})");
  ASSERT_FALSE(typed.ok());
  EXPECT_EQ(typed.error().reason, "bad_data");
}

TEST(PrometheusParse, LongErrorIsCutAtUtf8Boundary) {
  // 300 bytes of "é" (2 bytes each) after the prefix: the cut must not split one.
  std::string detail;
  for (int i = 0; i < 150; ++i) {
    detail += "\xc3\xa9";
  }
  const std::string body =
      R"({"status":"error","errorType":"bad_data","error":"x)" + detail + R"("})";
  Result<QueryResult> r = parseQueryResponse(400, body);
  ASSERT_FALSE(r.ok());
  const std::string& m = r.error().message;
  EXPECT_LE(m.size(), kMaxErrorMessageBytes);
  EXPECT_GE(m.size(), kMaxErrorMessageBytes - 4);
  EXPECT_TRUE(isValidUtf8(m));
  EXPECT_EQ(m.rfind("bad_data: x\xc3\xa9", 0), 0u) << m;
  EXPECT_EQ(m.substr(m.size() - 3), "...");
}

TEST(PrometheusParse, NonApiReplies) {
  struct Case {
    int http;
    std::string body;
    ErrorCode code;
    std::string expectInMessage;
  };
  const std::string html(5000, 'h');
  const Case cases[] = {
      {502, "<html>Bad Gateway</html>", ErrorCode::kUnavailable,
       "Prometheus answered HTTP 502: <html>Bad Gateway</html>"},
      {504, "upstream timed out", ErrorCode::kTimeout, "HTTP 504"},
      {408, "", ErrorCode::kTimeout, "HTTP 408"},
      {429, "slow down", ErrorCode::kUnavailable, "HTTP 429: slow down"},
      {401, "Unauthorized", ErrorCode::kUnauthorized, "HTTP 401"},
      {403, "forbidden", ErrorCode::kForbidden, "HTTP 403"},
      {404, "404 page not found", ErrorCode::kInternal, "HTTP 404: 404 page not found"},
      {302, "", ErrorCode::kInternal, "HTTP 302"},
      {500, html, ErrorCode::kUnavailable, "HTTP 500: hhhh"},
      // JSON, but not the API's error envelope.
      {500, R"({"error":"proxy"})", ErrorCode::kUnavailable, R"(HTTP 500: {"error":"proxy"})"},
      // A success envelope on an error status is still an error.
      {500, R"({"status":"success","data":{"resultType":"vector","result":[]}})",
       ErrorCode::kUnavailable, "HTTP 500"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body.substr(0, 60));
    Result<QueryResult> r = parseQueryResponse(c.http, c.body);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, c.code);
    EXPECT_EQ(r.error().httpStatus, c.http);
    EXPECT_NE(r.error().message.find(c.expectInMessage), std::string::npos) << r.error().message;
    EXPECT_LE(r.error().message.size(), kMaxErrorMessageBytes);
  }
}

TEST(PrometheusParse, MalformedSuccessReplies) {
  struct Case {
    std::string body;
    std::string expectInMessage;
  };
  const Case cases[] = {
      {"", "not a JSON object"},
      {"not json", "not a JSON object"},
      {"[1,2]", "not a JSON object"},
      {"\"success\"", "not a JSON object"},
      {"{\"status\":\"success\"", "not a JSON object"},  // truncated
      {"{}", "status is not"},
      {R"({"status":"ok"})", "status is not"},
      {R"({"status":true})", "status is not"},
      {R"({"status":"success"})", "data is missing"},
      {R"({"status":"success","data":[]})", "data is missing"},
      {R"({"status":"success","data":{"result":[]}})", "data.resultType"},
      {R"({"status":"success","data":{"resultType":"vector"}})", "data.result is missing"},
      {R"({"status":"success","data":{"resultType":"histogram","result":[]}})", "\"histogram\""},
      {R"({"status":"success","data":{"resultType":"vector","result":{}}})", "not an array"},
      {R"({"status":"success","data":{"resultType":"vector","result":[1]}})",
       "data.result[0] is not an object"},
      {R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{}}]}})",
       "data.result[0] has no value"},
      {R"({"status":"success","data":{"resultType":"vector","result":[{"histogram":[1,{}]}]}})",
       "native histogram"},
      {R"({"status":"success","data":{"resultType":"vector","result":[{"metric":[],"value":[1,"1"]}]}})",
       "data.result[0].metric is not an object"},
      {R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":1},"value":[1,"1"]}]}})",
       "data.result[0].metric[\"a\"] is not a string"},
      {R"({"status":"success","data":{"resultType":"vector","result":[{"value":[1,1]}]}})",
       "is not a string"},
      {R"({"status":"success","data":{"resultType":"vector","result":[{"value":["1","1"]}]}})",
       "(the sample time) is not a number"},
      {R"({"status":"success","data":{"resultType":"vector","result":[{"value":[1,"1",3]}]}})",
       "is not a [time, value] pair"},
      {R"({"status":"success","data":{"resultType":"scalar","result":"1"}})",
       "data.result is not a [time, value] pair"},
      {R"({"status":"success","data":{"resultType":"string","result":[1,2]}})", "is not a string"},
      {R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{}}]}})",
       "has no values"},
      {R"({"status":"success","data":{"resultType":"matrix","result":[{"values":[[1,"x"]]}]}})",
       "data.result[0].values[0][1]"},
      {R"({"status":"success","data":{"resultType":"matrix","result":[{"values":{}}]}})",
       "values is not an array"},
      {R"({"status":"success","data":{"resultType":"vector","result":[]},"warnings":"w"})",
       "warnings is not an array"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    Result<QueryResult> r = parseQueryResponse(200, c.body);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kInternal);
    EXPECT_NE(r.error().message.find(c.expectInMessage), std::string::npos) << r.error().message;
    EXPECT_TRUE(isValidUtf8(r.error().message));
    EXPECT_LE(r.error().message.size(), kMaxErrorMessageBytes);
  }
}

TEST(PrometheusParse, HostileJsonNeverThrows) {
  std::vector<std::string> bodies = {
      std::string(100000, '['),
      std::string(50000, '[') + std::string(50000, ']'),
      "{\"status\":\"success\",\"data\":" + std::string(20000, '[') + "}",
      std::string("{\"status\":\"error\",\"error\":\"\xff\xfe\"}"),  // invalid UTF-8 in JSON
      std::string("\0\0\0", 3),
      "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"a\":"
      "\"\\ud800\"},\"value\":[1,\"1\"]}]}}",  // lone surrogate escape
      R"({"status":"error","errorType":"bad_data","error":")" + std::string(100000, 'x') + "\"}",
      "1e99999",
  };
  for (const std::string& body : bodies) {
    SCOPED_TRACE(body.substr(0, 40));
    for (int status : {200, 400, 500}) {
      Result<QueryResult> r = parseQueryResponse(status, body);
      ASSERT_FALSE(r.ok());
      EXPECT_TRUE(isValidUtf8(r.error().message));
      EXPECT_LE(r.error().message.size(), kMaxErrorMessageBytes);
    }
  }
}

TEST(PrometheusParse, ResultTypeNames) {
  EXPECT_STREQ(resultTypeName(ResultType::kScalar), "scalar");
  EXPECT_STREQ(resultTypeName(ResultType::kVector), "vector");
  EXPECT_STREQ(resultTypeName(ResultType::kMatrix), "matrix");
  EXPECT_STREQ(resultTypeName(ResultType::kString), "string");
}

TEST(PrometheusParse, CutMessage) {
  EXPECT_EQ(cutMessage("short"), "short");
  EXPECT_EQ(cutMessage(std::string(256, 'a')), std::string(256, 'a'));
  EXPECT_EQ(cutMessage(std::string(257, 'a')), std::string(253, 'a') + "...");
  EXPECT_EQ(cutMessage("ab\xff", 10), "ab\xef\xbf\xbd");  // repaired, not cut
  EXPECT_EQ(cutMessage("\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac", 8), "\xe2\x82\xac...");
}

}  // namespace
}  // namespace mlops::prometheus
