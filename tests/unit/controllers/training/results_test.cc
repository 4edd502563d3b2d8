#include "controllers/training/results.h"

#include <gtest/gtest.h>

namespace mlops::training {
namespace {

const std::string kDigest = "sha256:" + std::string(64, 'a');
const std::string kDigest2 = "sha256:" + std::string(64, 'b');

TEST(ParseResults, ReadsTheContract) {
  const std::string message = R"({"metrics": {"accuracy": 0.94, "loss": 1, "f1": -2.5e-3},
    "artifact": {"uri": "s3://bucket/iris/run-1", "digest": ")" +
                              kDigest + R"("},
    "dataset": {"digest": ")" +
                              kDigest2 + R"("}, "extra": [1, 2]})";
  auto results = parseResults(message);
  ASSERT_TRUE(results.ok()) << results.error().message;
  const std::map<std::string, double> metrics{{"accuracy", 0.94}, {"loss", 1.0}, {"f1", -0.0025}};
  EXPECT_EQ(results->metrics, metrics);
  EXPECT_EQ(results->artifact.uri, "s3://bucket/iris/run-1");
  EXPECT_EQ(results->artifact.digest, kDigest);
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
      {R"({"metrics": {}, "artifact": {"digest": ")" + kDigest + R"("}})",
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
TEST(ParseResults, ANumberBeyondDoubleRangeIsMalformedNotAnException) {
  for (const char* message : {R"({"metrics": {"loss": 1e400}, "artifact": {"uri": "s3://a"}})",
                              R"({"metrics": {"loss": -1e400}, "artifact": {"uri": "s3://a"}})",
                              R"({"metrics": {}, "artifact": {"uri": "s3://a"}, "x": [1e999]})"}) {
    auto results = parseResults(message);
    ASSERT_FALSE(results.ok()) << message;
    EXPECT_EQ(results.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(results.error().message.rfind("malformed results: ", 0), 0u)
        << results.error().message;
    EXPECT_NE(results.error().message.find("out of range"), std::string::npos)
        << results.error().message;
  }
}

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

}  // namespace
}  // namespace mlops::training
