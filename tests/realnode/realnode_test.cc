// Real pods on the plane's real node (hack/node/, hack/plane/README.md "The
// real node"): containerd runs them, the kubelet reports them, kube-proxy
// routes a ClusterIP to them. The image is built here, without a registry:
// one static program (image/realnode_tool.cc) as its whole root filesystem,
// archived by hack/node/oci-archive.sh and imported by
// hack/node/import-image.sh.
//
// Where the plane has no real node (the machine cannot run containers, or
// MLOPS_REAL_NODE=off, or another plane owns it) every test is skipped with
// the reason cluster-up wrote to .cluster/env — printed, never silent.
#include <chrono>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e_wait.h"
#include "json_fields.h"
#include "operator_fixture.h"
#include "operator_process.h"
#include "support/plane.h"

namespace mlops::e2e {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace res = kube::resources;

constexpr const char* kImage = "mlops.local/realnode-tool:test";

struct Image {
  std::string name;     // as imported (normalised)
  std::string imageID;  // sha256:<config digest>, what the kubelet reports
  std::string error;    // set when building or importing failed
};

// Builds the image archive and imports it once per test process. The archive
// is byte-identical for the same program, and the import skips an image
// already present, so repeating this costs a second.
const Image& toolImage(const testing::PlaneEnv& env) {
  static const Image image = [&] {
    Image out;
    const std::string dir = env.clusterDir() + "/realnode-image";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir + "/rootfs");
    std::filesystem::copy_file(MLOPS_REALNODE_TOOL, dir + "/rootfs/tool");
    const auto archived =
        testing::runCommand({env.get("REAL_NODE_OCI_ARCHIVE"), "--entrypoint", "/tool",
                             dir + "/rootfs", dir + "/image.tar", kImage});
    if (archived.exitCode != 0) {
      out.error = "oci-archive.sh: " + archived.describe();
      return out;
    }
    std::istringstream fields(archived.out);
    fields >> out.name >> out.imageID;
    const auto imported =
        testing::runCommand({"env", "MLOPS_CLUSTER_DIR=" + env.clusterDir(),
                             env.get("REAL_NODE_IMPORT_IMAGE"), dir + "/image.tar"});
    if (imported.exitCode != 0) out.error = "import-image.sh: " + imported.describe();
    return out;
  }();
  return image;
}

class RealNode : public OperatorFixture {
 protected:
  std::string namespacePrefix() const override { return "realnode"; }

  void SetUp() override {
    OperatorFixture::SetUp();
    if (HasFatalFailure()) return;
    const std::string unavailable = env().get("MLOPS_REAL_NODE_UNAVAILABLE");
    if (!unavailable.empty()) {
      std::cout << "[realnode] skipped: the plane has no real node: " << unavailable << "\n";
      GTEST_SKIP() << "the plane has no real node: " << unavailable;
    }
    ASSERT_FALSE(env().get("REAL_NODE_NAME").empty())
        << env().file << " names neither REAL_NODE_NAME nor MLOPS_REAL_NODE_UNAVAILABLE: a plane "
        << "from older scripts; run make cluster-down cluster-up";
    const Image& image = toolImage(env());
    ASSERT_TRUE(image.error.empty()) << image.error;
    image_ = image;
  }

  void TearDown() override {
    if (op_) {
      if (HasFailure()) std::cerr << "---- operator log ----\n" << op_->output() << "\n";
      op_.reset();
    }
    OperatorFixture::TearDown();
  }

  // What a pod needs to run on the real node: tolerate its taint, select its
  // label, use the imported image without pulling.
  json realNodePodSpec(const json& container) const {
    json c = container;
    c["image"] = image_.name;
    c["imagePullPolicy"] = "Never";
    return {
        {"nodeSelector", {{"mlops.dev/real-node", "true"}}},
        {"tolerations",
         json::array(
             {{{"key", "mlops.dev/real-node"}, {"operator", "Exists"}, {"effect", "NoSchedule"}}})},
        {"terminationGracePeriodSeconds", 1},
        {"enableServiceLinks", false},
        {"containers", json::array({c})}};
  }

  json waitForPod(const std::string& name, const std::function<bool(const json&)>& reached,
                  const std::string& what, std::chrono::milliseconds timeout = 90s) {
    Polled polled = pollUntil(
        timeout, [&] { return get(res::kPods, name); }, reached);
    EXPECT_TRUE(polled.reached) << "pod " << name << " did not reach " << what << " within "
                                << timeout.count() << " ms; last: " << polled.last.dump(2);
    return polled.last;
  }

  Image image_;
  std::unique_ptr<OperatorProcess> op_;
};

TEST_F(RealNode, ContainerTerminationMessageReachesPodStatus) {
  const auto start = std::chrono::steady_clock::now();
  const std::string message = "hello from a real container " + testing::randomSuffix(8);
  json pod = {{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata", {{"name", "hello"}, {"namespace", ns()}}},
              {"spec", realNodePodSpec({{"name", "hello"},
                                        {"command", json::array({"/tool", "message", message})}})}};
  pod["spec"]["restartPolicy"] = "Never";
  create(res::kPods, pod);

  json last = waitForPod("hello", phaseIn({"Succeeded", "Failed"}), "a finished phase");
  EXPECT_EQ(phaseOf(last), "Succeeded") << last.dump(2);
  EXPECT_EQ(str(last, "/spec/nodeName"), env().get("REAL_NODE_NAME"));
  EXPECT_EQ(str(last, "/status/containerStatuses/0/state/terminated/message"), message);
  EXPECT_EQ(field(last, "/status/containerStatuses/0/state/terminated/exitCode"), 0);
  // A locally imported image has no repository digest: the kubelet reports
  // the image's config digest.
  EXPECT_EQ(str(last, "/status/containerStatuses/0/imageID"), image_.imageID);
  const std::string subnet = env().get("REAL_NODE_SUBNET");
  EXPECT_EQ(str(last, "/status/podIP").rfind(subnet.substr(0, subnet.rfind('.') + 1), 0), 0u)
      << "pod IP " << str(last, "/status/podIP") << " not in " << subnet;
  std::cout << "[figure] realnode pod created to Succeeded: "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - start)
                   .count()
            << " ms\n";
}

// Safety: a pod has no way off the machine. It tries an address of the
// documentation range TEST-NET-3 (never routed anywhere) and the node's own
// address; the first fails at once for want of a route (the pod has no
// default route, and the node would drop the packet if it had one), the
// second is refused (nothing listens on that port): proof the attempt ran.
TEST_F(RealNode, APodHasNoRouteOffTheMachine) {
  auto tryFrom = [&](const std::string& name, const std::string& ip) {
    json pod = {
        {"apiVersion", "v1"},
        {"kind", "Pod"},
        {"metadata", {{"name", name}, {"namespace", ns()}}},
        {"spec", realNodePodSpec({{"name", "probe"},
                                  {"command", json::array({"/tool", "connect", ip, "9"})}})}};
    pod["spec"]["restartPolicy"] = "Never";
    create(res::kPods, pod);
    json last = waitForPod(name, phaseIn({"Succeeded", "Failed"}), "a finished phase");
    EXPECT_EQ(phaseOf(last), "Succeeded") << last.dump(2);
    return str(last, "/status/containerStatuses/0/state/terminated/message");
  };
  EXPECT_EQ(tryFrom("off-machine", "203.0.113.1"), "Network is unreachable");
  EXPECT_EQ(tryFrom("to-node", env().get("REAL_NODE_IP")), "Connection refused");
}

TEST_F(RealNode, TrainingRunOnTheRealNodeRegistersWhatTheTrainerWrote) {
  const auto start = std::chrono::steady_clock::now();
  const int healthPort = freePort();
  op_ = std::make_unique<OperatorProcess>(
      operatorArgs(freePort(), healthPort, "",
                   {"--namespace=" + ns(), "--artifact-root=s3://e2e-artifacts", "--workers=2"}));
  ASSERT_TRUE(becomesReady(healthPort, 30s)) << op_->output();

  auto sample = testing::kubectl(env(), {"create", "--dry-run=client", "-o", "json", "-f",
                                         testing::repoRoot() + "/crds/samples/trainingrun.yaml"});
  ASSERT_EQ(sample.exitCode, 0) << sample.describe();
  json run = json::parse(sample.out);
  run["metadata"] = {{"name", "real-train"}, {"namespace", ns()}};
  // No test.mlops.dev annotations: the trainer is a real process here.
  run["spec"]["template"]["metadata"]["annotations"] = json::object();
  json container = run["spec"]["template"]["spec"]["containers"][0];
  container["command"] = json::array({"/tool", "train"});
  container.erase("args");
  container["resources"] = {{"requests", {{"cpu", "10m"}, {"memory", "16Mi"}}}};
  run["spec"]["template"]["spec"] = realNodePodSpec(container);
  create(res::kTrainingRuns, run);

  Polled polled = pollUntil(
      90s, [&] { return get(res::kTrainingRuns, "real-train"); }, phaseIn(finishedPhases()));
  ASSERT_TRUE(polled.reached) << "run did not finish; last: " << polled.last.dump(2);
  const json& done = polled.last;
  ASSERT_EQ(str(done, "/status/phase"), "Succeeded") << done.dump(2);
  // What realnode_tool's `train` derives from the pod's environment (seed
  // 42 from the sample; the artifact URI the operator chose).
  const json metrics = {{"accuracy", 0.942}, {"f1", 0.892}};
  EXPECT_EQ(done["status"]["metrics"], metrics);
  EXPECT_EQ(str(done, "/status/artifact/uri"), str(done, "/status/artifactURI"));
  EXPECT_EQ(done["status"]["imageDigests"], json({{"trainer", image_.imageID}}));

  const std::string version = str(done, "/status/modelVersion");
  ASSERT_FALSE(version.empty()) << done.dump(2);
  auto mv = get(res::kModelVersions, version);
  ASSERT_TRUE(mv);
  EXPECT_EQ((*mv)["spec"]["metrics"], metrics);
  EXPECT_EQ((*mv)["spec"]["artifact"], done["status"]["artifact"]);
  EXPECT_EQ((*mv)["spec"]["source"]["imageDigests"], json({{"trainer", image_.imageID}}));

  // The trainer's pod ran on the real node.
  kube::ListOptions opts;
  opts.labelSelector = "mlops.dev/training-run=real-train";
  auto pods = client().list(res::kPods, ns(), opts);
  ASSERT_TRUE(pods.ok()) << pods.error().toString();
  ASSERT_FALSE(pods->items.empty());
  EXPECT_EQ(str(pods->items[0], "/spec/nodeName"), env().get("REAL_NODE_NAME"));
  std::cout << "[figure] realnode TrainingRun created to Succeeded: "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - start)
                   .count()
            << " ms\n";
}

TEST_F(RealNode, ServiceReachesPodsThroughClusterIPAndPodIP) {
  const auto start = std::chrono::steady_clock::now();
  json container = {
      {"name", "web"},
      {"command", json::array({"/tool", "serve", "8080"})},
      {"ports", json::array({{{"containerPort", 8080}}})},
      {"readinessProbe", {{"httpGet", {{"path", "/"}, {"port", 8080}}}, {"periodSeconds", 1}}}};
  json deployment = {
      {"apiVersion", "apps/v1"},
      {"kind", "Deployment"},
      {"metadata", {{"name", "web"}, {"namespace", ns()}}},
      {"spec",
       {{"replicas", 2},
        {"selector", {{"matchLabels", {{"app", "web"}}}}},
        {"template",
         {{"metadata", {{"labels", {{"app", "web"}}}}}, {"spec", realNodePodSpec(container)}}}}}};
  create(res::kDeployments, deployment);
  json service = {{"apiVersion", "v1"},
                  {"kind", "Service"},
                  {"metadata", {{"name", "web"}, {"namespace", ns()}}},
                  {"spec",
                   {{"selector", {{"app", "web"}}},
                    {"ports", json::array({{{"port", 80}, {"targetPort", 8080}}})}}}};
  json createdService = create(res::kServices, service);
  const std::string clusterIP = str(createdService, "/spec/clusterIP");
  ASSERT_FALSE(clusterIP.empty()) << createdService.dump(2);

  // Both replicas Running and Ready, on the real node.
  std::map<std::string, std::string> ipByPod;
  Polled ready = pollUntil(
      90s,
      [&] {
        kube::ListOptions opts;
        opts.labelSelector = "app=web";
        auto pods = client().list(res::kPods, ns(), opts);
        return pods.ok() ? std::optional<json>(pods->items) : std::nullopt;
      },
      [&](const json& pods) {
        ipByPod.clear();
        for (const auto& p : pods) {
          if (conditionStatus(p, "Ready") == "True") {
            ipByPod[str(p, "/metadata/name")] = str(p, "/status/podIP");
          }
        }
        return ipByPod.size() == 2;
      });
  ASSERT_TRUE(ready.reached) << "two ready pods expected; last: " << ready.last.dump(2);
  for (const auto& p : ready.last) {
    EXPECT_EQ(str(p, "/spec/nodeName"), env().get("REAL_NODE_NAME"));
  }

  // Through each pod IP: that pod answers with its own name.
  for (const auto& [pod, ip] : ipByPod) {
    auto reply = httpGet(8080, "/", ip);
    ASSERT_TRUE(reply) << "no answer from pod " << pod << " at " << ip << ":8080";
    EXPECT_EQ(reply->status, 200);
    EXPECT_EQ(reply->body, "served-by " + pod + "\n");
  }
  // Through the ClusterIP (kube-proxy's rules, synced within about a second
  // of the endpoints turning ready): every answer comes from one of the
  // pods, and within a few tries both have answered.
  std::set<std::string> answered;
  std::string lastBody;
  const bool both = eventually(30s, [&] {
    auto reply = httpGet(80, "/", clusterIP);
    if (!reply || reply->status != 200) return false;
    lastBody = reply->body;
    for (const auto& [pod, ip] : ipByPod) {
      if (reply->body == "served-by " + pod + "\n") answered.insert(pod);
    }
    return answered.size() == 2;
  });
  EXPECT_TRUE(both) << "through " << clusterIP
                    << ":80 answered: " << ::testing::PrintToString(answered)
                    << "; last body: " << lastBody;
  std::cout << "[figure] realnode Deployment created to both pods answering via ClusterIP: "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - start)
                   .count()
            << " ms\n";
}

}  // namespace
}  // namespace mlops::e2e
