// parseDriftPolicy (defaults, every field, every error naming its field) and
// parseDuration.
#include <gtest/gtest.h>

#include <string>

#include "analysis/analysis.h"

namespace mlops::analysis {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

Json policy(Json spec) {
  return {{"apiVersion", "mlops.dev/v1alpha1"},
          {"kind", "DriftPolicy"},
          {"metadata", {{"name", "fraud"}, {"namespace", "ml"}}},
          {"spec", std::move(spec)}};
}

TEST(AnalysisDuration, Valid) {
  struct Case {
    const char* text;
    std::chrono::milliseconds ms;
  };
  const Case cases[] = {
      {"0s", 0ms},      {"500ms", 500ms},    {"1s", 1s},           {"90s", 90s},
      {"2m", 2min},     {"1h", 1h},          {"1h30m", 90min},     {"1.5s", 1500ms},
      {"0.5m", 30s},    {"1.25h", 75min},    {"1m1s1ms", 61001ms}, {"1ms1m", 60001ms},
      {"0.0001s", 0ms}, {"2.0005s", 2000ms}, {"1h1h", 2h},         {"10.123456789123s", 10123ms},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    Result<std::chrono::milliseconds> d = parseDuration(c.text);
    ASSERT_TRUE(d.ok()) << d.error().toString();
    EXPECT_EQ(*d, c.ms);
  }
}

TEST(AnalysisDuration, Invalid) {
  for (const char* text : {"",
                           "5",
                           "5x",
                           "s",
                           "1.s",
                           ".5s",
                           "1..5s",
                           "-1s",
                           "+1s",
                           "1 s",
                           " 1s",
                           "1s ",
                           "1S",
                           "1d",
                           "1us",
                           "1ns",
                           "1m1",
                           "1e3s",
                           "99999999999999999999h",
                           "9223372036854775807s"}) {
    SCOPED_TRACE(text);
    Result<std::chrono::milliseconds> d = parseDuration(text);
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(AnalysisDriftPolicy, DefaultsForAMinimalPolicy) {
  Result<DriftPolicySpec> p = parseDriftPolicy(policy({{"model", "fraud"}}));
  ASSERT_TRUE(p.ok()) << p.error().toString();
  EXPECT_EQ(p->model, "fraud");
  EXPECT_FALSE(p->suspend);
  EXPECT_EQ(p->prometheus.url, "");
  EXPECT_EQ(p->prometheus.timeout, 10s);
  EXPECT_FALSE(p->prometheus.bearerTokenSecretRef);
  EXPECT_FALSE(p->prometheus.insecureSkipVerify);
  const AnalysisSpec& a = p->analysis;
  EXPECT_TRUE(a.checks.empty());
  EXPECT_EQ(a.interval, 30s);
  EXPECT_EQ(a.initialDelay, 30s);
  EXPECT_EQ(a.count, 5);
  EXPECT_EQ(a.failureLimit, 0);
  EXPECT_EQ(a.inconclusiveLimit, 0);
  EXPECT_EQ(a.consecutiveErrorLimit, 4);
  EXPECT_EQ(a.canaryReplicas, 1);
  EXPECT_EQ(a.progressDeadline, 600s);
  EXPECT_EQ(a.bakeTime, 10min);
  EXPECT_FALSE(p->drift);
  EXPECT_FALSE(p->retentionKeep);

  // What the CRD's defaulting writes ({} objects) reads the same; drift: {}
  // is a drift section with its defaults.
  Result<DriftPolicySpec> defaulted = parseDriftPolicy(policy({{"model", "fraud"},
                                                               {"prometheus", Json::object()},
                                                               {"analysis", Json::object()},
                                                               {"drift", Json::object()},
                                                               {"retention", Json::object()}}));
  ASSERT_TRUE(defaulted.ok()) << defaulted.error().toString();
  ASSERT_TRUE(defaulted->drift);
  EXPECT_TRUE(defaulted->drift->checks.empty());
  EXPECT_EQ(defaulted->drift->interval, 60s);
  EXPECT_EQ(defaulted->drift->breachAfter, 3);
  EXPECT_FALSE(defaulted->drift->retrain);
  EXPECT_FALSE(defaulted->retentionKeep);
}

TEST(AnalysisDriftPolicy, EveryFieldRead) {
  const Json spec = {
      {"model", "fraud"},
      {"suspend", true},
      {"prometheus",
       {{"url", "https://prom.example:9090"},
        {"timeout", "2.5s"},
        {"bearerTokenSecretRef", {{"name", "prom-token"}}},
        {"insecureSkipVerify", true}}},
      {"analysis",
       {{"checks",
         {{{"name", "accuracy"}, {"query", "acc{model=\"{{model}}\"}"}, {"min", 0.9}},
          {{"name", "latency"}, {"query", "lat"}, {"max", 250}, {"onNoData", "Fail"}},
          {{"name", "band"}, {"query", "b"}, {"min", -1}, {"max", 1}, {"onNoData", "Pass"}},
          {{"name", "point"}, {"query", "p"}, {"min", 2}, {"max", 2}}}},
        {"interval", "1m"},
        {"initialDelay", "0s"},
        {"count", 3},
        {"failureLimit", 1},
        {"inconclusiveLimit", 2},
        {"consecutiveErrorLimit", 0},
        {"canaryReplicas", 2},
        {"progressDeadlineSeconds", 120},
        {"bakeTime", "1h"}}},
      {"drift",
       {{"checks", {{{"name", "psi"}, {"query", "psi"}, {"max", 0.2}}}},
        {"interval", "5m"},
        {"breachAfter", 2},
        {"retrain",
         {{"template", {{"template", {{"spec", {{"containers", Json::array()}}}}}}},
          {"cooldown", "30m"},
          {"maxConcurrent", 2},
          {"promotion", "Automatic"}}}}},
      {"retention", {{"keep", 0}}},
  };
  Result<DriftPolicySpec> p = parseDriftPolicy(policy(spec));
  ASSERT_TRUE(p.ok()) << p.error().toString();
  EXPECT_TRUE(p->suspend);
  EXPECT_EQ(p->prometheus.url, "https://prom.example:9090");
  EXPECT_EQ(p->prometheus.timeout, 2500ms);
  ASSERT_TRUE(p->prometheus.bearerTokenSecretRef);
  EXPECT_EQ(p->prometheus.bearerTokenSecretRef->name, "prom-token");
  EXPECT_EQ(p->prometheus.bearerTokenSecretRef->key, "token");  // the default key
  EXPECT_TRUE(p->prometheus.insecureSkipVerify);

  const AnalysisSpec& a = p->analysis;
  ASSERT_EQ(a.checks.size(), 4u);
  EXPECT_EQ(a.checks[0].name, "accuracy");
  EXPECT_EQ(a.checks[0].query, "acc{model=\"{{model}}\"}");
  EXPECT_EQ(a.checks[0].min, 0.9);
  EXPECT_FALSE(a.checks[0].max);
  EXPECT_EQ(a.checks[0].onNoData, OnNoData::kInconclusive);
  EXPECT_FALSE(a.checks[1].min);
  EXPECT_EQ(a.checks[1].max, 250);
  EXPECT_EQ(a.checks[1].onNoData, OnNoData::kFail);
  EXPECT_EQ(a.checks[2].min, -1);
  EXPECT_EQ(a.checks[2].onNoData, OnNoData::kPass);
  EXPECT_EQ(a.checks[3].min, 2);
  EXPECT_EQ(a.checks[3].max, 2);
  EXPECT_EQ(a.interval, 1min);
  EXPECT_EQ(a.initialDelay, 0ms);
  EXPECT_EQ(a.count, 3);
  EXPECT_EQ(a.failureLimit, 1);
  EXPECT_EQ(a.inconclusiveLimit, 2);
  EXPECT_EQ(a.consecutiveErrorLimit, 0);
  EXPECT_EQ(a.canaryReplicas, 2);
  EXPECT_EQ(a.progressDeadline, 120s);
  EXPECT_EQ(a.bakeTime, 1h);

  ASSERT_TRUE(p->drift);
  ASSERT_EQ(p->drift->checks.size(), 1u);
  EXPECT_EQ(p->drift->checks[0].name, "psi");
  EXPECT_EQ(p->drift->interval, 5min);
  EXPECT_EQ(p->drift->breachAfter, 2);
  ASSERT_TRUE(p->drift->retrain);
  EXPECT_EQ(p->drift->retrain->templateSpec,
            (Json{{"template", {{"spec", {{"containers", Json::array()}}}}}}));
  EXPECT_EQ(p->drift->retrain->cooldown, 30min);
  EXPECT_EQ(p->drift->retrain->maxConcurrent, 2);
  EXPECT_EQ(p->drift->retrain->promotion, "Automatic");
  EXPECT_EQ(p->retentionKeep, 0);

  // A bare spec works too.
  Result<DriftPolicySpec> bare = parseDriftPolicy(spec);
  ASSERT_TRUE(bare.ok()) << bare.error().toString();
  EXPECT_EQ(bare->analysis.checks.size(), 4u);
}

TEST(AnalysisDriftPolicy, RetrainPromotion) {
  const auto promotionOf = [](Json retrain) {
    Result<DriftPolicySpec> p =
        parseDriftPolicy(policy({{"model", "m"}, {"drift", {{"retrain", retrain}}}}));
    EXPECT_TRUE(p.ok()) << p.error().toString();
    return p.ok() && p->drift && p->drift->retrain ? p->drift->retrain->promotion : "?";
  };
  const Json tmpl = {{"template", {{"spec", Json::object()}}}};
  Json templateAutomatic = tmpl;
  templateAutomatic["promotion"] = "Automatic";
  EXPECT_EQ(promotionOf({{"template", tmpl}}), "Manual");
  EXPECT_EQ(promotionOf({{"template", templateAutomatic}}), "Automatic");
  EXPECT_EQ(promotionOf({{"template", templateAutomatic}, {"promotion", "Manual"}}), "Manual");
  EXPECT_EQ(promotionOf({{"template", tmpl}, {"promotion", "Automatic"}}), "Automatic");
  Result<DriftPolicySpec> defaults =
      parseDriftPolicy(policy({{"model", "m"}, {"drift", {{"retrain", {{"template", tmpl}}}}}}));
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->drift->retrain->cooldown, 1h);
  EXPECT_EQ(defaults->drift->retrain->maxConcurrent, 1);
}

TEST(AnalysisDriftPolicy, ErrorsNameTheField) {
  const Json check = {{"name", "latency"}, {"query", "q"}, {"max", 1}};
  const auto withCheck = [&check](const char* key, Json value) {
    Json c = check;
    if (value.is_null()) {
      c.erase(key);
    } else {
      c[key] = value;
    }
    return Json{{"model", "m"},
                {"analysis", {{"checks", {Json{{"name", "ok"}, {"query", "q"}, {"min", 0}}, c}}}}};
  };
  struct Case {
    const char* name;
    Json document;  // a whole object unless it lacks "spec"
    const char* message;
  };
  const Case cases[] = {
      {"not an object", Json::array(), "DriftPolicy: must be an object"},
      {"no spec", Json{{"metadata", Json::object()}}, "spec: is required"},
      {"spec not object", Json{{"spec", 5}}, "spec: must be an object"},
      {"no model", policy(Json::object()), "spec.model: is required"},
      {"empty model", policy({{"model", ""}}), "spec.model: must be a non-empty string"},
      {"suspend", policy({{"model", "m"}, {"suspend", "yes"}}),
       "spec.suspend: must be true or false, got \"yes\""},
      {"neither bound", policy(withCheck("max", nullptr)),
       "spec.analysis.checks[1] (latency): has neither min nor max; a check needs min, max or "
       "both"},
      {"min above max", policy(withCheck("min", 2)),
       "spec.analysis.checks[1] (latency): min 2 is greater than max 1"},
      {"string bound", policy(withCheck("min", "0.5")),
       "spec.analysis.checks[1] (latency).min: must be a number, got \"0.5\""},
      {"bool bound", policy(withCheck("max", true)),
       "spec.analysis.checks[1] (latency).max: must be a number, got true"},
      {"onNoData", policy(withCheck("onNoData", "Skip")),
       "spec.analysis.checks[1] (latency).onNoData: must be Inconclusive, Fail or Pass, got "
       "\"Skip\""},
      {"no query", policy(withCheck("query", nullptr)),
       "spec.analysis.checks[1] (latency).query: is required"},
      {"empty query", policy(withCheck("query", "")),
       "spec.analysis.checks[1] (latency).query: must be a non-empty string"},
      {"no name", policy(withCheck("name", nullptr)), "spec.analysis.checks[1].name: is required"},
      {"duplicate name", policy(withCheck("name", "ok")),
       "spec.analysis.checks[1] (ok): duplicate name; check names must be unique in a list"},
      {"check not object", policy({{"model", "m"}, {"analysis", {{"checks", {5}}}}}),
       "spec.analysis.checks[0]: must be an object, got 5"},
      {"checks not list", policy({{"model", "m"}, {"analysis", {{"checks", Json::object()}}}}),
       "spec.analysis.checks: must be a list"},
      {"analysis not object", policy({{"model", "m"}, {"analysis", "x"}}),
       "spec.analysis: must be an object, got \"x\""},
      {"bad interval", policy({{"model", "m"}, {"analysis", {{"interval", "5x"}}}}),
       "spec.analysis.interval: \"5x\" is not a duration"},
      {"zero interval", policy({{"model", "m"}, {"analysis", {{"interval", "0s"}}}}),
       "spec.analysis.interval: must be longer than 0, got \"0s\""},
      {"numeric interval", policy({{"model", "m"}, {"analysis", {{"interval", 30}}}}),
       "spec.analysis.interval: must be a duration string such as \"30s\", got 30"},
      {"bad bakeTime", policy({{"model", "m"}, {"analysis", {{"bakeTime", "10 m"}}}}),
       "spec.analysis.bakeTime: \"10 m\" is not a duration"},
      {"negative failureLimit", policy({{"model", "m"}, {"analysis", {{"failureLimit", -1}}}}),
       "spec.analysis.failureLimit: must be at least 0, got -1"},
      {"negative inconclusiveLimit",
       policy({{"model", "m"}, {"analysis", {{"inconclusiveLimit", -3}}}}),
       "spec.analysis.inconclusiveLimit: must be at least 0, got -3"},
      {"negative consecutiveErrorLimit",
       policy({{"model", "m"}, {"analysis", {{"consecutiveErrorLimit", -1}}}}),
       "spec.analysis.consecutiveErrorLimit: must be at least 0, got -1"},
      {"zero count", policy({{"model", "m"}, {"analysis", {{"count", 0}}}}),
       "spec.analysis.count: must be at least 1, got 0"},
      {"fractional count", policy({{"model", "m"}, {"analysis", {{"count", 2.5}}}}),
       "spec.analysis.count: must be an integer, got 2.5"},
      {"string count", policy({{"model", "m"}, {"analysis", {{"count", "5"}}}}),
       "spec.analysis.count: must be an integer, got \"5\""},
      {"huge count", policy({{"model", "m"}, {"analysis", {{"count", 1ULL << 40}}}}),
       "spec.analysis.count: 1099511627776 is too large"},
      {"zero canaryReplicas", policy({{"model", "m"}, {"analysis", {{"canaryReplicas", 0}}}}),
       "spec.analysis.canaryReplicas: must be at least 1, got 0"},
      {"zero progressDeadlineSeconds",
       policy({{"model", "m"}, {"analysis", {{"progressDeadlineSeconds", 0}}}}),
       "spec.analysis.progressDeadlineSeconds: must be at least 1, got 0"},
      {"url scheme", policy({{"model", "m"}, {"prometheus", {{"url", "prom:9090"}}}}),
       "spec.prometheus.url: \"prom:9090\" must start with http:// or https://"},
      {"timeout", policy({{"model", "m"}, {"prometheus", {{"timeout", "10"}}}}),
       "spec.prometheus.timeout: \"10\" is not a duration"},
      {"zero timeout", policy({{"model", "m"}, {"prometheus", {{"timeout", "0ms"}}}}),
       "spec.prometheus.timeout: must be longer than 0"},
      {"secret ref without name",
       policy({{"model", "m"}, {"prometheus", {{"bearerTokenSecretRef", {{"key", "k"}}}}}}),
       "spec.prometheus.bearerTokenSecretRef.name: is required"},
      {"secret ref not object",
       policy({{"model", "m"}, {"prometheus", {{"bearerTokenSecretRef", "s"}}}}),
       "spec.prometheus.bearerTokenSecretRef: must be an object"},
      {"insecureSkipVerify", policy({{"model", "m"}, {"prometheus", {{"insecureSkipVerify", 1}}}}),
       "spec.prometheus.insecureSkipVerify: must be true or false, got 1"},
      {"drift check",
       policy({{"model", "m"}, {"drift", {{"checks", {{{"name", "psi"}, {"query", "q"}}}}}}}),
       "spec.drift.checks[0] (psi): has neither min nor max"},
      {"drift interval", policy({{"model", "m"}, {"drift", {{"interval", "1y"}}}}),
       "spec.drift.interval: \"1y\" is not a duration"},
      {"breachAfter", policy({{"model", "m"}, {"drift", {{"breachAfter", 0}}}}),
       "spec.drift.breachAfter: must be at least 1, got 0"},
      {"retrain without template",
       policy({{"model", "m"}, {"drift", {{"retrain", Json::object()}}}}),
       "spec.drift.retrain.template: is required"},
      {"retrain cooldown",
       policy({{"model", "m"},
               {"drift", {{"retrain", {{"template", Json::object()}, {"cooldown", "1 h"}}}}}}),
       "spec.drift.retrain.cooldown: \"1 h\" is not a duration"},
      {"maxConcurrent",
       policy({{"model", "m"},
               {"drift", {{"retrain", {{"template", Json::object()}, {"maxConcurrent", 0}}}}}}),
       "spec.drift.retrain.maxConcurrent: must be at least 1, got 0"},
      {"promotion",
       policy({{"model", "m"},
               {"drift", {{"retrain", {{"template", Json::object()}, {"promotion", "Auto"}}}}}}),
       "spec.drift.retrain.promotion: must be Manual or Automatic, got \"Auto\""},
      {"template promotion",
       policy({{"model", "m"}, {"drift", {{"retrain", {{"template", {{"promotion", "Yes"}}}}}}}}),
       "spec.drift.retrain.template.promotion: must be Manual or Automatic, got \"Yes\""},
      {"retention keep", policy({{"model", "m"}, {"retention", {{"keep", -1}}}}),
       "spec.retention.keep: must be at least 0, got -1"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Result<DriftPolicySpec> p = parseDriftPolicy(c.document);
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(p.error().message.rfind(c.message, 0), 0u) << p.error().message;
  }
}

TEST(AnalysisDriftPolicy, NullFieldsReadAsAbsent) {
  Result<DriftPolicySpec> p = parseDriftPolicy(
      policy({{"model", "m"},
              {"suspend", nullptr},
              {"drift", nullptr},
              {"analysis",
               {{"interval", nullptr},
                {"checks", {{{"name", "a"}, {"query", "q"}, {"min", nullptr}, {"max", 3}}}}}}}));
  ASSERT_TRUE(p.ok()) << p.error().toString();
  EXPECT_FALSE(p->drift);
  EXPECT_EQ(p->analysis.interval, 30s);
  EXPECT_FALSE(p->analysis.checks.at(0).min);
}

}  // namespace
}  // namespace mlops::analysis
