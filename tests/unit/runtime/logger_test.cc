#include "runtime/logger.h"

#include <gtest/gtest.h>

#include <vector>

#include "kube/utf8.h"

namespace mlops::runtime {
namespace {

class LoggerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Logger::setSink([this](std::string_view line) { lines_.emplace_back(line); });
  }
  void TearDown() override {
    Logger::setSink(nullptr);
    Logger::configure(LogFormat::kText, LogLevel::kInfo);
  }
  std::vector<std::string> lines_;
};

TEST_F(LoggerTest, JsonRecordsCarryLevelLoggerMessageAndFields) {
  Logger::configure(LogFormat::kJson, LogLevel::kInfo);
  Logger("controller")
      .withValues({{"controller", "rollout"}})
      .info("reconciled", {{"key", "ns/m"}, {"ms", 12}});
  ASSERT_EQ(lines_.size(), 1u);
  auto rec = nlohmann::json::parse(lines_[0]);
  EXPECT_EQ(rec["level"], "info");
  EXPECT_EQ(rec["logger"], "controller");
  EXPECT_EQ(rec["msg"], "reconciled");
  EXPECT_EQ(rec["controller"], "rollout");
  EXPECT_EQ(rec["key"], "ns/m");
  EXPECT_EQ(rec["ms"], 12);
  EXPECT_TRUE(rec["ts"].get<std::string>().ends_with("Z"));
}

TEST_F(LoggerTest, TextRecordsQuoteValuesWithSpaces) {
  const std::string line = formatLogRecord(LogFormat::kText, LogLevel::kWarn, "T", "mgr", "hello",
                                           {{"a", "plain"}, {"b", "two words"}, {"n", 3}});
  EXPECT_EQ(line, "T WARN  mgr hello a=plain b=\"two words\" n=3");
}

TEST_F(LoggerTest, LevelFiltersRecords) {
  Logger::configure(LogFormat::kText, LogLevel::kWarn);
  Logger log("x");
  log.debug("d");
  log.info("i");
  log.warn("w");
  log.error("e");
  EXPECT_EQ(lines_.size(), 2u);
  EXPECT_FALSE(Logger::enabled(LogLevel::kInfo));
}

TEST_F(LoggerTest, RedactsCredentialFields) {
  const std::string line = formatLogRecord(LogFormat::kJson, LogLevel::kInfo, "T", "", "m",
                                           {{"token", "abc"},
                                            {"Authorization", "Bearer x"},
                                            {"clientKeyPem", "k"},
                                            {"bearerTokenSecretRef", "s"},
                                            {"password", "p"},
                                            {"user", "ok"}});
  auto rec = nlohmann::json::parse(line);
  for (const char* k : {"token", "Authorization", "bearerTokenSecretRef", "password"}) {
    EXPECT_EQ(rec[k], "[redacted]") << k;
  }
  EXPECT_EQ(rec["user"], "ok");
  EXPECT_EQ(line.find("abc"), std::string::npos);
}

TEST_F(LoggerTest, InvalidUtf8DoesNotThrow) {
  Logger::configure(LogFormat::kJson, LogLevel::kInfo);
  Logger("x").info("m", {{"v", std::string("\xff\xfe")}});
  ASSERT_EQ(lines_.size(), 1u);
}

// Every part of a record may carry bytes that are not UTF-8 (a container's
// message, a server's error body): in both formats the record is written in
// full, as valid UTF-8 with U+FFFD where the bad bytes were, and the logger
// never throws.
TEST_F(LoggerTest, InvalidUtf8AnywhereIsReplacedInBothFormats) {
  const std::string bad = "caf\xC3";  // "café" cut inside the "é"
  const nlohmann::json fields = {
      {"plain", bad}, {"spaced", "two words " + bad}, {"k\xC3", 1}, {"nested", {{"inner", bad}}}};
  for (LogFormat format : {LogFormat::kText, LogFormat::kJson}) {
    lines_.clear();
    Logger::configure(format, LogLevel::kInfo);
    Logger("name" + bad).info("message " + bad, fields);
    ASSERT_EQ(lines_.size(), 1u);
    const std::string& line = lines_[0];
    EXPECT_EQ(line.find("could not be formatted"), std::string::npos) << line;
    EXPECT_TRUE(kube::isValidUtf8(line)) << line;
    EXPECT_NE(line.find("message caf\uFFFD"), std::string::npos) << line;
    EXPECT_NE(line.find("two words caf\uFFFD"), std::string::npos) << line;
    EXPECT_NE(line.find("inner"), std::string::npos) << line;
    if (format == LogFormat::kJson) {
      auto rec = nlohmann::json::parse(line);
      EXPECT_EQ(rec["plain"], "caf\uFFFD");
      EXPECT_EQ(rec["k" + std::string("\uFFFD")], 1);
    } else {
      EXPECT_NE(line.find(" plain=caf\uFFFD"), std::string::npos) << line;
      EXPECT_NE(line.find(" k\uFFFD=1"), std::string::npos) << line;
    }
  }
}

TEST_F(LoggerTest, ParsesFlags) {
  EXPECT_EQ(*parseLogLevel("DEBUG"), LogLevel::kDebug);
  EXPECT_EQ(*parseLogLevel("warning"), LogLevel::kWarn);
  EXPECT_FALSE(parseLogLevel("loud").ok());
  EXPECT_EQ(*parseLogFormat("json"), LogFormat::kJson);
  EXPECT_FALSE(parseLogFormat("xml").ok());
}

TEST_F(LoggerTest, WithNameNests) {
  Logger::configure(LogFormat::kJson, LogLevel::kInfo);
  Logger("manager").withName("informer").info("m");
  EXPECT_EQ(nlohmann::json::parse(lines_[0])["logger"], "manager.informer");
}

}  // namespace
}  // namespace mlops::runtime
