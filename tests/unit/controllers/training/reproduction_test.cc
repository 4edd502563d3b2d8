#include "controllers/training/reproduction.h"

#include <gtest/gtest.h>

namespace mlops::training {
namespace {

using Json = nlohmann::json;

struct Case {
  const char* name;
  std::map<std::string, double> original;
  std::map<std::string, double> reproduced;
  Json tolerance;
  bool reproduced_verdict;
  std::vector<std::string> missing;
  std::vector<std::string> exceeded;
};

TEST(CompareReproduction, Verdicts) {
  const Case cases[] = {
      {"identical", {{"accuracy", 0.94}}, {{"accuracy", 0.94}}, Json(), true, {}, {}},
      {"within default 0.01 despite rounding",
       {{"accuracy", 0.95}},
       {{"accuracy", 0.96}},
       Json(),
       true,
       {},
       {}},
      {"beyond default",
       {{"accuracy", 0.95}},
       {{"accuracy", 0.9601}},
       Json(),
       false,
       {},
       {"accuracy"}},
      {"custom tolerance",
       {{"accuracy", 0.95}},
       {{"accuracy", 0.99}},
       Json{{"accuracy", 0.05}},
       true,
       {},
       {}},
      {"zero tolerance",
       {{"loss", 0.3}},
       {{"loss", 0.30000001}},
       Json{{"loss", 0}},
       false,
       {},
       {"loss"}},
      {"tolerance for one metric only",
       {{"a", 1.0}, {"b", 1.0}},
       {{"a", 1.5}, {"b", 1.5}},
       Json{{"a", 1}},
       false,
       {},
       {"b"}},
      {"missing metric", {{"a", 1.0}, {"b", 2.0}}, {{"a", 1.0}}, Json(), false, {"b"}, {}},
      {"extra metric ignored", {{"a", 1.0}}, {{"a", 1.0}, {"z", 100.0}}, Json(), true, {}, {}},
      {"original reported nothing", {}, {{"a", 1.0}}, Json(), true, {}, {}},
  };
  for (const auto& c : cases) {
    const auto r =
        compareReproduction("orig", c.original, c.reproduced, c.tolerance, "v1:x", "v1:x");
    EXPECT_EQ(r.reproduced, c.reproduced_verdict) << c.name;
    EXPECT_EQ(r.missingMetrics, c.missing) << c.name;
    EXPECT_EQ(r.exceeded, c.exceeded) << c.name;
    EXPECT_STREQ(r.verdict(), c.reproduced_verdict ? "Reproduced" : "NotReproduced") << c.name;
  }
}

TEST(CompareReproduction, ReportsDeltasAndFingerprintMatch) {
  const auto r = compareReproduction("iris-run-1", {{"accuracy", 0.94}, {"f1", 0.9}, {"loss", 0.2}},
                                     {{"accuracy", 0.942}, {"f1", 0.85}}, Json(), "v1:a", "v1:b");
  EXPECT_FALSE(r.fingerprintMatch);
  EXPECT_NEAR(r.deltas.at("accuracy"), 0.002, 1e-12);
  EXPECT_NEAR(r.deltas.at("f1"), 0.05, 1e-12);
  EXPECT_EQ(r.deltas.count("loss"), 0u);
  const Json status = r.toStatus();
  EXPECT_EQ(status["of"], "iris-run-1");
  EXPECT_EQ(status["fingerprintMatch"], false);
  EXPECT_EQ(status["verdict"], "NotReproduced");
  EXPECT_EQ(status["missingMetrics"], Json::array({"loss"}));
  EXPECT_EQ(status["deltas"].size(), 2u);
  EXPECT_EQ(r.message.rfind("did not reproduce iris-run-1: f1 delta 0.05", 0), 0u) << r.message;
  EXPECT_NE(r.message.find("loss missing (original 0.2)"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("fingerprints differ"), std::string::npos);

  EXPECT_FALSE(compareReproduction("o", {}, {}, Json(), "", "").fingerprintMatch);
  EXPECT_TRUE(compareReproduction("o", {}, {}, Json(), "v1:a", "v1:a").fingerprintMatch);
  const auto ok = compareReproduction("o", {{"a", 1}}, {{"a", 1}}, Json(), "v1:a", "v1:a");
  EXPECT_EQ(ok.toStatus().contains("missingMetrics"), false);
  EXPECT_EQ(ok.message, "reproduced o: a delta 0 (1 -> 1, tolerance 0.01); fingerprints match");
}

TEST(CompareReproduction, DeltasAreTheDecimalDifferenceInStatusAndMessage) {
  // In binary 0.962 - 0.96 is 0.0020000000000000018; people read 0.002.
  const auto r = compareReproduction("orig", {{"accuracy", 0.96}}, {{"accuracy", 0.962}},
                                     Json{{"accuracy", 0.001}}, "v1:a", "v1:a");
  EXPECT_EQ(r.deltas.at("accuracy"), 0.002);
  EXPECT_EQ(r.toStatus()["deltas"]["accuracy"].dump(), "0.002");
  EXPECT_EQ(r.message,
            "did not reproduce orig: accuracy delta 0.002 (0.96 -> 0.962, tolerance 0.001) exceeds "
            "tolerance; fingerprints match");
}

}  // namespace
}  // namespace mlops::training
