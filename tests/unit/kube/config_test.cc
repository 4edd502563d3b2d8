#include "kube/config.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "support/test_pki.h"

namespace mlops::kube {
namespace {

namespace fs = std::filesystem;
using testing::KeyPair;

constexpr const char* kSecretToken = "s3cr3t-token-value";

class FakeClock final : public Clock {
 public:
  TimePoint now() const override { return now_; }
  std::chrono::system_clock::time_point wallNow() const override {
    return std::chrono::system_clock::time_point(now_.time_since_epoch());
  }
  void advance(std::chrono::seconds d) { now_ += d; }

 private:
  TimePoint now_{std::chrono::hours(1000)};
};

std::string base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// Certificates shared by all tests (generating them takes a moment).
struct Pki {
  KeyPair ca = testing::makeCa("test-ca");
  KeyPair client = testing::makeLeaf(
      ca, {.commonName = "admin", .organizations = {"system:masters"}, .server = false});
  KeyPair other = testing::makeLeaf(ca, {.commonName = "other", .server = false});
};
const Pki& pki() {
  static const Pki p;
  return p;
}

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kubecfg-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& rel, const std::string& content) {
    fs::path p = dir_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
    return p.string();
  }
  std::string path(const std::string& rel) const { return (dir_ / rel).string(); }

  // A kubeconfig with one context "main" -> cluster "c1" -> user "u1".
  std::string simple(const std::string& clusterBody, const std::string& userBody,
                     const std::string& extraContext = "") {
    return "apiVersion: v1\nkind: Config\ncurrent-context: main\n"
           "clusters:\n- name: c1\n  cluster:\n" +
           clusterBody + "users:\n- name: u1\n  user:\n" + userBody +
           "contexts:\n- name: main\n  context:\n    cluster: c1\n    user: u1\n" + extraContext;
  }

  fs::path dir_;
  FakeClock clock_;
};

void expectError(const Result<ClientConfig>& r, const std::vector<std::string>& parts) {
  ASSERT_FALSE(r.ok()) << "expected an error";
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  for (const auto& p : parts) {
    EXPECT_NE(r.error().message.find(p), std::string::npos)
        << "message \"" << r.error().message << "\" lacks \"" << p << "\"";
  }
  EXPECT_EQ(r.error().message.find(kSecretToken), std::string::npos) << "token leaked";
}

TEST_F(ConfigTest, DataFormsAndDefaults) {
  std::string file = write(
      "config", simple("    server: https://127.0.0.1:6443/\n    certificate-authority-data: " +
                           base64(pki().ca.certPem) + "\n",
                       "    client-certificate-data: " + base64(pki().client.certPem) +
                           "\n    client-key-data: " + base64(pki().client.keyPem) + "\n"));
  Result<ClientConfig> cfg = loadKubeconfig(file, "", clock_);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->server, "https://127.0.0.1:6443");
  EXPECT_EQ(cfg->caPem, pki().ca.certPem);
  EXPECT_EQ(cfg->clientCertPem, pki().client.certPem);
  EXPECT_EQ(cfg->clientKeyPem, pki().client.keyPem);
  EXPECT_FALSE(cfg->insecureSkipTlsVerify);
  EXPECT_EQ(cfg->token, nullptr);
  EXPECT_EQ(cfg->defaultNamespace, "default");
  EXPECT_EQ(cfg->requestTimeout, std::chrono::seconds(30));
  EXPECT_EQ(cfg->userAgent.rfind("mlops-operator/", 0), 0u);
  EXPECT_NE(cfg->source.find(file), std::string::npos);
  EXPECT_NE(cfg->source.find("main"), std::string::npos);
}

TEST_F(ConfigTest, FileFormsResolvedAgainstTheKubeconfigDirectory) {
  write("certs/ca.crt", pki().ca.certPem);
  write("certs/client.crt", pki().client.certPem);
  write("certs/client.key", pki().client.keyPem);
  std::string file =
      write("kube/config",
            simple("    server: https://10.0.0.1\n    certificate-authority: ../certs/ca.crt\n",
                   "    client-certificate: ../certs/client.crt\n    client-key: " +
                       path("certs/client.key") + "\n",
                   "    namespace: team-a\n"));
  // The namespace line above lands in the context body.
  Result<ClientConfig> cfg = loadKubeconfig(file, "", clock_);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->caPem, pki().ca.certPem);
  EXPECT_EQ(cfg->clientCertPem, pki().client.certPem);
  EXPECT_EQ(cfg->clientKeyPem, pki().client.keyPem);
  EXPECT_EQ(cfg->defaultNamespace, "team-a");
}

TEST_F(ConfigTest, DataWinsOverFile) {
  std::string file = write(
      "config", simple("    server: https://h\n    certificate-authority: /nonexistent/ca.crt\n"
                       "    certificate-authority-data: " +
                           base64(pki().ca.certPem) + "\n",
                       "    token: abc\n"));
  Result<ClientConfig> cfg = loadKubeconfig(file, "", clock_);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->caPem, pki().ca.certPem);
}

TEST_F(ConfigTest, StaticToken) {
  std::string file = write("config", simple("    server: https://h\n",
                                            std::string("    token: ") + kSecretToken + "\n"));
  Result<ClientConfig> cfg = loadKubeconfig(file, "", clock_);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  ASSERT_NE(cfg->token, nullptr);
  EXPECT_EQ(*cfg->token->token(), kSecretToken);
  EXPECT_TRUE(cfg->caPem.empty());  // system trust store
}

TEST_F(ConfigTest, TokenFileIsReadAndReReadAfterAMinute) {
  write("token", "first\n");
  std::string file = write("config", simple("    server: https://h\n", "    tokenFile: token\n"));
  Result<ClientConfig> cfg = loadKubeconfig(file, "", clock_);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  ASSERT_NE(cfg->token, nullptr);
  EXPECT_EQ(*cfg->token->token(), "first");
  write("token", "second");
  clock_.advance(std::chrono::seconds(30));
  EXPECT_EQ(*cfg->token->token(), "first");  // cached
  clock_.advance(std::chrono::seconds(31));
  EXPECT_EQ(*cfg->token->token(), "second");
}

TEST_F(ConfigTest, TokenFileWinsOverTokenWhichIsTheFallback) {
  write("token", "from-file");
  std::string file = write(
      "config", simple("    server: https://h\n", "    token: inline\n    tokenFile: token\n"));
  Result<ClientConfig> cfg = loadKubeconfig(file, "", clock_);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(*cfg->token->token(), "from-file");
}

TEST_F(ConfigTest, MissingTokenFileIsAnError) {
  std::string file =
      write("config", simple("    server: https://h\n", std::string("    token: ") + kSecretToken +
                                                            "\n    tokenFile: nope/token\n"));
  expectError(loadKubeconfig(file, "", clock_), {file, "tokenFile", path("nope/token")});
}

TEST_F(ConfigTest, InsecureSkipTlsVerifyOnlyWhenSet) {
  std::string file =
      write("config",
            "current-context: main\nclusters:\n- name: c1\n  cluster:\n    server: "
            "https://h\n    insecure-skip-tls-verify: true\nusers:\n- name: u1\n  user: "
            "{}\ncontexts:\n- name: main\n  context: {cluster: c1, user: u1}\n");
  Result<ClientConfig> cfg = loadKubeconfig(file, "", clock_);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_TRUE(cfg->insecureSkipTlsVerify);

  std::string withCa =
      write("config2", simple("    server: https://h\n    insecure-skip-tls-verify: true\n"
                              "    certificate-authority-data: " +
                                  base64(pki().ca.certPem) + "\n",
                              "    token: t\n"));
  expectError(loadKubeconfig(withCa, "", clock_), {withCa, "insecure-skip-tls-verify"});

  std::string notBool = write(
      "config3",
      simple("    server: https://h\n    insecure-skip-tls-verify: maybe\n", "    token: t\n"));
  expectError(loadKubeconfig(notBool, "", clock_), {notBool, "true or false"});
}

TEST_F(ConfigTest, TlsServerNameAndIpv6Server) {
  std::string file = write("config", simple("    server: https://[::1]:6443\n"
                                            "    tls-server-name: kubernetes.internal\n",
                                            "    token: t\n"));
  Result<ClientConfig> cfg = loadKubeconfig(file, "", clock_);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->server, "https://[::1]:6443");
  EXPECT_EQ(cfg->tlsServerName, "kubernetes.internal");

  std::string without = write("config2", simple("    server: https://h\n", "    token: t\n"));
  Result<ClientConfig> plain = loadKubeconfig(without, "", clock_);
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  EXPECT_EQ(plain->tlsServerName, "");

  std::string notScalar = write(
      "config3", simple("    server: https://h\n    tls-server-name: [a, b]\n", "    token: t\n"));
  expectError(loadKubeconfig(notScalar, "", clock_), {notScalar, "tls-server-name"});
}

TEST_F(ConfigTest, ContextOverride) {
  std::string file = write("config",
                           "current-context: a\n"
                           "clusters:\n- name: ca\n  cluster: {server: 'https://a'}\n"
                           "- name: cb\n  cluster: {server: 'https://b'}\n"
                           "users:\n- name: u\n  user: {token: t}\n"
                           "contexts:\n- name: a\n  context: {cluster: ca, user: u}\n"
                           "- name: b\n  context: {cluster: cb, user: u, namespace: nb}\n");
  Result<ClientConfig> a = loadKubeconfig(file, "", clock_);
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->server, "https://a");
  Result<ClientConfig> b = loadKubeconfig(file, "b", clock_);
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(b->server, "https://b");
  EXPECT_EQ(b->defaultNamespace, "nb");
  expectError(loadKubeconfig(file, "zzz", clock_), {file, "context \"zzz\"", "not defined"});
}

TEST_F(ConfigTest, KubeconfigListMergesFirstDefinitionWins) {
  std::string first = write("one",
                            "current-context: ctx-one\n"
                            "clusters:\n- name: shared\n  cluster: {server: 'https://first'}\n"
                            "users:\n- name: u\n  user: {token: from-one}\n"
                            "contexts:\n- name: ctx-one\n  context: {cluster: shared, user: u}\n");
  std::string second = write("two",
                             "current-context: ctx-two\n"
                             "clusters:\n- name: shared\n  cluster: {server: 'https://second'}\n"
                             "- name: only-two\n  cluster: {server: 'https://only-two'}\n"
                             "users:\n- name: u\n  user: {token: from-two}\n"
                             "contexts:\n- name: ctx-two\n  context: {cluster: only-two, user: u}\n"
                             "- name: ctx-one\n  context: {cluster: only-two, user: u}\n");
  std::vector<std::string> list =
      splitKubeconfigList(first + "::" + path("missing") + ":" + second);
  ASSERT_EQ(list.size(), 3u);
  Result<ClientConfig> cfg = loadKubeconfigFiles(list, "", clock_);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->server, "https://first");  // ctx-one and shared from the first file
  EXPECT_EQ(*cfg->token->token(), "from-one");
  Result<ClientConfig> two = loadKubeconfigFiles(list, "ctx-two", clock_);
  ASSERT_TRUE(two.ok()) << two.error().message;
  EXPECT_EQ(two->server, "https://only-two");

  // Order reversed: the second file's current-context now wins.
  Result<ClientConfig> reversed = loadKubeconfigFiles({second, first}, "", clock_);
  ASSERT_TRUE(reversed.ok()) << reversed.error().message;
  EXPECT_EQ(reversed->server, "https://only-two");

  // A file that sets no current-context does not block a later one.
  std::string none = write("none", "clusters: []\n");
  Result<ClientConfig> later = loadKubeconfigFiles({none, second}, "", clock_);
  ASSERT_TRUE(later.ok()) << later.error().message;
  EXPECT_EQ(later->server, "https://only-two");
}

TEST_F(ConfigTest, KubeconfigListAllMissing) {
  expectError(loadKubeconfigFiles({path("a"), path("b")}, "", clock_),
              {"none of the files exists", path("a"), path("b")});
}

TEST_F(ConfigTest, SplitList) {
  EXPECT_EQ(splitKubeconfigList(""), std::vector<std::string>{});
  EXPECT_EQ(splitKubeconfigList("a"), std::vector<std::string>{"a"});
  EXPECT_EQ(splitKubeconfigList(":a::b:"), (std::vector<std::string>{"a", "b"}));
}

// ---------------------------------------------------------------------------
// Bad files: an Error naming the file and the problem, never a throw.

TEST_F(ConfigTest, MissingFile) {
  expectError(loadKubeconfig(path("nope"), "", clock_),
              {path("nope"), "No such file or directory"});
}

TEST_F(ConfigTest, DirectoryInsteadOfFile) {
  fs::create_directories(dir_ / "adir");
  expectError(loadKubeconfig(path("adir"), "", clock_), {path("adir"), "directory"});
}

TEST_F(ConfigTest, YamlSyntaxError) {
  std::string file = write("config", "clusters:\n- name: c1\n  cluster: {server: [unclosed\n");
  expectError(loadKubeconfig(file, "", clock_), {file, "YAML syntax error", "line"});
}

TEST_F(ConfigTest, NotAMap) {
  std::string file = write("config", "- just\n- a list\n");
  expectError(loadKubeconfig(file, "", clock_), {file, "not a map"});
  std::string badClusters = write("config2", "clusters: {c1: x}\ncurrent-context: x\n");
  expectError(loadKubeconfig(badClusters, "", clock_),
              {badClusters, "\"clusters\" must be a list"});
  std::string badServer = write("config3", "clusters:\n- name: c\n  cluster: {server: [a, b]}\n");
  expectError(loadKubeconfig(badServer, "", clock_), {badServer, "\"server\" must be a string"});
  std::string noName = write("config4", "users:\n- user: {token: x}\n");
  expectError(loadKubeconfig(noName, "", clock_), {noName, "users[0] has no name"});
}

TEST_F(ConfigTest, EmptyFileHasNoCurrentContext) {
  std::string file = write("config", "");
  expectError(loadKubeconfig(file, "", clock_), {file, "no current-context"});
}

TEST_F(ConfigTest, NoCurrentContext) {
  std::string file = write("config", "clusters: []\nusers:\n- name: u1\n  user: {token: " +
                                         std::string(kSecretToken) + "}\n");
  expectError(loadKubeconfig(file, "", clock_), {file, "no current-context"});
}

TEST_F(ConfigTest, CurrentContextNotDefined) {
  std::string file = write("config", "current-context: ghost\ncontexts: []\n");
  expectError(loadKubeconfig(file, "", clock_), {file, "context \"ghost\"", "not defined"});
}

TEST_F(ConfigTest, ContextNamesMissingCluster) {
  std::string file = write(
      "config",
      "current-context: main\nusers:\n- name: u1\n  user: {token: " + std::string(kSecretToken) +
          "}\ncontexts:\n- name: main\n  context: {cluster: gone, user: u1}\n");
  expectError(loadKubeconfig(file, "", clock_), {file, "cluster \"gone\"", "not defined"});
}

TEST_F(ConfigTest, ContextNamesMissingUser) {
  std::string file =
      write("config",
            "current-context: main\nclusters:\n- name: c1\n  cluster: {server: "
            "'https://h'}\ncontexts:\n- name: main\n  context: {cluster: c1, user: nobody}\n");
  expectError(loadKubeconfig(file, "", clock_), {file, "user \"nobody\"", "not defined"});
}

TEST_F(ConfigTest, ClusterWithoutServer) {
  std::string file =
      write("config", simple("    certificate-authority-data: " + base64(pki().ca.certPem) + "\n",
                             "    token: t\n"));
  expectError(loadKubeconfig(file, "", clock_), {file, "cluster \"c1\"", "no server"});
  std::string badScheme = write("config2", simple("    server: ftp://h\n", "    token: t\n"));
  expectError(loadKubeconfig(badScheme, "", clock_), {badScheme, "https://"});
}

TEST_F(ConfigTest, BadBase64) {
  std::string file =
      write("config", simple("    server: https://h\n    certificate-authority-data: not*base64!\n",
                             std::string("    token: ") + kSecretToken + "\n"));
  expectError(loadKubeconfig(file, "", clock_),
              {file, "cluster \"c1\"", "certificate-authority-data is not valid base64"});
  std::string key =
      write("config2", simple("    server: https://h\n",
                              "    client-certificate-data: " + base64(pki().client.certPem) +
                                  "\n    client-key-data: Zm9v=YmFy\n"));
  expectError(loadKubeconfig(key, "", clock_),
              {key, "user \"u1\"", "client-key-data is not valid base64"});
}

TEST_F(ConfigTest, ValidBase64ButNotPem) {
  std::string file =
      write("config", simple("    server: https://h\n    certificate-authority-data: " +
                                 base64("hello, not a certificate") + "\n",
                             "    token: t\n"));
  expectError(loadKubeconfig(file, "", clock_),
              {file, "certificate-authority-data", "no PEM certificate"});
}

TEST_F(ConfigTest, CorruptPemCertificate) {
  std::string corrupt = pki().ca.certPem;
  corrupt[corrupt.size() / 2] = '#';
  write("ca.crt", corrupt);
  std::string file =
      write("config",
            simple("    server: https://h\n    certificate-authority: ca.crt\n", "    token: t\n"));
  expectError(loadKubeconfig(file, "", clock_), {file, path("ca.crt"), "malformed"});
}

TEST_F(ConfigTest, UnreadableCertificateFile) {
  std::string file =
      write("config", simple("    server: https://h\n    certificate-authority: missing/ca.crt\n",
                             std::string("    token: ") + kSecretToken + "\n"));
  expectError(loadKubeconfig(file, "", clock_),
              {file, "certificate-authority", path("missing/ca.crt"), "No such file"});

  if (geteuid() != 0) {  // root reads anything
    std::string locked = write("locked.crt", pki().ca.certPem);
    chmod(locked.c_str(), 0);
    std::string file2 = write(
        "config2",
        simple("    server: https://h\n    certificate-authority: locked.crt\n", "    token: t\n"));
    expectError(loadKubeconfig(file2, "", clock_), {file2, locked, "Permission denied"});
  }

  std::string clientFile =
      write("config3", simple("    server: https://h\n",
                              "    client-certificate: nope.crt\n    client-key: nope.key\n"));
  expectError(loadKubeconfig(clientFile, "", clock_),
              {clientFile, "user \"u1\"", "client-certificate", path("nope.crt")});
}

TEST_F(ConfigTest, ClientCertificateWithoutKeyOrWrongKey) {
  std::string noKey = write(
      "config", simple("    server: https://h\n",
                       "    client-certificate-data: " + base64(pki().client.certPem) + "\n"));
  expectError(loadKubeconfig(noKey, "", clock_), {noKey, "without client-key"});

  std::string wrong =
      write("config2", simple("    server: https://h\n",
                              "    client-certificate-data: " + base64(pki().client.certPem) +
                                  "\n    client-key-data: " + base64(pki().other.keyPem) + "\n"));
  Result<ClientConfig> r = loadKubeconfig(wrong, "", clock_);
  expectError(r, {wrong, "does not match"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.find("PRIVATE KEY"), std::string::npos);

  std::string badKey =
      write("config3", simple("    server: https://h\n",
                              "    client-certificate-data: " + base64(pki().client.certPem) +
                                  "\n    client-key-data: " + base64("garbage key") + "\n"));
  expectError(loadKubeconfig(badKey, "", clock_), {badKey, "client-key-data", "private key"});
}

TEST_F(ConfigTest, UnsupportedAuthIsRejectedClearly) {
  std::string exec =
      write("config", simple("    server: https://h\n",
                             "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
                             "      command: aws\n"));
  expectError(loadKubeconfig(exec, "", clock_), {exec, "user \"u1\"", "exec credential plugins"});
  std::string basic =
      write("config2", simple("    server: https://h\n", "    username: a\n    password: b\n"));
  expectError(loadKubeconfig(basic, "", clock_), {basic, "username/password"});
}

// ---------------------------------------------------------------------------
// In-cluster.

TEST_F(ConfigTest, InClusterReadsServiceAccountFiles) {
  write("sa/token", "tok-1\n");
  write("sa/ca.crt", pki().ca.certPem);
  write("sa/namespace", "operators\n");
  InClusterEnvironment env{"10.96.0.1", "443", path("sa")};
  Result<ClientConfig> cfg = loadInClusterConfig(env, clock_);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->server, "https://10.96.0.1:443");
  EXPECT_EQ(cfg->caPem, pki().ca.certPem);
  EXPECT_EQ(cfg->defaultNamespace, "operators");
  ASSERT_NE(cfg->token, nullptr);
  EXPECT_EQ(*cfg->token->token(), "tok-1");

  // The kubelet rotates the projected token; we pick it up within a minute.
  write("sa/token", "tok-2\n");
  clock_.advance(std::chrono::seconds(59));
  EXPECT_EQ(*cfg->token->token(), "tok-1");
  clock_.advance(std::chrono::seconds(2));
  EXPECT_EQ(*cfg->token->token(), "tok-2");

  // A failed re-read keeps the last good token.
  fs::remove(dir_ / "sa/token");
  clock_.advance(std::chrono::seconds(120));
  EXPECT_EQ(*cfg->token->token(), "tok-2");
}

TEST_F(ConfigTest, InClusterDefaultsAndIpv6) {
  write("sa/token", "t");
  write("sa/ca.crt", pki().ca.certPem);
  Result<ClientConfig> cfg = loadInClusterConfig({"fd00::1", "6443", path("sa")}, clock_);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->server, "https://[fd00::1]:6443");
  EXPECT_EQ(cfg->defaultNamespace, "default");
}

TEST_F(ConfigTest, InClusterErrors) {
  EXPECT_FALSE(loadInClusterConfig({"", "", path("sa")}, clock_).ok());
  Result<ClientConfig> noToken = loadInClusterConfig({"h", "443", path("sa")}, clock_);
  expectError(noToken, {"in-cluster", path("sa/token")});
  write("sa/token", "  \n");
  expectError(loadInClusterConfig({"h", "443", path("sa")}, clock_), {path("sa/token"), "empty"});
  write("sa/token", "t");
  expectError(loadInClusterConfig({"h", "443", path("sa")}, clock_), {path("sa/ca.crt")});
}

TEST(FileTokenSourceTest, ErrorBeforeFirstReadAndFallback) {
  FakeClock clock;
  FileTokenSource missing("/nonexistent/token", clock);
  Result<std::string> t = missing.token();
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find("/nonexistent/token"), std::string::npos);
  FileTokenSource withFallback("/nonexistent/token", clock, std::chrono::seconds(60), "fb");
  EXPECT_EQ(*withFallback.token(), "fb");
}

// ---------------------------------------------------------------------------
// Loading order: --kubeconfig > KUBECONFIG > in-cluster > ~/.kube/config.

TEST_F(ConfigTest, LoadingOrder) {
  auto kubeconfig = [&](const std::string& rel, const std::string& server) {
    return write(rel, "current-context: x\nclusters:\n- name: c\n  cluster: {server: '" + server +
                          "'}\ncontexts:\n- name: x\n  context: {cluster: c}\n");
  };
  std::string flag = kubeconfig("flag", "https://flag");
  std::string env = kubeconfig("env", "https://env");
  kubeconfig("home/.kube/config", "https://home");
  write("sa/token", "t");
  write("sa/ca.crt", pki().ca.certPem);

  ConfigEnvironment all;
  all.kubeconfigFlag = flag;
  all.kubeconfigEnv = env;
  all.inCluster = {"10.0.0.1", "443", path("sa")};
  all.home = path("home");
  EXPECT_EQ(loadConfig(all, "", clock_)->server, "https://flag");
  all.kubeconfigFlag.clear();
  EXPECT_EQ(loadConfig(all, "", clock_)->server, "https://env");
  all.kubeconfigEnv.clear();
  EXPECT_EQ(loadConfig(all, "", clock_)->server, "https://10.0.0.1:443");
  all.inCluster.serviceHost.clear();
  EXPECT_EQ(loadConfig(all, "", clock_)->server, "https://home");
  all.home = path("nohome");
  Result<ClientConfig> none = loadConfig(all, "", clock_);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("--kubeconfig"), std::string::npos);

  // An explicit path that is missing is an error, not a fall-through.
  ConfigEnvironment badFlag;
  badFlag.kubeconfigFlag = path("missing");
  badFlag.home = path("home");
  expectError(loadConfig(badFlag, "", clock_), {path("missing")});
}

TEST(ConfigEnvironmentTest, FromProcess) {
  setenv("KUBECONFIG", "/a:/b", 1);
  setenv("KUBERNETES_SERVICE_HOST", "10.1.2.3", 1);
  setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  ConfigEnvironment env = ConfigEnvironment::fromProcess("/flag");
  EXPECT_EQ(env.kubeconfigFlag, "/flag");
  EXPECT_EQ(env.kubeconfigEnv, "/a:/b");
  EXPECT_EQ(env.inCluster.serviceHost, "10.1.2.3");
  EXPECT_EQ(env.inCluster.servicePort, "443");
  EXPECT_EQ(env.inCluster.serviceAccountDir, kServiceAccountDir);
  unsetenv("KUBECONFIG");
  unsetenv("KUBERNETES_SERVICE_HOST");
  unsetenv("KUBERNETES_SERVICE_PORT");
}

}  // namespace
}  // namespace mlops::kube
