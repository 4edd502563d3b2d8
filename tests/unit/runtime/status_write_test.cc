#include "runtime/status_write.h"

#include <gtest/gtest.h>

#include "fake_client.h"
#include "runtime/object.h"

namespace mlops::runtime {
namespace {

using nlohmann::json;
using testing::FakeClient;

const kube::Resource& runs() {
  return kube::resources::kTrainingRuns;
}

json run() {
  return {{"apiVersion", "mlops.dev/v1alpha1"},
          {"kind", "TrainingRun"},
          {"metadata", {{"namespace", "ns"}, {"name", "r"}}},
          {"spec", {{"model", "iris"}}},
          {"status", {{"phase", "Pending"}}}};
}

const std::vector<StatusEvent> kEvents{{EventType::kNormal, "JobCreated", "created Job r"}};

TEST(StatusWriteTest, AnUnchangedStatusIsNotWrittenAndAnnouncesNothing) {
  FakeClient client;
  json current = client.put(runs(), run());
  CollectingEventRecorder events;
  const int before = client.writeCalls();
  auto w = writeStatusIfChanged(client, events, runs(), current, current["status"], kEvents);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->outcome, StatusWriteOutcome::kUnchanged);
  EXPECT_EQ(client.writeCalls(), before);
  EXPECT_TRUE(events.events().empty());
  EXPECT_FALSE(w->result().requeue);
}

TEST(StatusWriteTest, AChangedStatusIsWrittenThenItsEventsRecordedOnTheWrittenObject) {
  FakeClient client;
  json current = client.put(runs(), run());
  CollectingEventRecorder events;
  auto w = writeStatusIfChanged(client, events, runs(), current, {{"phase", "Running"}}, kEvents,
                                kube::WriteOptions{false, "mlops-operator"});
  ASSERT_TRUE(w.ok()) << w.error().toString();
  EXPECT_EQ(w->outcome, StatusWriteOutcome::kWritten);
  EXPECT_EQ(w->object["status"]["phase"], "Running");
  EXPECT_NE(resourceVersionOf(w->object), resourceVersionOf(current));
  EXPECT_EQ((*client.object(runs(), "ns", "r"))["status"]["phase"], "Running");
  ASSERT_EQ(events.events().size(), 1u);
  EXPECT_EQ(events.events()[0].reason, "JobCreated");
  EXPECT_EQ(events.events()[0].objectKey, "ns/r");
}

TEST(StatusWriteTest, AConflictRequeuesWithoutEvents) {
  FakeClient client;
  json stale = client.put(runs(), run());
  json newer = stale;
  newer["spec"]["model"] = "other";
  client.put(runs(), newer);  // somebody else wrote since `stale` was read
  CollectingEventRecorder events;
  auto w = writeStatusIfChanged(client, events, runs(), stale, {{"phase", "Running"}}, kEvents);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->outcome, StatusWriteOutcome::kConflict);
  EXPECT_TRUE(w->result().requeue);
  EXPECT_TRUE(events.events().empty());
  EXPECT_EQ((*client.object(runs(), "ns", "r"))["status"]["phase"], "Pending");
}

TEST(StatusWriteTest, ADeletedObjectIsDone) {
  FakeClient client;
  json current = client.put(runs(), run());
  client.erase(runs(), "ns", "r");
  CollectingEventRecorder events;
  auto w = writeStatusIfChanged(client, events, runs(), current, {{"phase", "Running"}}, kEvents);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->outcome, StatusWriteOutcome::kNotFound);
  EXPECT_FALSE(w->result().requeue);
  EXPECT_TRUE(events.events().empty());
}

TEST(StatusWriteTest, OtherFailuresAreErrorsAndAnnounceNothing) {
  FakeClient client;
  json current = client.put(runs(), run());
  client.failNextWrites(1, makeError(ErrorCode::kUnavailable, "apiserver down"));
  CollectingEventRecorder events;
  auto w = writeStatusIfChanged(client, events, runs(), current, {{"phase", "Running"}}, kEvents);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(events.events().empty());
}

}  // namespace
}  // namespace mlops::runtime
