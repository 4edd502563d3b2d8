// The Manager against the real API server: caches, a controller, leader
// election, Events and the probe endpoints, end to end in one process.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <set>
#include <thread>

#include "it_util.h"
#include "runtime/event_recorder.h"
#include "runtime/manager.h"
#include "support/plane.h"

namespace mlops::runtime {
namespace {

using namespace std::chrono_literals;
using it::configMap;
using it::eventually;
int httpStatus(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  const std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  (void)!send(fd, req.data(), req.size(), 0);
  char buf[64] = {};
  ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
  close(fd);
  return n > 12 ? std::atoi(buf + 9) : -1;
}

// Stamps each ConfigMap it sees with an annotation and records an Event.
class StampingReconciler final : public Reconciler {
 public:
  StampingReconciler(kube::Reader& cache, kube::Writer& api, EventRecorder& events)
      : cache_(cache), api_(api), events_(events) {}
  Result<ReconcileResult> reconcile(const Request& req, const ReconcileContext&) override {
    auto cm = cache_.get(cms(), req.ns, req.name);
    if (!cm) {
      if (cm.error().code == ErrorCode::kNotFound) return ReconcileResult{};
      return cm.error();
    }
    if (cm->contains("metadata") && (*cm)["metadata"].contains("annotations") &&
        (*cm)["metadata"]["annotations"].contains("test.mlops.dev/stamped")) {
      return ReconcileResult{};
    }
    auto patched =
        api_.mergePatch(cms(), req.ns, req.name,
                        {{"metadata", {{"annotations", {{"test.mlops.dev/stamped", "yes"}}}}}});
    if (!patched) return patched.error();
    events_.event(*cm, EventType::kNormal, "Stamped", "stamped " + req.name);
    return ReconcileResult{};
  }

 private:
  kube::Reader& cache_;
  kube::Writer& api_;
  EventRecorder& events_;
};

class ManagerIntegrationTest : public mlops::testing::PlaneTest {
 protected:
  std::string namespacePrefix() const override { return "it-manager"; }
};

TEST_F(ManagerIntegrationTest, RunsAControllerAsLeaderAndShutsDownCleanly) {
  ASSERT_TRUE(client().create(cms(), ns(), configMap("first")).ok());
  ManagerOptions o;
  o.ns = ns();
  o.metricsBindAddress = "127.0.0.1:0";
  o.healthProbeBindAddress = "127.0.0.1:0";
  o.handleSignals = false;
  o.leaderElection = true;
  o.leaderElectionNamespace = ns();
  o.leaderElectionId = "it-manager";
  Manager mgr(client(), o);
  mgr.addController(
         "stamper",
         std::make_unique<StampingReconciler>(mgr.cache(), client(), mgr.eventRecorder()),
         [] {
           ControllerOptions two;
           two.workers = 2;
           return two;
         }())
      .watch(mgr.informer(cms()));

  std::atomic<int> exitCode{-1};
  std::thread runner([&] { exitCode = mgr.run(); });
  ASSERT_TRUE(eventually([&] { return mgr.healthPort() > 0; }));
  ASSERT_TRUE(eventually([&] { return httpStatus(mgr.healthPort(), "/readyz") == 200; }));
  ASSERT_TRUE(eventually([&] { return mgr.isLeader(); }));

  auto stamped = [&](const std::string& name) {
    auto cm = client().get(cms(), ns(), name);
    return cm.ok() && (*cm)["metadata"].contains("annotations") &&
           (*cm)["metadata"]["annotations"].contains("test.mlops.dev/stamped");
  };
  ASSERT_TRUE(eventually([&] { return stamped("first"); }));
  ASSERT_TRUE(client().create(cms(), ns(), configMap("second")).ok());
  ASSERT_TRUE(eventually([&] { return stamped("second"); }));

  // The Events were accepted by the API server.
  ASSERT_TRUE(eventually([&] {
    auto events = client().list(kube::resources::kEvents, ns());
    if (!events.ok()) return false;
    std::set<std::string> reasons;
    for (const auto& e : events->items) {
      if (e["reason"] == "Stamped" && e["source"]["component"] == "mlops-operator") {
        reasons.insert(e["involvedObject"]["name"].get<std::string>());
      }
    }
    return reasons.count("first") == 1 && reasons.count("second") == 1;
  }));
  auto lease = client().get(kube::resources::kLeases, ns(), "it-manager");
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ((*lease)["spec"]["holderIdentity"], mgr.identity());

  mgr.stop();
  runner.join();
  EXPECT_EQ(exitCode.load(), 0);
  lease = client().get(kube::resources::kLeases, ns(), "it-manager");
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ((*lease)["spec"]["holderIdentity"], "") << "released on graceful shutdown";
}

TEST_F(ManagerIntegrationTest, RepeatedEventsAreAggregated) {
  auto cm = client().create(cms(), ns(), configMap("noisy"));
  ASSERT_TRUE(cm.ok());
  KubeEventRecorder recorder(client());
  recorder.start();
  for (int i = 0; i < 3; ++i) {
    recorder.event(*cm, EventType::kWarning, "Flapping", "it happened again");
  }
  recorder.stop(10s);
  auto events = client().list(kube::resources::kEvents, ns());
  ASSERT_TRUE(events.ok());
  int matching = 0;
  for (const auto& e : events->items) {
    if (e["reason"] != "Flapping") continue;
    ++matching;
    EXPECT_EQ(e["count"], 3);
    EXPECT_EQ(e["type"], "Warning");
    EXPECT_EQ(e["involvedObject"]["uid"], (*cm)["metadata"]["uid"]);
  }
  EXPECT_EQ(matching, 1);
}

}  // namespace
}  // namespace mlops::runtime
