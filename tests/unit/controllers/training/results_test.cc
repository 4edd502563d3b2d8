#include "controllers/training/results.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include <optional>

#include "core/utf8.h"
#include "objects/sha256.h"

namespace mlops::training {

using objects::isSha256Digest;

namespace {

const std::string kArtifactDigest = "sha256:" + std::string(64, 'a');
const std::string kDigest2 = "sha256:" + std::string(64, 'b');

TEST(ParseResults, ReadsTheContract) {
  const std::string message = R"({"metrics": {"accuracy": 0.94, "loss": 1, "f1": -2.5e-3},
    "artifact": {"uri": "s3://bucket/iris/run-1", "digest": ")" +
                              kArtifactDigest + R"("},
    "dataset": {"digest": ")" +
                              kDigest2 + R"("}, "extra": [1, 2]})";
  auto results = parseResults(message);
  ASSERT_TRUE(results.ok()) << results.error().message;
  const std::map<std::string, double> metrics{{"accuracy", 0.94}, {"loss", 1.0}, {"f1", -0.0025}};
  EXPECT_EQ(results->metrics, metrics);
  EXPECT_EQ(results->artifact.uri, "s3://bucket/iris/run-1");
  EXPECT_EQ(results->artifact.digest, kArtifactDigest);
  EXPECT_EQ(results->datasetDigest, kDigest2);
}

TEST(ParseResults, OptionalPartsMayBeAbsent) {
  auto results =
      parseResults(R"({"metrics": {}, "artifact": {"uri": "file:///m.pkl"}, "dataset": {}})");
  ASSERT_TRUE(results.ok()) << results.error().message;
  EXPECT_TRUE(results->metrics.empty());
  EXPECT_EQ(results->artifact.digest, "");
  EXPECT_EQ(results->datasetDigest, std::nullopt);
}

struct BadCase {
  std::string message;
  std::string expected;  // the exact error message, or a prefix when `prefixOnly`
  bool prefixOnly = false;
};

TEST(ParseResults, SaysExactlyWhatIsWrong) {
  const std::string artifact = R"("artifact": {"uri": "s3://a"})";
  const BadCase cases[] = {
      {"", "no results: the results container wrote nothing to /dev/termination-log"},
      {" \n\t", "no results: the results container wrote nothing to /dev/termination-log"},
      {"{\"metrics\": {",
       "malformed results: not valid JSON (parse error at line 1, column 14: ", true},
      {"accuracy=0.9",
       "malformed results: not valid JSON (parse error at line 1, column 1: ", true},
      {R"({"metrics": {}} trailing)",
       "malformed results: not valid JSON (parse error at line 1, column 19: ", true},
      {"[1, 2]", "results must be a JSON object, got an array"},
      {"\"text\"", "results must be a JSON object, got a string"},
      {"{" + artifact + "}", "results lack \"metrics\" (an object of metric name to number)"},
      {R"({"metrics": [0.9], )" + artifact + "}",
       "results \"metrics\" must be an object of metric name to number, got an array"},
      {R"({"metrics": {"accuracy": 0.9, "loss": "low"}, )" + artifact + "}",
       "results metric \"loss\" must be a number, got a string"},
      {R"({"metrics": {"ok": true}, )" + artifact + "}",
       "results metric \"ok\" must be a number, got a boolean"},
      {R"({"metrics": {"n": null}, )" + artifact + "}",
       "results metric \"n\" must be a number, got null"},
      {R"({"metrics": {"accuracy": 0.9}})",
       "results lack \"artifact\" (an object with \"uri\" and optionally \"digest\")"},
      {R"({"metrics": {}, "artifact": "s3://a"})",
       "results \"artifact\" must be an object, got a string"},
      {R"({"metrics": {}, "artifact": {"digest": ")" + kArtifactDigest + R"("}})",
       "results \"artifact\" lacks \"uri\""},
      {R"({"metrics": {}, "artifact": {"uri": ""}})",
       "results \"artifact.uri\" must be a non-empty string, got \"\""},
      {R"({"metrics": {}, "artifact": {"uri": 5}})",
       "results \"artifact.uri\" must be a non-empty string, got a number"},
      {R"({"metrics": {}, "artifact": {"uri": "s3://a", "digest": "md5:abc"}})",
       "results \"artifact.digest\" must be \"sha256:\" followed by 64 lowercase hex digits, got "
       "\"md5:abc\""},
      {R"({"metrics": {}, "artifact": {"uri": "s3://a", "digest": "sha256:)" +
           std::string(64, 'A') + R"("}})",
       "results \"artifact.digest\" must be \"sha256:\" followed by 64 lowercase hex digits, got "
       "\"sha256:" +
           std::string(64, 'A') + "\""},
      {R"({"metrics": {}, "artifact": {"uri": "s3://a", "digest": 1}})",
       "results \"artifact.digest\" must be a string \"sha256:\" followed by 64 lowercase hex "
       "digits, got a number"},
      {R"({"metrics": {}, )" + artifact + R"(, "dataset": {"digest": "sha256:12"}})",
       "results \"dataset.digest\" must be \"sha256:\" followed by 64 lowercase hex digits, got "
       "\"sha256:12\""},
      {R"({"metrics": {}, )" + artifact + R"(, "dataset": "x"})",
       "results \"dataset\" must be an object, got a string"},
  };
  for (const auto& c : cases) {
    auto results = parseResults(c.message);
    ASSERT_FALSE(results.ok()) << c.message;
    EXPECT_EQ(results.error().code, ErrorCode::kInvalidArgument);
    if (c.prefixOnly) {
      EXPECT_EQ(results.error().message.substr(0, c.expected.size()), c.expected)
          << results.error().message;
    } else {
      EXPECT_EQ(results.error().message, c.expected) << c.message;
    }
  }
}

// nlohmann throws out_of_range, not parse_error, for a number beyond double
// range; found by fuzz/results_fuzz. Before the fix the exception escaped
// parseResults (and a trainer could take the operator down with "1e400").
TEST(ParseResults, FlagsA4096ByteMessageThatDoesNotParseAsTruncated) {
  std::string message = R"({"metrics": {"accuracy": 0.9}, "artifact": {"uri": "s3://)";
  message += std::string(kTerminationMessageLimit - message.size(), 'x');
  ASSERT_EQ(message.size(), 4096u);
  auto results = parseResults(message);
  ASSERT_FALSE(results.ok());
  EXPECT_NE(results.error().message.find("probably truncated"), std::string::npos)
      << results.error().message;
  EXPECT_NE(results.error().message.find("parse error at line 1"), std::string::npos);

  // One byte shorter: just malformed.
  auto shorter = parseResults(message.substr(1));
  ASSERT_FALSE(shorter.ok());
  EXPECT_EQ(shorter.error().message.find("probably truncated"), std::string::npos);

  // Exactly 4096 bytes and valid: fine.
  std::string valid = R"({"metrics": {}, "artifact": {"uri": "s3://a"}, "pad": ")";
  valid += std::string(kTerminationMessageLimit - valid.size() - 2, 'p') + "\"}";
  ASSERT_EQ(valid.size(), 4096u);
  EXPECT_TRUE(parseResults(valid).ok());
}

TEST(ParseResults, CutsHostileValuesInMessages) {
  const std::string longDigest(1000, 'z');
  auto results = parseResults(R"({"metrics": {}, "artifact": {"uri": "s3://a", "digest": ")" +
                              longDigest + "\"}}");
  ASSERT_FALSE(results.ok());
  EXPECT_LT(results.error().message.size(), 200u);
}

TEST(ParseResults, ValidJsonThatCannotBeRepresentedIsInvalidResultsNotAnException) {
  // 1e400 is valid JSON but beyond a double; anywhere in the document, even in
  // a member the operator ignores, the parser refuses it.
  const std::string artifact = R"("artifact": {"uri": "s3://a"})";
  for (const std::string& message :
       {R"({"metrics": {"accuracy": 1e400}, )" + artifact + "}",
        R"({"metrics": {"loss": -1e400}, )" + artifact + "}",
        R"({"metrics": {}, )" + artifact + R"(, "notes": {"deep": [1, 2, 1e400]}})",
        std::string("1e400")}) {
    std::optional<Result<TrainingResults>> results;
    ASSERT_NO_THROW(results.emplace(parseResults(message))) << message;
    ASSERT_FALSE(results->ok()) << message;
    EXPECT_EQ(results->error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(results->error().message.rfind(
                  "malformed results: valid JSON that cannot be represented (number overflow "
                  "parsing '",
                  0),
              0u)
        << results->error().message;
    EXPECT_NE(results->error().message.find("e400'"), std::string::npos)
        << results->error().message;
  }
}

TEST(ParseResults, ANonJsonLocalizedErrorGivesAValidUtf8MessageQuotingIt) {
  // A trainer's localized error instead of results: "Ошибка: нет данных".
  const std::string text =
      "\xD0\x9E\xD1\x88\xD0\xB8\xD0\xB1\xD0\xBA\xD0\xB0: \xD0\xBD\xD0\xB5\xD1\x82 "
      "\xD0\xB4\xD0\xB0\xD0\xBD\xD0\xBD\xD1\x8B\xD1\x85";
  auto results = parseResults(text);
  ASSERT_FALSE(results.ok());
  const std::string& message = results.error().message;
  EXPECT_TRUE(isValidUtf8(message)) << message;
  EXPECT_EQ(
      message.rfind("malformed results: not valid JSON (parse error at line 1, column 1: ", 0), 0u)
      << message;
  EXPECT_NE(message.find("the termination message begins \"" + text + "\""), std::string::npos)
      << message;
  // nlohmann_json can encode it (it throws on invalid UTF-8).
  EXPECT_NO_THROW(nlohmann::json(message).dump());

  // A long one is quoted only in part, cut between characters.
  std::string longText;
  for (int i = 0; i < 300; ++i) longText += "\xD0\x96";  // "Ж", two bytes
  auto cut = parseResults(longText);
  ASSERT_FALSE(cut.ok());
  EXPECT_TRUE(isValidUtf8(cut.error().message)) << cut.error().message;
  EXPECT_LT(cut.error().message.size(), 600u);

  // Not UTF-8 at all (Latin-1 "Fehler: Datei ungültig"): replaced, still readable.
  auto latin1 = parseResults("Fehler: Datei ung\xFCltig");
  ASSERT_FALSE(latin1.ok());
  EXPECT_TRUE(isValidUtf8(latin1.error().message)) << latin1.error().message;
  EXPECT_NE(latin1.error().message.find("Fehler: Datei ung\xEF\xBF\xBDltig"), std::string::npos)
      << latin1.error().message;
}

std::string resultsWithMetrics(size_t count) {
  nlohmann::json metrics = nlohmann::json::object();
  for (size_t i = 0; i < count; ++i) metrics["m" + std::to_string(i)] = 1;
  return nlohmann::json{{"metrics", metrics}, {"artifact", {{"uri", "s3://a"}}}}.dump();
}

TEST(ParseResults, MoreMetricsThanAModelVersionHoldsAreInvalid) {
  EXPECT_TRUE(parseResults(resultsWithMetrics(kMaxMetrics)).ok());
  auto results = parseResults(resultsWithMetrics(kMaxMetrics + 1));
  ASSERT_FALSE(results.ok());
  EXPECT_EQ(results.error().message,
            "results report 257 metrics; a ModelVersion holds at most 256 (spec.metrics "
            "maxProperties), so report fewer");
}

// The limits parseResults() enforces are the ModelVersion schema's, read from
// the CRD the API server enforces.
TEST(ParseResults, LimitsMatchTheModelVersionCrd) {
  const YAML::Node crd =
      YAML::LoadFile(std::string(MLOPS_REPO_ROOT) + "/crds/mlops.dev_modelversions.yaml");
  const YAML::Node spec =
      crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"];
  ASSERT_TRUE(spec["metrics"]["maxProperties"]) << "spec.metrics has no maxProperties";
  EXPECT_EQ(spec["metrics"]["maxProperties"].as<size_t>(), kMaxMetrics);
  EXPECT_EQ(spec["metrics"]["additionalProperties"]["type"].as<std::string>(), "number");
  EXPECT_EQ(spec["artifact"]["properties"]["uri"]["minLength"].as<int>(), 1);
  // The digest patterns parseResults() checks with isSha256Digest().
  EXPECT_EQ(spec["artifact"]["properties"]["digest"]["pattern"].as<std::string>(),
            "^sha256:[a-f0-9]{64}$");
  EXPECT_EQ(
      spec["source"]["properties"]["dataset"]["properties"]["digest"]["pattern"].as<std::string>(),
      "^sha256:[a-f0-9]{64}$");
}

}  // namespace
}  // namespace mlops::training
