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

}  // namespace
}  // namespace mlops::runtime
