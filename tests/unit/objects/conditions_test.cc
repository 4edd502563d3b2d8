#include "objects/conditions.h"

#include <gtest/gtest.h>

namespace mlops::objects {
namespace {

using Json = nlohmann::json;

TEST(SetCondition, KeepsTransitionTimeUnlessStatusChanges) {
  Json conditions;  // null becomes an array
  setCondition(conditions, {"Ready", "False", "JobRunning", "running"}, 1, "2024-01-01T00:00:00Z");
  ASSERT_TRUE(conditions.is_array());
  ASSERT_EQ(conditions.size(), 1u);

  struct Step {
    Condition c;
    int64_t generation;
    const char* now;
    const char* expectedTransition;
  };
  const Step steps[] = {
      {{"Ready", "False", "JobRunning", "running"},
       1,
       "2024-01-01T00:01:00Z",
       "2024-01-01T00:00:00Z"},
      {{"Ready", "False", "Registering", "new reason"},
       2,
       "2024-01-01T00:02:00Z",
       "2024-01-01T00:00:00Z"},
      {{"Ready", "True", "Registered", "done"}, 2, "2024-01-01T00:03:00Z", "2024-01-01T00:03:00Z"},
      {{"Ready", "True", "Registered", "done"}, 2, "2024-01-01T00:04:00Z", "2024-01-01T00:03:00Z"},
  };
  for (const auto& s : steps) {
    setCondition(conditions, s.c, s.generation, s.now);
    ASSERT_EQ(conditions.size(), 1u);
    const Json& c = conditions[0];
    EXPECT_EQ(c["status"], s.c.status);
    EXPECT_EQ(c["reason"], s.c.reason);
    EXPECT_EQ(c["message"], s.c.message);
    EXPECT_EQ(c["observedGeneration"], s.generation);
    EXPECT_EQ(c["lastTransitionTime"], s.expectedTransition) << s.now;
  }
}

TEST(SetCondition, UpsertsByTypeInFirstSeenOrder) {
  Json conditions = Json::array();
  setCondition(conditions, {"Ready", "False", "A", ""}, 1, "t1");
  setCondition(conditions, {"JobComplete", "Unknown", "B", ""}, 1, "t1");
  setCondition(conditions, {"Ready", "True", "C", ""}, 1, "t2");
  ASSERT_EQ(conditions.size(), 2u);
  EXPECT_EQ(conditions[0]["type"], "Ready");
  EXPECT_EQ(conditions[0]["reason"], "C");
  EXPECT_EQ(conditions[1]["type"], "JobComplete");
  ASSERT_NE(findCondition(conditions, "JobComplete"), nullptr);
  EXPECT_EQ(findCondition(conditions, "Validated"), nullptr);
  EXPECT_EQ(findCondition(Json(), "Ready"), nullptr);
}

}  // namespace
}  // namespace mlops::objects
