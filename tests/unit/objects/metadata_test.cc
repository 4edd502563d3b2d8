#include "objects/metadata.h"

#include <gtest/gtest.h>

#include "objects/phases.h"

namespace mlops::objects {
namespace {

using nlohmann::json;

const json kJob = {
    {"apiVersion", "batch/v1"},
    {"kind", "Job"},
    {"metadata",
     {{"name", "run-1"},
      {"namespace", "team-a"},
      {"uid", "job-uid"},
      {"resourceVersion", "42"},
      {"generation", 3},
      {"labels", {{"mlops.dev/model", "iris"}}},
      {"annotations", {{"note", "x"}}},
      {"ownerReferences",
       {{{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"name", "cm"}, {"uid", "cm-uid"}},
        {{"apiVersion", "mlops.dev/v1alpha1"},
         {"kind", "TrainingRun"},
         {"name", "run-1"},
         {"uid", "run-uid"},
         {"controller", true},
         {"blockOwnerDeletion", true}}}}}}};

TEST(MetadataTest, ReadsIdentityLabelsAndAnnotations) {
  EXPECT_EQ(nameOf(kJob), "run-1");
  EXPECT_EQ(namespaceOf(kJob), "team-a");
  EXPECT_EQ(uidOf(kJob), "job-uid");
  EXPECT_EQ(resourceVersionOf(kJob), "42");
  EXPECT_EQ(generationOf(kJob), 3);
  EXPECT_EQ(labelOf(kJob, "mlops.dev/model"), "iris");
  EXPECT_EQ(annotationOf(kJob, "note"), "x");
  EXPECT_EQ(labelsOf(kJob).size(), 1u);
}

TEST(MetadataTest, ToleratesMissingAndMistypedFields) {
  for (const json& odd :
       {json(), json(3), json::object(), json{{"metadata", "x"}},
        json{{"metadata", {{"name", 7}, {"labels", "no"}, {"generation", "2"}}}}}) {
    EXPECT_EQ(nameOf(odd), "");
    EXPECT_EQ(uidOf(odd), "");
    EXPECT_EQ(generationOf(odd), 0);
    EXPECT_TRUE(labelsOf(odd).is_object());
    EXPECT_TRUE(labelsOf(odd).empty());
    EXPECT_EQ(labelOf(odd, "a"), "");
    EXPECT_FALSE(controllerOf(odd).has_value());
    EXPECT_FALSE(hasOwner(odd, "run-uid"));
  }
}

TEST(MetadataTest, OwnerReferences) {
  auto controller = controllerOf(kJob);
  ASSERT_TRUE(controller.has_value());
  EXPECT_EQ(controller->kind, "TrainingRun");
  EXPECT_EQ(controller->uid, "run-uid");
  EXPECT_TRUE(controller->blockOwnerDeletion);
  EXPECT_TRUE(hasOwner(kJob, "cm-uid"));
  EXPECT_TRUE(hasOwner(kJob, "run-uid"));
  EXPECT_FALSE(hasOwner(kJob, ""));
  EXPECT_TRUE(isControlledBy(kJob, "run-uid"));
  EXPECT_FALSE(isControlledBy(kJob, "cm-uid")) << "an owner, not the controller";

  const json run = {{"apiVersion", "mlops.dev/v1alpha1"},
                    {"kind", "TrainingRun"},
                    {"metadata", {{"name", "run-1"}, {"uid", "run-uid"}}}};
  const OwnerReference made = makeOwnerReference(run);
  EXPECT_EQ(made, *controller);
  EXPECT_EQ(made.toJson(), kJob["metadata"]["ownerReferences"][1]);
  EXPECT_FALSE(makeOwnerReference(run, false).blockOwnerDeletion);
}

TEST(PhasesTest, FinishedTrainingRuns) {
  EXPECT_TRUE(TrainingRunPhase::isFinished("Succeeded"));
  EXPECT_TRUE(TrainingRunPhase::isFinished("Failed"));
  EXPECT_FALSE(TrainingRunPhase::isFinished("Running"));
  EXPECT_FALSE(TrainingRunPhase::isFinished(""));
}

}  // namespace
}  // namespace mlops::objects
