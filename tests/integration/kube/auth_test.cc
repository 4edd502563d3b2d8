// Credentials and transport failures against the real API server: RBAC says
// no, a token is rejected, nobody listens, the CA is wrong.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "kube/rest_client.h"
#include "support/plane.h"
#include "support/test_pki.h"

namespace mlops::kube {
namespace {

using namespace std::chrono_literals;

class KubeAuthTest : public testing::PlaneTest {
 protected:
  std::string namespacePrefix() const override { return "kube-auth"; }

  // The admin config with its credentials replaced by `token`.
  ClientConfig withToken(const std::string& token) {
    Result<ClientConfig> admin = testing::adminConfig(env());
    EXPECT_TRUE(admin.ok());
    ClientConfig cfg = *admin;
    cfg.clientCertPem.clear();
    cfg.clientKeyPem.clear();
    cfg.token = staticTokenSource(token);
    return cfg;
  }
};

TEST_F(KubeAuthTest, RbacDenialIsForbiddenWithTheServersMessage) {
  Json sa = {{"apiVersion", "v1"}, {"kind", "ServiceAccount"}, {"metadata", {{"name", "limited"}}}};
  ASSERT_TRUE(client().create(resources::kServiceAccounts, ns(), sa).ok());
  testing::CommandResult token =
      testing::kubectl(env(), {"create", "token", "limited", "-n", ns(), "--duration=10m"});
  ASSERT_EQ(token.exitCode, 0) << token.describe();
  std::string jwt = token.out;
  while (!jwt.empty() && (jwt.back() == '\n' || jwt.back() == '\r')) jwt.pop_back();
  ASSERT_FALSE(jwt.empty());

  auto limited = makeRestClient(withToken(jwt));
  ASSERT_TRUE(limited.ok()) << limited.error().toString();
  Result<ListPage> secrets = (*limited)->list(resources::kSecrets, ns(), {});
  ASSERT_FALSE(secrets.ok());
  const Error& e = secrets.error();
  EXPECT_EQ(e.code, ErrorCode::kForbidden) << e.toString();
  EXPECT_EQ(e.httpStatus, 403);
  EXPECT_EQ(e.reason, "Forbidden");
  EXPECT_NE(e.message.find("cannot list resource \"secrets\""), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("system:serviceaccount:" + ns() + ":limited"), std::string::npos)
      << e.message;
  EXPECT_FALSE(e.transient());
  EXPECT_EQ(e.message.find(jwt), std::string::npos) << "token leaked into the message";

  // The same identity may watch nothing either.
  auto watch = (*limited)->watch(resources::kSecrets, ns(), {});
  ASSERT_FALSE(watch.ok());
  EXPECT_EQ(watch.error().code, ErrorCode::kForbidden);
}

TEST_F(KubeAuthTest, RejectedTokenIsUnauthorized) {
  auto bogus = makeRestClient(withToken("not-a-valid-token"));
  ASSERT_TRUE(bogus.ok());
  Result<Json> r = (*bogus)->get(resources::kNamespaces, "", ns());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnauthorized) << r.error().toString();
  EXPECT_EQ(r.error().httpStatus, 401);
  EXPECT_EQ(r.error().message.find("not-a-valid-token"), std::string::npos);
}

TEST_F(KubeAuthTest, ConnectionRefusedIsUnavailableQuickly) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);

  Result<ClientConfig> cfg = testing::adminConfig(env());
  ASSERT_TRUE(cfg.ok());
  cfg->server = "https://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  auto closed = makeRestClient(*cfg);
  ASSERT_TRUE(closed.ok());
  auto start = std::chrono::steady_clock::now();
  Result<ListPage> r = (*closed)->list(resources::kConfigMaps, ns(), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable) << r.error().toString();
  EXPECT_NE(r.error().message.find(cfg->server), std::string::npos) << r.error().message;
  // Far below the request timeout (30 s): a refused connection is reported at
  // once, not retried until the deadline. Not tighter: under ASan on a loaded
  // machine the refusal took 2.1 s once.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

TEST_F(KubeAuthTest, WrongCertificateAuthorityFailsVerification) {
  Result<ClientConfig> cfg = testing::adminConfig(env());
  ASSERT_TRUE(cfg.ok());
  cfg->caPem = testing::makeCa("not-the-cluster-ca").certPem;
  auto wrong = makeRestClient(*cfg);
  ASSERT_TRUE(wrong.ok());
  Result<Json> r = (*wrong)->get(resources::kNamespaces, "", ns());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable) << r.error().toString();
  EXPECT_NE(r.error().message.find("unknown authority"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find(cfg->server), std::string::npos);

  // Verification is on by default: no CA at all means the system store,
  // which does not know the plane's CA.
  cfg->caPem.clear();
  auto system = makeRestClient(*cfg);
  ASSERT_TRUE(system.ok());
  EXPECT_FALSE((*system)->get(resources::kNamespaces, "", ns()).ok());

  // The right CA works over the name in the certificate, too.
  Result<ClientConfig> byName = testing::adminConfig(env());
  ASSERT_TRUE(byName.ok());
  const std::string prefix = "https://127.0.0.1:";
  if (byName->server.rfind(prefix, 0) == 0) {
    byName->server = "https://localhost:" + byName->server.substr(prefix.size());
    auto named = makeRestClient(*byName);
    ASSERT_TRUE(named.ok());
    Result<Json> ok = (*named)->get(resources::kNamespaces, "", ns());
    EXPECT_TRUE(ok.ok()) << ok.error().toString();
  }
}

TEST_F(KubeAuthTest, AdminKubeconfigLoadsAsTheOperatorWould) {
  ConfigEnvironment envs;
  envs.kubeconfigEnv = env().kubeconfig();
  Result<ClientConfig> cfg = loadConfig(envs);
  ASSERT_TRUE(cfg.ok()) << cfg.error().toString();
  EXPECT_EQ(cfg->server.rfind("https://", 0), 0u);
  EXPECT_FALSE(cfg->caPem.empty());
  auto c = makeRestClient(*cfg);
  ASSERT_TRUE(c.ok());
  Result<Json> self = (*c)->get(resources::kNamespaces, "", ns());
  ASSERT_TRUE(self.ok()) << self.error().toString();
  EXPECT_EQ((*self)["metadata"]["name"], ns());
}

}  // namespace
}  // namespace mlops::kube
