#include "controllers/training/version_registry.h"

#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <thread>

#include "fake_client.h"
#include "hooked_client.h"

namespace mlops::training {
namespace {

using nlohmann::json;
using runtime::testing::FakeClient;
using testing::apiError;
using testing::HookedClient;

// ---- The pure part ----

struct NextCase {
  std::vector<int64_t> existing;
  int64_t mark;
  int64_t want;
};

TEST(NextVersionNumber, AboveEveryExistingVersionAndTheMark) {
  const NextCase cases[] = {
      {{}, 0, 1},         // the first version
      {{1, 2, 3}, 0, 4},  // no mark yet: above the versions
      {{1, 2}, 5, 6},     // 3..5 were handed out and lost (or deleted): never reused
      {{7}, 3, 8},        // a version created by hand above the mark
      {{3, 1, 2}, 3, 4},  // unordered
      {{0, -4}, 0, 1},    // nonsense versions count for nothing
      {{}, -2, 1},        // a negative mark is no mark
  };
  for (const auto& c : cases) {
    EXPECT_EQ(nextVersionNumber(c.existing, c.mark), c.want)
        << "existing " << ::testing::PrintToString(c.existing) << ", mark " << c.mark;
  }
}

TEST(HighWaterMarkOf, ReadsTheModelsEntry) {
  EXPECT_EQ(*highWaterMarkOf(json(), "iris"), 0);                               // no ConfigMap
  EXPECT_EQ(*highWaterMarkOf(json{{"metadata", {{"name", "x"}}}}, "iris"), 0);  // no data
  EXPECT_EQ(*highWaterMarkOf(json{{"data", {{"churn", "9"}}}}, "iris"), 0);     // no entry
  EXPECT_EQ(*highWaterMarkOf(json{{"data", {{"iris", "7"}, {"churn", "9"}}}}, "iris"), 7);
  EXPECT_EQ(*highWaterMarkOf(json{{"data", {{"iris", "0"}}}}, "iris"), 0);
}

TEST(HighWaterMarkOf, RejectsAnythingButADecimalCount) {
  for (const char* bad : {"", "abc", "-1", " 7", "7 ", "1e3", "99999999999999999999999"}) {
    auto mark = highWaterMarkOf(json{{"data", {{"iris", bad}}}}, "iris");
    ASSERT_FALSE(mark.ok()) << "\"" << bad << "\"";
    EXPECT_EQ(mark.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(mark.error().message.find("iris"), std::string::npos) << mark.error().message;
  }
}

TEST(ModelVersionName, IsModelDashVVersion) {
  EXPECT_EQ(modelVersionName("iris", 3), "iris-v3");
}

// ---- The protocol, against the in-memory API ----

constexpr const char* kNs = "team-a";

ModelVersionRequest requestFor(const std::string& run, const std::string& model = "iris") {
  return ModelVersionRequest{json{{"mlops.dev/model", model},
                                  {"mlops.dev/training-run", run},
                                  {"app.kubernetes.io/managed-by", "mlops-operator"}},
                             json{{"model", model},
                                  {"artifact", {{"uri", "s3://bucket/" + run}}},
                                  {"metrics", {{"accuracy", 0.9}}},
                                  {"source", {{"trainingRun", run}}},
                                  {"stage", "None"}}};
}

json modelVersion(const std::string& model, int64_t version, json labels = json::object()) {
  return json{{"apiVersion", "mlops.dev/v1alpha1"},
              {"kind", "ModelVersion"},
              {"metadata",
               {{"name", model + "-v" + std::to_string(version)},
                {"namespace", kNs},
                {"labels", std::move(labels)}}},
              {"spec", {{"model", model}, {"version", version}}}};
}

json registryConfigMap(json data) {
  return json{{"apiVersion", "v1"},
              {"kind", "ConfigMap"},
              {"metadata", {{"name", "mlops-version-registry"}, {"namespace", kNs}}},
              {"data", std::move(data)}};
}

class VersionRegistryTest : public ::testing::Test {
 protected:
  std::string markOf(const std::string& model) {
    auto cm = fake_.object(kube::resources::kConfigMaps, kNs, "mlops-version-registry");
    return cm ? cm->at("data").value(model, "") : "<no ConfigMap>";
  }
  int modelVersionCount() {
    auto page = fake_.list(kube::resources::kModelVersions, kNs);
    return page ? static_cast<int>(page->items.size()) : -1;
  }

  // Registers for the run `name` (UID "uid-<name>"), recording every claim
  // instead of writing it to a TrainingRun.
  Result<json> reg(const std::string& name, std::optional<int64_t> claimed = std::nullopt) {
    return registry_.registerVersion(kNs, identity(name), claimed, requestFor(name),
                                     [&](int64_t version) -> Status {
                                       if (claimFailure_) return *claimFailure_;
                                       // Registrations may run on several threads.
                                       std::lock_guard lock(claimsMu_);
                                       claims_.push_back(version);
                                       return okStatus();
                                     });
  }
  static RunIdentity identity(const std::string& name) {
    return RunIdentity{name, "uid-" + name, "2024-05-01T12:00:00Z"};
  }
  static json labelsOf(const std::string& run) {
    return json{{"mlops.dev/model", "iris"},
                {"mlops.dev/training-run", run},
                {"mlops.dev/training-run-uid", "uid-" + run}};
  }

  FakeClient fake_;
  HookedClient api_{fake_};
  VersionRegistry registry_{api_};
  std::mutex claimsMu_;
  std::vector<int64_t> claims_;
  std::optional<Error> claimFailure_;
};

TEST_F(VersionRegistryTest, FirstRegistrationCreatesVersionOneWithStatusAndMark) {
  auto mv = reg("run-a");
  ASSERT_TRUE(mv.ok()) << mv.error().toString();
  EXPECT_EQ((*mv)["metadata"]["name"], "iris-v1");
  EXPECT_EQ((*mv)["spec"]["version"], 1);
  EXPECT_EQ((*mv)["spec"]["artifact"]["uri"], "s3://bucket/run-a");
  const json& labels = (*mv)["metadata"]["labels"];
  EXPECT_EQ(labels["mlops.dev/model"], "iris");
  EXPECT_EQ(labels["mlops.dev/version"], "1");
  EXPECT_EQ(labels["mlops.dev/training-run"], "run-a");
  EXPECT_EQ(labels["app.kubernetes.io/managed-by"], "mlops-operator");
  EXPECT_EQ((*mv)["status"]["phase"], "Registered");
  EXPECT_EQ(markOf("iris"), "1");
  // The mark was written before the ModelVersion was created.
  auto writes = api_.writes();
  ASSERT_GE(writes.size(), 3u);
  EXPECT_EQ(writes[0].resource, "configmaps");
  EXPECT_EQ(writes[1].verb, "create");
  EXPECT_EQ(writes[1].resource, "modelversions.mlops.dev");
  EXPECT_EQ(writes[2].verb, "updateStatus");
}

TEST_F(VersionRegistryTest, NumbersGoAboveExistingVersionsAndTheMark) {
  fake_.put(kube::resources::kModelVersions, modelVersion("iris", 1));  // made by hand, unlabelled
  fake_.put(kube::resources::kModelVersions, modelVersion("iris", 2));
  fake_.put(kube::resources::kModelVersions, modelVersion("churn", 9));  // another model
  fake_.put(kube::resources::kConfigMaps, registryConfigMap({{"iris", "4"}, {"churn", "9"}}));
  auto mv = reg("run-b");
  ASSERT_TRUE(mv.ok()) << mv.error().toString();
  EXPECT_EQ((*mv)["metadata"]["name"], "iris-v5");
  EXPECT_EQ(markOf("iris"), "5");
  EXPECT_EQ(markOf("churn"), "9");
}

TEST_F(VersionRegistryTest, AdoptsTheVersionAlreadyLabelledForTheRun) {
  // Created before a crash, status never written: adopted, its status filled
  // in, nothing else written.
  fake_.put(kube::resources::kModelVersions, modelVersion("iris", 3, labelsOf("run-c")));
  auto mv = reg("run-c");
  ASSERT_TRUE(mv.ok()) << mv.error().toString();
  EXPECT_EQ((*mv)["metadata"]["name"], "iris-v3");
  EXPECT_EQ((*mv)["status"]["phase"], "Registered");
  EXPECT_EQ(modelVersionCount(), 1);
  EXPECT_EQ(api_.count("create", "modelversions.mlops.dev"), 0);
  EXPECT_EQ(api_.count("update", "configmaps") + api_.count("create", "configmaps"), 0);

  // A second call finds it with its status: no write at all.
  api_.clearWrites();
  auto again = reg("run-c");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)["metadata"]["name"], "iris-v3");
  EXPECT_TRUE(api_.writes().empty());
}

TEST_F(VersionRegistryTest, ANumberBurnedByAFailedCreateIsNeverReused) {
  api_.setHook([](const HookedClient::Call& call, const json&) -> std::optional<Error> {
    if (call.verb == "create" && call.resource == "modelversions.mlops.dev") {
      return apiError(ErrorCode::kUnavailable, 503, "ServiceUnavailable", "etcd is away");
    }
    return std::nullopt;
  });
  auto failed = reg("run-d");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(markOf("iris"), "1");  // reserved before the create failed
  EXPECT_EQ(modelVersionCount(), 0);

  api_.setHook(nullptr);
  auto mv = reg("run-d");
  ASSERT_TRUE(mv.ok()) << mv.error().toString();
  EXPECT_EQ((*mv)["metadata"]["name"], "iris-v2");
}

TEST_F(VersionRegistryTest, ANameTakenByAnotherRunMeansTheNextNumber) {
  // Another writer creates iris-v1 (for another run) between our
  // reservation and our create.
  bool raced = false;
  api_.setHook([&](const HookedClient::Call& call, const json&) -> std::optional<Error> {
    if (!raced && call.verb == "create" && call.resource == "modelversions.mlops.dev") {
      raced = true;
      fake_.put(kube::resources::kModelVersions,
                modelVersion("iris", 1, {{"mlops.dev/training-run", "someone-else"}}));
    }
    return std::nullopt;
  });
  auto mv = reg("run-e");
  ASSERT_TRUE(mv.ok()) << mv.error().toString();
  EXPECT_EQ((*mv)["metadata"]["name"], "iris-v2");
  EXPECT_EQ((*mv)["metadata"]["labels"]["mlops.dev/training-run"], "run-e");
  EXPECT_EQ(modelVersionCount(), 2);
}

TEST_F(VersionRegistryTest, ANameTakenByThisRunIsAdopted) {
  bool raced = false;
  api_.setHook([&](const HookedClient::Call& call, const json&) -> std::optional<Error> {
    if (!raced && call.verb == "create" && call.resource == "modelversions.mlops.dev") {
      raced = true;
      fake_.put(kube::resources::kModelVersions, modelVersion("iris", 1, labelsOf("run-f")));
    }
    return std::nullopt;
  });
  auto mv = reg("run-f");
  ASSERT_TRUE(mv.ok()) << mv.error().toString();
  EXPECT_EQ((*mv)["metadata"]["name"], "iris-v1");
  EXPECT_EQ((*mv)["status"]["phase"], "Registered");
  EXPECT_EQ(modelVersionCount(), 1);
}

TEST_F(VersionRegistryTest, AMarkMovedByAnotherWriterIsReadAgain) {
  fake_.put(kube::resources::kConfigMaps, registryConfigMap({{"iris", "1"}}));
  bool raced = false;
  api_.setHook([&](const HookedClient::Call& call, const json&) -> std::optional<Error> {
    if (!raced && call.verb == "update" && call.resource == "configmaps") {
      raced = true;  // another process reserved up to 10 meanwhile
      fake_.put(kube::resources::kConfigMaps, registryConfigMap({{"iris", "10"}}));
    }
    return std::nullopt;
  });
  auto mv = reg("run-g");
  ASSERT_TRUE(mv.ok()) << mv.error().toString();
  EXPECT_EQ((*mv)["metadata"]["name"], "iris-v11");
  EXPECT_EQ(markOf("iris"), "11");
}

TEST_F(VersionRegistryTest, AnEditedMarkStopsRegistrationInsteadOfGuessing) {
  fake_.put(kube::resources::kConfigMaps, registryConfigMap({{"iris", "lots"}}));
  auto mv = reg("run-h");
  ASSERT_FALSE(mv.ok());
  EXPECT_EQ(mv.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(modelVersionCount(), 0);
}

TEST_F(VersionRegistryTest, ConcurrentRegistrationsGetDistinctNumbers) {
  constexpr int kRuns = 8;
  std::vector<std::thread> threads;
  std::vector<std::string> names(kRuns);
  for (int i = 0; i < kRuns; ++i) {
    threads.emplace_back([&, i] {
      const std::string run = "run-" + std::to_string(i);
      auto mv = reg(run);
      names[i] = mv ? mv->at("metadata").value("name", "") : "error: " + mv.error().toString();
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> distinct(names.begin(), names.end());
  EXPECT_EQ(distinct.size(), static_cast<size_t>(kRuns)) << ::testing::PrintToString(names);
  for (const auto& n : names) EXPECT_EQ(n.rfind("iris-v", 0), 0u) << n;
  EXPECT_EQ(modelVersionCount(), kRuns);
  EXPECT_EQ(markOf("iris"), std::to_string(kRuns));
}

// ---- One version per run, identified by UID ----

TEST_F(VersionRegistryTest, ARunCreatedAgainUnderTheSameNameGetsItsOwnVersion) {
  // iris-v1 belongs to the run "run-x" that was deleted; the new "run-x" has
  // another UID.
  json old = labelsOf("run-x");
  old["mlops.dev/training-run-uid"] = "uid-of-the-deleted-run";
  fake_.put(kube::resources::kModelVersions, modelVersion("iris", 1, old));
  auto mv = reg("run-x");
  ASSERT_TRUE(mv.ok()) << mv.error().toString();
  EXPECT_EQ((*mv)["metadata"]["name"], "iris-v2");
  EXPECT_EQ((*mv)["metadata"]["labels"]["mlops.dev/training-run-uid"], "uid-run-x");
  EXPECT_EQ((*mv)["spec"]["source"]["trainingRunUID"], "uid-run-x");
  EXPECT_EQ((*mv)["spec"]["source"]["trainingRun"], "run-x");
  EXPECT_EQ(modelVersionCount(), 2);

  auto found = registry_.findRegistered(kNs, "iris", identity("run-x"));
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((**found)["metadata"]["name"], "iris-v2");

  // The UID decides even where timestamps could not (clock skew, a version
  // stamped after the new run was created).
  const RunIdentity skewed{"run-x", "uid-run-x", "2000-01-01T00:00:00Z"};
  EXPECT_FALSE(registeredBy(modelVersion("iris", 1, old), skewed));
  EXPECT_TRUE(registeredBy(modelVersion("iris", 2, labelsOf("run-x")), skewed));
}

TEST_F(VersionRegistryTest, AVersionWithoutTheUidLabelCountsOnlyWhenYoungerThanTheRun) {
  // Registered by an operator that did not write the UID label; the fake API
  // server stamps every new object 2024-01-01T00:00:00Z.
  fake_.put(
      kube::resources::kModelVersions,
      modelVersion("iris", 4, {{"mlops.dev/model", "iris"}, {"mlops.dev/training-run", "run-l"}}));
  RunIdentity olderRun{"run-l", "uid-run-l", "2023-12-31T23:59:59Z"};
  auto adopted = registry_.findRegistered(kNs, "iris", olderRun);
  ASSERT_TRUE(adopted.ok());
  ASSERT_TRUE(adopted->has_value()) << "a version created after the run is the run's";
  EXPECT_EQ((**adopted)["metadata"]["name"], "iris-v4");

  RunIdentity recreated{"run-l", "uid-run-l2", "2024-01-01T00:00:00Z"};
  auto notOurs = registry_.findRegistered(kNs, "iris", recreated);
  ASSERT_TRUE(notOurs.ok());
  EXPECT_FALSE(notOurs->has_value()) << "a version as old as the run is an earlier run's";

  EXPECT_TRUE(registeredBy(modelVersion("iris", 1, labelsOf("a")), identity("a")));
  EXPECT_FALSE(registeredBy(modelVersion("iris", 1, labelsOf("a")), identity("b")));
}

// ---- Claims: exactly once with several writers ----

TEST_F(VersionRegistryTest, TheNumberIsClaimedOnTheRunBeforeTheVersionIsCreated) {
  std::vector<int64_t> claimsAtCreate;
  api_.setHook([&](const HookedClient::Call& call, const json&) -> std::optional<Error> {
    if (call.verb == "create" && call.resource == "modelversions.mlops.dev") {
      claimsAtCreate = claims_;
    }
    return std::nullopt;
  });
  auto mv = reg("run-i");
  ASSERT_TRUE(mv.ok()) << mv.error().toString();
  EXPECT_EQ(claims_, std::vector<int64_t>{1});
  EXPECT_EQ(claimsAtCreate, std::vector<int64_t>{1});
}

TEST_F(VersionRegistryTest, AClaimedNumberIsUsedWithoutReservingAnother) {
  // The claim of 5 was written, then the process died before the create.
  fake_.put(kube::resources::kConfigMaps, registryConfigMap({{"iris", "5"}}));
  auto mv = reg("run-j", 5);
  ASSERT_TRUE(mv.ok()) << mv.error().toString();
  EXPECT_EQ((*mv)["metadata"]["name"], "iris-v5");
  EXPECT_TRUE(claims_.empty());
  EXPECT_EQ(markOf("iris"), "5");
  EXPECT_EQ(api_.count("update", "configmaps") + api_.count("create", "configmaps"), 0);
}

TEST_F(VersionRegistryTest, ALostClaimStopsBeforeCreatingAnything) {
  claimFailure_ = apiError(ErrorCode::kConflict, 409, "Conflict", "the object has been modified");
  auto mv = reg("run-m");
  ASSERT_FALSE(mv.ok());
  EXPECT_EQ(mv.error().code, ErrorCode::kConflict);
  EXPECT_EQ(modelVersionCount(), 0);
  EXPECT_EQ(markOf("iris"), "1");  // burned, never handed out twice
}

TEST_F(VersionRegistryTest, AClaimedNumberTakenByAnotherRunIsClaimedAnew) {
  fake_.put(kube::resources::kModelVersions, modelVersion("iris", 3, labelsOf("someone-else")));
  auto mv = reg("run-k", 3);
  ASSERT_TRUE(mv.ok()) << mv.error().toString();
  EXPECT_EQ((*mv)["metadata"]["name"], "iris-v4");
  EXPECT_EQ(claims_, std::vector<int64_t>{4});
}

// Two writers (two operator processes without leader election) register the
// same runs at once, each claiming on the TrainingRun with its
// resourceVersion as the controller does: one version per run.
TEST_F(VersionRegistryTest, TwoWritersRegisterExactlyOneVersionPerRun) {
  constexpr int kRuns = 15;
  for (int i = 0; i < kRuns; ++i) {
    fake_.put(kube::resources::kTrainingRuns,
              json{{"apiVersion", "mlops.dev/v1alpha1"},
                   {"kind", "TrainingRun"},
                   {"metadata", {{"name", "run-" + std::to_string(i)}, {"namespace", kNs}}}});
  }
  const auto writer = [&](VersionRegistry& registry, const std::string& run) -> std::string {
    for (int attempt = 0; attempt < 10; ++attempt) {
      json current = *fake_.get(kube::resources::kTrainingRuns, kNs, run);
      std::optional<int64_t> claimed;
      const json v = current["status"]["registration"]["version"];
      if (v.is_number_integer()) claimed = v.get<int64_t>();
      const RunIdentity id{run, current["metadata"]["uid"], "2024-01-01T00:00:00Z"};
      auto mv = registry.registerVersion(kNs, id, claimed, requestFor(run), [&](int64_t n) {
        json updated = current;
        updated["status"]["registration"] = {{"version", n}};
        auto w = api_.updateStatus(kube::resources::kTrainingRuns, kNs, updated);
        if (!w) return Status(w.error());
        current = *w;
        return okStatus();
      });
      if (mv) return (*mv)["metadata"]["name"];
      if (mv.error().code != ErrorCode::kConflict) return "error: " + mv.error().toString();
    }
    return "error: no progress";
  };
  VersionRegistry other(api_);
  std::vector<std::string> first(kRuns), second(kRuns);
  std::thread a([&] {
    for (int i = 0; i < kRuns; ++i) first[i] = writer(registry_, "run-" + std::to_string(i));
  });
  std::thread b([&] {
    for (int i = kRuns - 1; i >= 0; --i) second[i] = writer(other, "run-" + std::to_string(i));
  });
  a.join();
  b.join();
  for (int i = 0; i < kRuns; ++i) {
    EXPECT_EQ(first[i], second[i]) << "run-" << i;
    EXPECT_EQ(first[i].rfind("iris-v", 0), 0u) << first[i];
  }
  EXPECT_EQ(modelVersionCount(), kRuns);
}

}  // namespace
}  // namespace mlops::training
