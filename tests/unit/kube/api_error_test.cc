#include "kube/api_error.h"

#include <gtest/gtest.h>

namespace mlops::kube {
namespace {

// Bodies as kube-apiserver sends them.
constexpr const char* kNotFound =
    R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
    R"("message":"configmaps \"missing\" not found","reason":"NotFound",)"
    R"("details":{"name":"missing","kind":"configmaps"},"code":404})";
constexpr const char* kAlreadyExists =
    R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
    R"("message":"configmaps \"a\" already exists","reason":"AlreadyExists",)"
    R"("details":{"name":"a","kind":"configmaps"},"code":409})";
constexpr const char* kConflict =
    R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
    R"("message":"Operation cannot be fulfilled on configmaps \"a\": the object has been )"
    R"(modified; please apply your changes to the latest version and try again",)"
    R"("reason":"Conflict","details":{"name":"a","kind":"configmaps"},"code":409})";
constexpr const char* kApplyConflict =
    R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
    R"("message":"Apply failed with 1 conflict: conflict with \"first\": .data.key",)"
    R"("reason":"Conflict","details":{"causes":[{"reason":"FieldManagerConflict",)"
    R"("message":"conflict with \"first\"","field":".data.key"}]},"code":409})";
constexpr const char* kExpired =
    R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
    R"j("message":"too old resource version: 100 (2000)","reason":"Expired","code":410})j";
constexpr const char* kForbidden =
    R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
    R"("message":"secrets is forbidden: User \"system:serviceaccount:t:sa\" cannot list )"
    R"(resource \"secrets\" in API group \"\" in the namespace \"t\"","reason":"Forbidden",)"
    R"("details":{"kind":"secrets"},"code":403})";
constexpr const char* kUnauthorized =
    R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
    R"("message":"Unauthorized","reason":"Unauthorized","code":401})";
constexpr const char* kInvalid =
    R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
    R"("message":"ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: )"
    R"(\"Bad_Name\": a lowercase RFC 1123 subdomain must consist of ...","reason":"Invalid",)"
    R"("details":{"name":"Bad_Name","kind":"ConfigMap","causes":[{"reason":"FieldValueInvalid",)"
    R"("message":"Invalid value","field":"metadata.name"}]},"code":422})";
constexpr const char* kTooMany =
    R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
    R"("message":"Too many requests, please try again later.","reason":"TooManyRequests",)"
    R"("details":{"retryAfterSeconds":1},"code":429})";
constexpr const char* kServerTimeout =
    R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
    R"("message":"The list operation against pods could not be completed at this time, please )"
    R"(try again.","reason":"ServerTimeout","details":{"name":"list","kind":"pods"},"code":500})";
constexpr const char* kInternal =
    R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
    R"("message":"Internal error occurred: etcdserver: leader changed",)"
    R"("reason":"InternalError","code":500})";

struct Case {
  int http;
  const char* body;
  ErrorCode code;
  const char* reason;
  const char* messagePart;
};

class ApiErrorMapping : public ::testing::TestWithParam<Case> {};

TEST_P(ApiErrorMapping, KeepsReasonAndMessage) {
  const Case& c = GetParam();
  Error e = errorFromResponse(c.http, c.body);
  EXPECT_EQ(e.code, c.code) << errorCodeName(e.code);
  EXPECT_EQ(e.reason, c.reason);
  EXPECT_EQ(e.httpStatus, c.http);
  EXPECT_NE(e.message.find(c.messagePart), std::string::npos) << e.message;
}

INSTANTIATE_TEST_SUITE_P(
    StatusBodies, ApiErrorMapping,
    ::testing::Values(
        Case{404, kNotFound, ErrorCode::kNotFound, "NotFound", "\"missing\" not found"},
        Case{409, kAlreadyExists, ErrorCode::kAlreadyExists, "AlreadyExists", "already exists"},
        Case{409, kConflict, ErrorCode::kConflict, "Conflict", "has been modified"},
        Case{409, kApplyConflict, ErrorCode::kConflict, "Conflict", ".data.key"},
        Case{410, kExpired, ErrorCode::kGone, "Expired", "too old resource version"},
        Case{403, kForbidden, ErrorCode::kForbidden, "Forbidden", "cannot list resource"},
        Case{401, kUnauthorized, ErrorCode::kUnauthorized, "Unauthorized", "Unauthorized"},
        Case{422, kInvalid, ErrorCode::kInvalid, "Invalid", "metadata.name: Invalid value"},
        Case{429, kTooMany, ErrorCode::kTooManyRequests, "TooManyRequests", "Too many requests"},
        Case{500, kServerTimeout, ErrorCode::kTimeout, "ServerTimeout", "could not be completed"},
        Case{500, kInternal, ErrorCode::kUnavailable, "InternalError", "leader changed"}));

TEST(ApiErrorTest, StatusCodesWithoutBody) {
  EXPECT_EQ(errorFromResponse(400, "").code, ErrorCode::kBadRequest);
  EXPECT_EQ(errorFromResponse(405, "").code, ErrorCode::kBadRequest);
  EXPECT_EQ(errorFromResponse(408, "").code, ErrorCode::kTimeout);
  EXPECT_EQ(errorFromResponse(410, "").code, ErrorCode::kGone);
  EXPECT_EQ(errorFromResponse(502, "").code, ErrorCode::kUnavailable);
  EXPECT_EQ(errorFromResponse(503, "").code, ErrorCode::kUnavailable);
  EXPECT_EQ(errorFromResponse(504, "").code, ErrorCode::kTimeout);
  EXPECT_EQ(errorFromResponse(409, "").code, ErrorCode::kConflict);
  Error e = errorFromResponse(503, "");
  EXPECT_EQ(e.message, "HTTP 503");
  EXPECT_TRUE(e.transient());
  EXPECT_FALSE(errorFromResponse(403, "").transient());
}

TEST(ApiErrorTest, NonStatusBodyIsQuotedShortenedOnOneLine) {
  std::string html = "<html>\n<body>Bad Gateway</body>\n</html>" + std::string(1000, 'x');
  Error e = errorFromResponse(502, html, "get pods ns/p");
  EXPECT_EQ(e.code, ErrorCode::kUnavailable);
  EXPECT_EQ(e.message.rfind("get pods ns/p: HTTP 502: <html> <body>Bad Gateway", 0), 0u)
      << e.message;
  EXPECT_EQ(e.message.find('\n'), std::string::npos);
  EXPECT_LT(e.message.size(), 400u);
}

TEST(ApiErrorTest, ContextPrefixesServerMessage) {
  Error e = errorFromResponse(404, kNotFound, "get configmaps ns/missing");
  EXPECT_EQ(e.message, "get configmaps ns/missing: configmaps \"missing\" not found");
  EXPECT_EQ(e.toString(),
            "NotFound (HTTP 404, NotFound): get configmaps ns/missing: configmaps \"missing\" "
            "not found");
}

TEST(ApiErrorTest, TransportStatusWinsOverBodyCode) {
  // A proxy may answer 503 with a Status copied from elsewhere.
  Error e = errorFromResponse(503, kNotFound);
  EXPECT_EQ(e.code, ErrorCode::kUnavailable);
  EXPECT_EQ(e.httpStatus, 503);
}

TEST(ApiErrorTest, FromParsedStatusOfWatchError) {
  Error e = errorFromStatus(nlohmann::json::parse(kExpired), "watch");
  EXPECT_EQ(e.code, ErrorCode::kGone);
  EXPECT_EQ(e.httpStatus, 410);
  EXPECT_EQ(e.message, "watch: too old resource version: 100 (2000)");

  Error byReason = errorFromStatus({{"reason", "Expired"}, {"message", "old"}});
  EXPECT_EQ(byReason.code, ErrorCode::kGone);
  Error empty = errorFromStatus(nlohmann::json::object());
  EXPECT_EQ(empty.code, ErrorCode::kInternal);
  EXPECT_FALSE(empty.message.empty());
  Error notObject = errorFromStatus(nlohmann::json::array());
  EXPECT_EQ(notObject.code, ErrorCode::kInternal);
}

TEST(ApiErrorTest, CodeForReasonWhenNoStatus) {
  EXPECT_EQ(errorCodeFor(0, "NotFound"), ErrorCode::kNotFound);
  EXPECT_EQ(errorCodeFor(0, "Gone"), ErrorCode::kGone);
  EXPECT_EQ(errorCodeFor(0, "Forbidden"), ErrorCode::kForbidden);
  EXPECT_EQ(errorCodeFor(0, "Timeout"), ErrorCode::kTimeout);
  EXPECT_EQ(errorCodeFor(0, "SomethingNew"), ErrorCode::kInternal);
}

}  // namespace
}  // namespace mlops::kube
