// The startup permission check against a fake API server answering
// SelfSubjectAccessReviews.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <vector>

#include "kube/rest_client.h"
#include "main/required_permissions.h"
#include "support/fake_api_server.h"

namespace mlops {
namespace {

using namespace std::chrono_literals;
using kube::Json;
using testing::FakeApiServer;
using testing::HttpRequest;
using testing::ResponseWriter;

constexpr const char* kReviewPath = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";

std::unique_ptr<kube::Client> clientFor(const FakeApiServer& server) {
  kube::ClientConfig cfg;
  cfg.server = server.url();
  cfg.source = "test";
  auto client = kube::makeRestClient(cfg);
  EXPECT_TRUE(client.ok());
  return client.ok() ? std::move(*client) : nullptr;
}

// Answers every review with `allowed(attributes)`; records the attributes.
struct ReviewServer {
  std::function<bool(const Json&)> allowed;
  std::mutex mu;
  std::vector<Json> asked;
  FakeApiServer server{[this](const HttpRequest& req, ResponseWriter& w) {
    if (req.method != "POST" || req.path != kReviewPath) return;
    Json review = Json::parse(req.body);
    Json attributes = review["spec"]["resourceAttributes"];
    {
      std::lock_guard lock(mu);
      asked.push_back(attributes);
    }
    review["status"] = {{"allowed", allowed(attributes)}};
    w.send(201, review.dump());
  }};
};

TEST(PermissionCheckTest, AllGrantedPassesAndAsksOncePerPermission) {
  ReviewServer fake;
  fake.allowed = [](const Json&) { return true; };
  auto client = clientFor(fake.server);
  Status st = checkPermissions(*client, {}, 5s);
  ASSERT_TRUE(st.ok()) << st.error().toString();
  size_t watched = 0;
  for (const auto& p : requiredPermissions()) watched += p.scope == PermissionScope::kWatched;
  EXPECT_EQ(fake.asked.size(), watched);  // no lease checks without leader election
  for (const Json& a : fake.asked) {
    EXPECT_FALSE(a.contains("namespace")) << a.dump();  // all namespaces
  }
}

TEST(PermissionCheckTest, NamesEveryMissingPermissionInOneLine) {
  ReviewServer fake;
  fake.allowed = [](const Json& a) {
    const bool createJobs = a["verb"] == "create" && a["resource"] == "jobs";
    const bool updateRegistry = a["verb"] == "update" && a["resource"] == "configmaps";
    return !createJobs && !updateRegistry;
  };
  auto client = clientFor(fake.server);
  Status st = checkPermissions(
      *client, {.watchNamespace = "team-a", .leaderElection = false, .leaderElectionNamespace = ""},
      5s);
  ASSERT_FALSE(st.ok());
  const std::string& m = st.error().message;
  EXPECT_EQ(st.error().code, ErrorCode::kForbidden);
  EXPECT_NE(m.find("lack 2 permission(s)"), std::string::npos) << m;
  EXPECT_NE(m.find("create jobs.batch in namespace team-a (TrainingRun controller creates"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("update configmaps/mlops-version-registry in namespace team-a"),
            std::string::npos)
      << m;
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  // Namespace-scoped questions when --namespace is set; the registry update
  // is asked for its one ConfigMap.
  for (const Json& a : fake.asked) {
    EXPECT_EQ(a.value("namespace", ""), "team-a") << a.dump();
    if (a["resource"] == "configmaps" && a["verb"] == "update") {
      EXPECT_EQ(a.value("name", ""), "mlops-version-registry");
    }
  }
}

TEST(PermissionCheckTest, LeaderElectionAsksForTheLeaseInItsNamespace) {
  ReviewServer fake;
  fake.allowed = [](const Json& a) { return a["resource"] != "leases" || a["verb"] != "update"; };
  auto client = clientFor(fake.server);
  Status st = checkPermissions(
      *client,
      {.watchNamespace = "", .leaderElection = true, .leaderElectionNamespace = "mlops-system"},
      5s);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("update leases.coordination.k8s.io in namespace mlops-system"),
            std::string::npos)
      << st.error().message;
  int leaseQuestions = 0;
  for (const Json& a : fake.asked) {
    if (a["resource"] == "leases") {
      ++leaseQuestions;
      EXPECT_EQ(a.value("namespace", ""), "mlops-system");
      EXPECT_EQ(a.value("group", ""), "coordination.k8s.io");
    }
  }
  EXPECT_EQ(leaseQuestions, 3);  // get, create, update
}

TEST(PermissionCheckTest, TransientFailuresAreRetriedAndHardOnesReported) {
  std::atomic<int> calls{0};
  FakeApiServer flaky([&](const HttpRequest& req, ResponseWriter& w) {
    if (++calls == 1) {
      w.send(503, R"({"kind":"Status","code":503,"reason":"ServiceUnavailable"})");
      return;
    }
    Json review = Json::parse(req.body);
    review["status"] = {{"allowed", true}};
    w.send(201, review.dump());
  });
  auto client = clientFor(flaky);
  Status st = checkPermissions(*client, {}, 5s);
  EXPECT_TRUE(st.ok()) << st.error().toString();

  FakeApiServer broken([](const HttpRequest&, ResponseWriter& w) { w.send(201, "{}"); });
  auto other = clientFor(broken);
  Status bad = checkPermissions(*other, {}, 5s);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("cannot check the operator's permissions"), std::string::npos)
      << bad.error().message;
}

}  // namespace
}  // namespace mlops
