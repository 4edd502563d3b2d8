// The pure helpers of prometheus/client.h: the --prometheus-url-allow check
// and reading a bearer token from a Secret.
#include "prometheus/client.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mlops::prometheus {
namespace {

using Json = nlohmann::json;

TEST(PrometheusUrlAllowed, EdgeCases) {
  struct Case {
    const char* url;
    std::vector<std::string> allow;
    bool allowed;
  };
  const std::vector<std::string> host = {"https://prom.example"};
  const std::vector<std::string> slash = {"https://prom.example/"};
  const std::vector<std::string> path = {"https://prom.example/team-a"};
  const Case cases[] = {
      // An empty list allows everything, even odd URLs.
      {"http://anything:1/x@y", {}, true},
      // Exact and at a path boundary.
      {"https://prom.example", host, true},
      {"https://prom.example/", host, true},
      {"https://prom.example/api/prom", host, true},
      // Not at a boundary: another host, a port, a longer label.
      {"https://prom.example.evil.com", host, false},
      {"https://prom.examplex", host, false},
      {"https://prom.example:8443", host, false},
      {"https://prom.example@evil.com", host, false},
      {"https://prom.example.evil.com/", slash, false},
      // A prefix ending in "/" matches anything under it.
      {"https://prom.example/x", slash, true},
      {"https://prom.example", slash, false},
      // Path prefixes.
      {"https://prom.example/team-a", path, true},
      {"https://prom.example/team-a/", path, true},
      {"https://prom.example/team-ab", path, false},
      {"https://prom.example/team-b", path, false},
      {"https://prom.example/team-a/../team-b", path, false},
      {"https://prom.example/team-a/%2e%2e/team-b", path, false},
      {"https://prom.example/team-a/./x", path, false},
      {"https://prom.example/team-a\\..\\team-b", path, false},
      // Scheme matters; scheme and host compare case-insensitively, paths do not.
      {"http://prom.example", host, false},
      {"HTTPS://PROM.Example/x", host, true},
      {"https://prom.example/x", {"HTTPS://Prom.Example"}, true},
      {"https://prom.example/TEAM-A", path, false},
      // Whitespace and control bytes never pass.
      {"https://prom.example/ x", host, false},
      {"https://prom.example/\nx", host, false},
      // Several prefixes: any one suffices.
      {"http://10.0.0.1:9090/", {"https://prom.example", "http://10.0.0.1:9090"}, true},
      {"http://10.0.0.1:90900", {"https://prom.example", "http://10.0.0.1:9090"}, false},
      // An empty prefix allows nothing (it is not "allow all").
      {"https://prom.example", {""}, false},
      {"", host, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.url) + " with " + (c.allow.empty() ? "<none>" : c.allow[0]));
    EXPECT_EQ(urlAllowed(c.url, c.allow), c.allowed);
  }
}

Json secret(const Json& labels, const Json& data) {
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata", {{"name", "prom-token"}, {"namespace", "ml"}, {"labels", labels}}},
          {"data", data}};
}

const Json kLabelled = {{"mlops.dev/prometheus-credentials", "true"}};

TEST(PrometheusBearerToken, DecodesAndTrims) {
  struct Case {
    const char* base64;
    const char* token;
  };
  const Case cases[] = {
      {"c2VjcmV0LXRva2Vu", "secret-token"},      // no padding needed
      {"c2VjcmV0LXRva2VuCg==", "secret-token"},  // "secret-token\n"
      {"c2VjcmV0LXRva2VuDQo=", "secret-token"},  // "secret-token\r\n"
      {"YQ==", "a"},
      {"YWI=", "ab"},
      {"ZXlKaGJHY2lPaUpTVXpJMU5pSjkuZXlKemRXSWlPaUp6SW4wLnNpZw==",
       "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzIn0.sig"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.base64);
    Result<std::string> t =
        bearerTokenFromSecret(secret(kLabelled, {{"token", c.base64}}), "token");
    ASSERT_TRUE(t.ok()) << t.error().toString();
    EXPECT_EQ(*t, c.token);
  }
  Result<std::string> otherKey =
      bearerTokenFromSecret(secret(kLabelled, {{"token", "eA=="}, {"bearer", "eQ=="}}), "bearer");
  ASSERT_TRUE(otherKey.ok());
  EXPECT_EQ(*otherKey, "y");
}

TEST(PrometheusBearerToken, Refusals) {
  struct Case {
    const char* name;
    Json secret;
    const char* key;
    const char* expectInMessage;
  };
  const Case cases[] = {
      {"no labels", secret(nullptr, {{"token", "c2VjcmV0"}}), "token", "is not labelled"},
      {"label false",
       secret({{"mlops.dev/prometheus-credentials", "false"}}, {{"token", "c2VjcmV0"}}), "token",
       "is not labelled mlops.dev/prometheus-credentials: \"true\""},
      {"label True",
       secret({{"mlops.dev/prometheus-credentials", "True"}}, {{"token", "c2VjcmV0"}}), "token",
       "is not labelled"},
      {"other label", secret({{"mlops.dev/other", "true"}}, {{"token", "c2VjcmV0"}}), "token",
       "is not labelled"},
      {"key absent", secret(kLabelled, {{"other", "c2VjcmV0"}}), "token",
       "Secret ml/prom-token has no key \"token\""},
      {"no data", secret(kLabelled, nullptr), "token", "has no key"},
      {"not a string", secret(kLabelled, {{"token", 5}}), "token", "has no key"},
      {"bad alphabet", secret(kLabelled, {{"token", "c2Vj*mV0"}}), "token", "not valid base64"},
      {"bad length", secret(kLabelled, {{"token", "c2VjcmV"}}), "token", "not valid base64"},
      {"padding inside", secret(kLabelled, {{"token", "YQ==YQ=="}}), "token", "not valid base64"},
      {"url alphabet", secret(kLabelled, {{"token", "c2Vj-mV0"}}), "token", "not valid base64"},
      {"empty", secret(kLabelled, {{"token", ""}}), "token", "is empty"},
      {"only newline", secret(kLabelled, {{"token", "Cg=="}}), "token", "is empty"},
      // "sec ret" and "sec\nret": would split or extend the header.
      {"space", secret(kLabelled, {{"token", "c2VjIHJldA=="}}), "token", "control characters"},
      {"inner newline", secret(kLabelled, {{"token", "c2VjCnJldA=="}}), "token",
       "control characters"},
      {"not an object", Json("x"), "token", "is not labelled"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Result<std::string> t = bearerTokenFromSecret(c.secret, c.key);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(t.error().message.find(c.expectInMessage), std::string::npos) << t.error().message;
    // No message ever carries the token, decoded or not.
    EXPECT_EQ(t.error().message.find("secret"), std::string::npos) << t.error().message;
    EXPECT_EQ(t.error().message.find("c2Vj"), std::string::npos) << t.error().message;
  }
}

}  // namespace
}  // namespace mlops::prometheus
