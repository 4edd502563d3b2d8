#include "runtime/label_selector.h"

#include <gtest/gtest.h>

namespace mlops::runtime {
namespace {

struct Case {
  const char* selector;
  nlohmann::json labels;
  bool matches;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << "'" << c.selector << "' on " << c.labels.dump();
}

class LabelSelectorMatchTest : public ::testing::TestWithParam<Case> {};

TEST_P(LabelSelectorMatchTest, Matches) {
  const Case& c = GetParam();
  auto s = LabelSelector::parse(c.selector);
  ASSERT_TRUE(s.ok()) << c.selector << ": " << s.error().toString();
  EXPECT_EQ(s->matches(c.labels), c.matches) << c.selector << " vs " << c.labels.dump();
}

const nlohmann::json kLabels = {{"app", "web"}, {"tier", "front"}, {"mlops.dev/model", "churn"}};

INSTANTIATE_TEST_SUITE_P(
    Table, LabelSelectorMatchTest,
    ::testing::Values(
        Case{"", kLabels, true}, Case{"app=web", kLabels, true}, Case{"app==web", kLabels, true},
        Case{"app=db", kLabels, false}, Case{"app!=db", kLabels, true},
        Case{"missing!=x", kLabels, true}, Case{"app!=web", kLabels, false},
        Case{"app in (web, db)", kLabels, true}, Case{"app in (db)", kLabels, false},
        Case{"app notin (db,cache)", kLabels, true}, Case{"missing notin (db)", kLabels, true},
        Case{"app notin (web)", kLabels, false}, Case{"tier", kLabels, true},
        Case{"missing", kLabels, false}, Case{"!missing", kLabels, true},
        Case{"!app", kLabels, false}, Case{"app=web,tier=front", kLabels, true},
        Case{"app=web, tier=back", kLabels, false}, Case{"mlops.dev/model=churn", kLabels, true},
        Case{"app in (web),tier notin (x, y),!z", kLabels, true},
        Case{"app=web", nlohmann::json(), false}, Case{"app=", {{"app", ""}}, true}));

TEST(LabelSelectorTest, RejectsMalformedSelectors) {
  for (const char* bad : {"app in (web", "app in web)", "app in ()", "=web", "a b=c", "app=w b",
                          ",", "app in ((x))"}) {
    EXPECT_FALSE(LabelSelector::parse(bad).ok()) << bad;
  }
}

TEST(LabelSelectorTest, ExposesRequirements) {
  auto s = LabelSelector::parse("a=1,b in (2,3)");
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->requirements().size(), 2u);
  EXPECT_EQ(s->requirements()[1].op, LabelSelector::Op::kIn);
  EXPECT_EQ(s->requirements()[1].values, (std::vector<std::string>{"2", "3"}));
  EXPECT_TRUE(LabelSelector().empty());
}

struct CoverCase {
  const char* broader;
  const char* narrower;
  bool covers;
};

void PrintTo(const CoverCase& c, std::ostream* os) {
  *os << "'" << c.broader << "' covers '" << c.narrower << "'";
}

class LabelSelectorCoverTest : public ::testing::TestWithParam<CoverCase> {};

TEST_P(LabelSelectorCoverTest, Covers) {
  const CoverCase& c = GetParam();
  auto broader = LabelSelector::parse(c.broader);
  auto narrower = LabelSelector::parse(c.narrower);
  ASSERT_TRUE(broader.ok() && narrower.ok());
  EXPECT_EQ(broader->covers(*narrower), c.covers);
}

INSTANTIATE_TEST_SUITE_P(
    Table, LabelSelectorCoverTest,
    ::testing::Values(CoverCase{"", "", true}, CoverCase{"", "a=1", true},
                      CoverCase{"a=1", "", false}, CoverCase{"a=1", "a=1,b=2", true},
                      CoverCase{"a=1", "a==1", true}, CoverCase{"a=1", "a=2", false},
                      CoverCase{"a in (1,2)", "a=1", true}, CoverCase{"a=1", "a in (1,2)", false},
                      CoverCase{"a", "a=1", true}, CoverCase{"a", "!a", false},
                      CoverCase{"!a", "!a,b", true}, CoverCase{"a!=1", "a=2", true},
                      CoverCase{"a!=1", "a notin (1,3)", true},
                      CoverCase{"a notin (1,3)", "a!=1", false}, CoverCase{"a!=1", "!a", true},
                      CoverCase{"a=1,b=2", "b=2,a=1", true}, CoverCase{"a=1,b=2", "a=1", false}));

}  // namespace
}  // namespace mlops::runtime
