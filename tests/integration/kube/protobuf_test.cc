// Jobs and Pods read in protobuf against the real API server give, field for
// field, what the same objects read in JSON give, for every field the
// decoders read (kube/protobuf_objects.h): listed, and as a watch delivers
// them. The objects are varied the way the operator meets them: a Job that
// succeeded with a results message, one that failed, one still running, and
// their pods on the plane's kwok node.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>

#include "kube/protobuf_objects.h"
#include "support/plane.h"
#include "watch_helpers.h"

namespace mlops::kube {
namespace {

using namespace std::chrono_literals;

class KubeProtobufTest : public testing::PlaneTest {
 protected:
  std::string namespacePrefix() const override { return "kube-protobuf"; }
};

Json job(const std::string& name, const Json& podAnnotations) {
  Json containers = Json::array();
  containers.push_back({{"name", "trainer"}, {"image", "registry.example.org/mlops/trainer:v1"}});
  containers.push_back({{"name", "sidecar"}, {"image", "example.org/sidecar:1"}});
  Json podTemplate;
  podTemplate["metadata"]["labels"] = {{"suite", "protobuf"}};
  podTemplate["metadata"]["annotations"] = podAnnotations;
  podTemplate["spec"]["restartPolicy"] = "Never";
  podTemplate["spec"]["containers"] = containers;
  Json out;
  out["apiVersion"] = "batch/v1";
  out["kind"] = "Job";
  out["metadata"]["name"] = name;
  out["metadata"]["labels"] = {{"suite", "protobuf"}, {"mlops.dev/model", "iris"}};
  out["metadata"]["annotations"] = {{"note", "decoded, and dropped by the training projection"}};
  out["spec"]["backoffLimit"] = 0;
  out["spec"]["template"] = podTemplate;
  return out;
}

// Of a JSON object, the fields the protobuf decoders read: everything else
// removed, so that what is left must equal the decoder's output.
void keepOnly(Json& obj, std::initializer_list<const char*> keys) {
  if (!obj.is_object()) return;
  for (auto it = obj.begin(); it != obj.end();) {
    bool keep = false;
    for (const char* k : keys) keep = keep || it.key() == k;
    it = keep ? std::next(it) : obj.erase(it);
  }
}

Json decodedFieldsOf(Json obj) {
  const std::string kind = obj.value("kind", "");
  keepOnly(obj, {"apiVersion", "kind", "metadata", "spec", "status"});
  keepOnly(obj["metadata"],
           {"name", "generateName", "namespace", "uid", "resourceVersion", "generation",
            "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels",
            "annotations", "ownerReferences", "finalizers"});
  if (kind == "Job") {
    keepOnly(obj["spec"], {"suspend"});
    keepOnly(obj["status"], {"conditions", "startTime", "completionTime", "active", "succeeded",
                             "failed", "terminating", "ready"});
    return obj;
  }
  obj.erase("spec");
  keepOnly(obj["status"], {"phase", "reason", "message", "startTime", "containerStatuses",
                           "initContainerStatuses"});
  for (const char* list : {"containerStatuses", "initContainerStatuses"}) {
    if (!obj["status"].contains(list)) continue;
    for (Json& cs : obj["status"][list]) {
      keepOnly(cs, {"name", "state", "lastState", "ready", "restartCount", "image", "imageID",
                    "containerID", "started"});
    }
  }
  return obj;
}

std::map<std::string, Json> byName(const Json& items) {
  std::map<std::string, Json> out;
  for (const Json& item : items) out[item["metadata"]["name"]] = item;
  return out;
}

const char* const kSucceeds = "succeeds";
const char* const kFails = "fails";
const char* const kRuns = "runs";

TEST_F(KubeProtobufTest, ListedJobsAndPodsDecodeToWhatTheirJsonSays) {
  const Json results = Json::parse(R"({"metrics": {"accuracy": 0.9}, "note": "say \"hi\" ✓"})");
  ASSERT_TRUE(client()
                  .create(resources::kJobs, ns(),
                          job(kSucceeds, {{"test.mlops.dev/results", results.dump()}}))
                  .ok());
  ASSERT_TRUE(client()
                  .create(resources::kJobs, ns(), job(kFails, {{"test.mlops.dev/exit-code", "3"}}))
                  .ok());
  ASSERT_TRUE(client().create(resources::kJobs, ns(), job(kRuns, Json::object())).ok());

  // Settled: two Jobs finished, the third one's pod running, every pod with
  // container statuses.
  const auto settled = [&] {
    Result<ListPage> jobs = client().list(resources::kJobs, ns());
    Result<ListPage> pods = client().list(resources::kPods, ns());
    if (!jobs.ok() || !pods.ok() || pods->items.size() != 3) return false;
    int finished = 0;
    for (const Json& j : jobs->items) {
      for (const Json& c : j["status"].value("conditions", Json::array())) {
        if ((c["type"] == "Complete" || c["type"] == "Failed") && c["status"] == "True") ++finished;
      }
    }
    for (const Json& p : pods->items) {
      if (!p["status"].contains("containerStatuses")) return false;
      if (p["status"].value("phase", "") == "Pending") return false;
    }
    return finished == 2;
  };
  const auto deadline = std::chrono::steady_clock::now() + 90s;
  while (!settled() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(200ms);
  ASSERT_TRUE(settled()) << "the Jobs did not settle within 90 s";

  for (const auto& [resource, decoder] : {std::pair{&resources::kJobs, &decodeJobProtobuf},
                                          std::pair{&resources::kPods, &decodePodProtobuf}}) {
    Result<ListPage> asJson = client().list(*resource, ns());
    ASSERT_TRUE(asJson.ok()) << asJson.error().toString();
    ListOptions protobuf;
    protobuf.protobuf = decoder;
    Result<ListPage> asProtobuf = client().list(*resource, ns(), protobuf);
    ASSERT_TRUE(asProtobuf.ok()) << asProtobuf.error().toString();
    EXPECT_FALSE(asProtobuf->resourceVersion.empty());
    const auto json = byName(asJson->items);
    const auto decoded = byName(asProtobuf->items);
    ASSERT_EQ(json.size(), 3u);
    ASSERT_EQ(decoded.size(), 3u);
    for (const auto& [name, object] : json) {
      ASSERT_TRUE(decoded.count(name)) << name;
      EXPECT_EQ(decoded.at(name), decodedFieldsOf(object))
          << resource->groupResource() << " " << name << "\nprotobuf: " << decoded.at(name).dump(2)
          << "\njson: " << decodedFieldsOf(object).dump(2);
    }
  }
  // The results message came through byte for byte.
  ListOptions protobuf;
  protobuf.protobuf = decodePodProtobuf;
  Result<ListPage> pods = client().list(resources::kPods, ns(), protobuf);
  ASSERT_TRUE(pods.ok());
  bool seen = false;
  for (const Json& p : pods->items) {
    for (const Json& cs : p["status"]["containerStatuses"]) {
      if (cs.contains("/state/terminated/message"_json_pointer) &&
          cs["state"]["terminated"]["message"] == results.dump()) {
        seen = true;
      }
    }
  }
  EXPECT_TRUE(seen) << pods->items.dump(2);
}

TEST_F(KubeProtobufTest, AWatchInProtobufDeliversWhatAWatchInJsonDelivers) {
  Result<ListPage> start = client().list(resources::kJobs, ns());
  ASSERT_TRUE(start.ok());
  WatchOptions jsonOptions;
  jsonOptions.resourceVersion = start->resourceVersion;
  jsonOptions.allowBookmarks = false;
  WatchOptions protobufOptions = jsonOptions;
  protobufOptions.protobuf = decodeJobProtobuf;
  Result<std::unique_ptr<WatchStream>> jsonWatch =
      client().watch(resources::kJobs, ns(), jsonOptions);
  Result<std::unique_ptr<WatchStream>> protobufWatch =
      client().watch(resources::kJobs, ns(), protobufOptions);
  ASSERT_TRUE(jsonWatch.ok()) << jsonWatch.error().toString();
  ASSERT_TRUE(protobufWatch.ok()) << protobufWatch.error().toString();

  ASSERT_TRUE(
      client()
          .create(resources::kJobs, ns(), job(kSucceeds, {{"test.mlops.dev/results", "{}"}}))
          .ok());
  const auto complete = [](const WatchEvent& e) {
    for (const Json& c : e.object["status"].value("conditions", Json::array())) {
      if (c["type"] == "Complete" && c["status"] == "True") return true;
    }
    return false;
  };
  testing::Collected json = testing::collect(**jsonWatch, complete, 60s);
  testing::Collected protobuf = testing::collect(**protobufWatch, complete, 60s);
  ASSERT_FALSE(json.timedOut || json.error) << "JSON watch did not see the Job complete";
  ASSERT_FALSE(protobuf.timedOut || protobuf.error)
      << "protobuf watch did not see the Job complete: "
      << (protobuf.error ? protobuf.error->toString() : "timed out");
  ASSERT_EQ(protobuf.events.size(), json.events.size());
  EXPECT_GE(json.events.size(), 3u) << "added, the pod's start, completion at least";
  for (size_t i = 0; i < json.events.size(); ++i) {
    EXPECT_EQ(protobuf.events[i].type, json.events[i].type) << "event " << i;
    EXPECT_EQ(protobuf.events[i].object, decodedFieldsOf(json.events[i].object)) << "event " << i;
  }
}

TEST_F(KubeProtobufTest, ErrorRepliesInProtobufKeepTheServersReason) {
  ListOptions badSelector;
  badSelector.labelSelector = "a in (";
  badSelector.protobuf = decodeJobProtobuf;
  Result<ListPage> refused = client().list(resources::kJobs, ns(), badSelector);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kBadRequest) << refused.error().toString();
  EXPECT_NE(refused.error().message.find("unable to parse requirement"), std::string::npos)
      << refused.error().message;
}

}  // namespace
}  // namespace mlops::kube
