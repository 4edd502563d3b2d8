// The whole loop with a real model on the plane's real node: the example
// trainer (examples/trainer, scikit-learn on the bundled digits data) trains
// in a pod, the example server (examples/server) serves the artifact the
// operator recorded, examples/loadgen sends labelled traffic to the Service's
// ClusterIP, and the plane's Prometheus scrapes the servers (serving_sd.py,
// job mlops-serving). Every decision the operator makes here rests on what
// the servers really reported: nothing is played by kwok or the exporter.
//
// The images come from hack/images/load.sh (built, archived and imported;
// cached, so a warm call takes a second). The artifact store is the plane's
// REAL_NODE_ARTIFACTS_DIR, mounted at /artifacts in every pod, with the
// operator's --artifact-root=file:///artifacts (examples/README.md).
//
// Where the plane has no real node every test is skipped with the reason
// cluster-up wrote to .cluster/env — printed, never silent.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

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
using Clock = std::chrono::steady_clock;

long msSince(Clock::time_point t) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count());
}

// The example images as hack/images/load.sh put them on the node.
struct Images {
  std::string trainerRef, trainerID, serverRef, serverID;
  std::string error;  // set when building or importing failed
};

const Images& exampleImages(const testing::PlaneEnv& env) {
  static const Images images = [&] {
    Images out;
    const auto start = Clock::now();
    // A cold build (debootstrap, python3-sklearn) takes minutes; say so.
    std::cout << "[realnode] hack/images/load.sh (instant when cached; a cold image build takes "
                 "about 5 minutes)\n"
              << std::flush;
    const auto loaded = testing::runCommand({"env", "MLOPS_CLUSTER_DIR=" + env.clusterDir(),
                                             testing::repoRoot() + "/hack/images/load.sh"},
                                            "", std::chrono::seconds(1200));
    if (loaded.exitCode != 0) {
      out.error = "hack/images/load.sh: " + loaded.describe();
      return out;
    }
    std::istringstream lines(loaded.out);
    for (std::string line; std::getline(lines, line);) {
      const auto eq = line.find('=');
      if (eq == std::string::npos) {
        continue;
      }
      const std::string key = line.substr(0, eq), value = line.substr(eq + 1);
      if (key == "MLOPS_IMAGE_TRAINER_REF") {
        out.trainerRef = value;
      }
      if (key == "MLOPS_IMAGE_TRAINER_ID") {
        out.trainerID = value;
      }
      if (key == "MLOPS_IMAGE_SERVER_REF") {
        out.serverRef = value;
      }
      if (key == "MLOPS_IMAGE_SERVER_ID") {
        out.serverID = value;
      }
    }
    if (out.trainerID.empty() || out.serverID.empty()) {
      out.error = "hack/images/load.sh printed no image IDs: " + loaded.out;
    }
    std::cout << "[figure] images ready on the node in " << msSince(start) << " ms\n";
    return out;
  }();
  return images;
}

// examples/loadgen/loadgen.py in the background, against the Service's
// ClusterIP; stopped (SIGTERM) by its destructor. Output goes to a log file
// shown when the test fails.
class LoadGen {
 public:
  LoadGen(const std::string& clusterIP, double shift, const std::string& logPath)
      : logPath_(logPath) {
    std::vector<std::string> args = {
        "/usr/bin/python3", testing::repoRoot() + "/examples/loadgen/loadgen.py", "--url",
        "http://" + clusterIP + ":8080", "--rate", "20", "--batch", "10",
        // One connection per request: the ClusterIP picks a pod per
        // connection, so stable and canary both get traffic.
        "--reconnect-every", "1", "--duration", "3600", "--report-every", "5", "--shift",
        std::to_string(shift)};
    pid_ = fork();
    if (pid_ == 0) {
      FILE* log = fopen(logPath.c_str(), "a");
      if (log != nullptr) {
        dup2(fileno(log), STDOUT_FILENO);
        dup2(fileno(log), STDERR_FILENO);
      }
      std::vector<char*> argv;
      argv.reserve(args.size() + 1);
      for (auto& a : args) {
        argv.push_back(a.data());
      }
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  ~LoadGen() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  LoadGen(const LoadGen&) = delete;
  LoadGen& operator=(const LoadGen&) = delete;

 private:
  pid_t pid_ = -1;
  std::string logPath_;
};

std::string urlEncode(const std::string& s) {
  std::ostringstream out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out << c;
    } else {
      out << '%' << std::uppercase << std::hex << std::setw(2) << std::setfill('0')
          << static_cast<int>(c);
    }
  }
  return out.str();
}

// The last measurement of check `name` in a ModelVersion's analysis status.
json lastMeasurement(const json& version, const std::string& name) {
  const json checks = field(version, "/status/analysis/checks");
  if (!checks.is_array()) {
    return json();
  }
  for (const auto& c : checks) {
    if (c.value("name", "") == name && c.contains("measurements") && !c["measurements"].empty()) {
      return c["measurements"].back();
    }
  }
  return json();
}

double number(const json& v, double fallback = std::nan("")) {
  return v.is_number() ? v.get<double>() : fallback;
}

constexpr double kPsiBound = 0.5;

class RealModel : public OperatorFixture {
 protected:
  std::string namespacePrefix() const override { return "realmodel"; }

  void SetUp() override {
    OperatorFixture::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    const std::string unavailable = env().get("MLOPS_REAL_NODE_UNAVAILABLE");
    if (!unavailable.empty()) {
      std::cout << "[realnode] skipped: the plane has no real node: " << unavailable << "\n";
      GTEST_SKIP() << "the plane has no real node: " << unavailable;
    }
    artifacts_ = env().get("REAL_NODE_ARTIFACTS_DIR");
    ASSERT_FALSE(artifacts_.empty())
        << env().file << " names no REAL_NODE_ARTIFACTS_DIR: a plane from older scripts; run "
        << "make cluster-down cluster-up";
    const Images& images = exampleImages(env());
    ASSERT_TRUE(images.error.empty()) << images.error;
    images_ = images;
    loadgenLog_ = dir_ + "/loadgen.log";
    startOperator();
  }

  void TearDown() override {
    loadgen_.reset();
    if (HasFailure()) {
      std::ifstream in(loadgenLog_);
      std::stringstream lg;
      lg << in.rdbuf();
      std::cerr << "---- loadgen log ----\n" << lg.str() << "\n";
    }
    if (op_) {
      EXPECT_EQ(op_->output().find("Forbidden"), std::string::npos) << op_->output();
      if (HasFailure()) {
        std::cerr << "---- operator log ----\n" << op_->output() << "\n";
      }
      op_.reset();
    }
    if (!artifacts_.empty() && !ns().empty()) {
      std::filesystem::remove_all(artifacts_ + "/" + ns());
    }
    OperatorFixture::TearDown();
  }

  void startOperator() {
    const int health = freePort();
    op_ = std::make_unique<OperatorProcess>(
        operatorArgs(freePort(), health, "",
                     {"--namespace=" + ns(), "--workers=2", "--artifact-root=file:///artifacts",
                      "--prometheus-url=" + env().get("PROMETHEUS_URL")}));
    ASSERT_TRUE(becomesReady(health, 30s)) << op_->output();
  }

  // A pod spec for the real node: its taint tolerated, its label selected,
  // the image imported there, the artifact directory at /artifacts; the
  // images' user, read-only root (examples/README.md).
  json podSpec(const std::string& name, const std::string& image, bool readOnly,
               const json& extra = json::object()) const {
    json container = {
        {"name", name},
        {"image", image},
        {"imagePullPolicy", "Never"},
        {"securityContext",
         {{"readOnlyRootFilesystem", true},
          {"allowPrivilegeEscalation", false},
          {"capabilities", {{"drop", json::array({"ALL"})}}}}},
        {"volumeMounts",
         json::array(
             {{{"name", "artifacts"}, {"mountPath", "/artifacts"}, {"readOnly", readOnly}}})}};
    container.update(extra);
    return {
        {"securityContext",
         {{"runAsNonRoot", true},
          {"runAsUser", 10001},
          {"runAsGroup", 10001},
          {"seccompProfile", {{"type", "RuntimeDefault"}}}}},
        {"nodeSelector", {{"mlops.dev/real-node", "true"}}},
        {"tolerations",
         json::array(
             {{{"key", "mlops.dev/real-node"}, {"operator", "Exists"}, {"effect", "NoSchedule"}}})},
        {"terminationGracePeriodSeconds", 2},
        {"enableServiceLinks", false},
        {"containers", json::array({container})},
        {"volumes", json::array({{{"name", "artifacts"},
                                  {"hostPath", {{"path", artifacts_}, {"type", "Directory"}}}}})}};
  }

  // A TrainingRun spec without model: the trainer on `dataset`, served by
  // the example server (failing `faultShare` of its requests).
  json runSpec(const std::string& dataset, std::optional<int> seed, double faultShare = 0) const {
    json server = {{"readinessProbe",
                    {{"httpGet", {{"path", "/readyz"}, {"port", "http"}}}, {"periodSeconds", 1}}}};
    if (faultShare > 0) {
      server["env"] = json::array(
          {{{"name", "MLOPS_FAULT_ERROR_SHARE"}, {"value", std::to_string(faultShare)}}});
    }
    json spec = {
        {"template", {{"spec", podSpec("trainer", images_.trainerRef, false)}}},
        {"dataset", {{"uri", dataset}}},
        {"hyperparameters", {{"n_estimators", "20"}}},
        {"validation",
         {{"gates", json::array({{{"metric", "accuracy"}, {"op", ">="}, {"value", 0.8}}})}}},
        {"serving",
         {{"template", {{"spec", podSpec("server", images_.serverRef, true, server)}}}}}};
    if (seed) {
      spec["seed"] = *seed;
    }
    return spec;
  }

  json trainingRun(const std::string& name, json spec, const std::string& promotion) const {
    spec["model"] = "digits";
    spec["promotion"] = promotion;
    return {{"apiVersion", "mlops.dev/v1alpha1"},
            {"kind", "TrainingRun"},
            {"metadata", {{"name", name}, {"namespace", ns()}}},
            {"spec", spec}};
  }

  // The canary gates of examples/manifests/digits.yaml on windows of 20 s,
  // evaluated every 2 s; with `drift`, the drift gate on the inputs' PSI and
  // retraining on shifted data.
  json policy(bool drift) const {
    auto q = [](const std::string& metric, const std::string& extra = "") {
      return metric + "{namespace=\"{{namespace}}\",model=\"{{model}}\",version=\"{{version}}\"" +
             extra + "}";
    };
    json analysis = {
        {"interval", "2s"},
        {"initialDelay", "5s"},
        {"count", 3},
        {"inconclusiveLimit", 3},
        {"bakeTime", "4s"},
        {"checks",
         json::array(
             {{{"name", "error-rate"},
               {"query", "(sum(rate(" +
                             q("http_requests_total", ",handler=\"predict\",code=~\"5..\"") +
                             "[20s])) or vector(0)) / sum(rate(" +
                             q("http_requests_total", ",handler=\"predict\"") + "[20s]))"},
               {"max", 0.05}},
              {{"name", "accuracy"},
               {"query", "sum(rate(" + q("model_correct_predictions_total") +
                             "[20s])) / sum(rate(" + q("model_labelled_predictions_total") +
                             "[20s]))"},
               {"min", 0.9}}})}};
    json spec = {{"model", "digits"}, {"analysis", analysis}};
    if (drift) {
      spec["drift"] = {{"interval", "2s"},
                       {"breachAfter", 3},
                       {"checks", json::array({{{"name", "input-psi"},
                                                {"query", "max(" + q("model_input_psi_max") + ")"},
                                                {"max", kPsiBound}}})},
                       {"retrain",
                        {{"cooldown", "10m"},
                         {"maxConcurrent", 1},
                         {"promotion", "Automatic"},
                         {"template", runSpec("sklearn://digits?shift=1", std::nullopt)}}}};
    }
    return {{"apiVersion", "mlops.dev/v1alpha1"},
            {"kind", "DriftPolicy"},
            {"metadata", {{"name", "digits"}, {"namespace", ns()}}},
            {"spec", spec}};
  }

  json waitForRun(const std::string& name, std::chrono::milliseconds timeout = 180s) {
    Polled polled = pollUntil(
        timeout, [&] { return get(res::kTrainingRuns, name); }, phaseIn(finishedPhases()));
    EXPECT_TRUE(polled.reached) << name << " did not finish; last status: "
                                << field(polled.last, "/status").dump(2);
    return polled.last;
  }

  json waitForVersion(const std::string& name, const std::set<std::string>& phases,
                      std::chrono::milliseconds timeout = 180s) {
    Polled polled = pollUntil(
        timeout, [&] { return get(res::kModelVersions, name); }, phaseIn(phases));
    EXPECT_TRUE(polled.reached) << name << " never reached " << ::testing::PrintToString(phases)
                                << "; last status: " << field(polled.last, "/status").dump(2);
    return polled.last;
  }

  // The version label of the Deployment's pod template, "" when absent.
  std::string servedVersion(const std::string& deployment) {
    auto d = get(res::kDeployments, deployment);
    return d ? str(*d, "/spec/template/metadata/labels/mlops.dev~1version") : "";
  }

  // One instant query on the plane's Prometheus: the value of a one-series
  // answer, nullopt when empty or unreadable.
  std::optional<double> promValue(const std::string& query) {
    const std::string url = env().get("PROMETHEUS_URL");
    const int port = std::stoi(url.substr(url.rfind(':') + 1));
    auto reply = httpGet(port, "/api/v1/query?query=" + urlEncode(query));
    if (!reply || reply->status != 200) {
      return std::nullopt;
    }
    json body = json::parse(reply->body, nullptr, false);
    const json result = field(body, "/data/result");
    if (!result.is_array() || result.size() != 1) {
      return std::nullopt;
    }
    try {
      return std::stod(result[0]["value"][1].get<std::string>());
    } catch (...) {
      return std::nullopt;
    }
  }

  // sha256 of a file on the host, as "sha256:<hex>".
  std::string sha256Of(const std::string& path) {
    auto r = testing::runCommand({"sha256sum", path});
    EXPECT_EQ(r.exitCode, 0) << r.describe();
    return "sha256:" + r.out.substr(0, r.out.find(' '));
  }

  // The host path of a file:///artifacts/... URI.
  std::string hostPath(const std::string& uri) {
    const std::string prefix = "file:///artifacts/";
    EXPECT_EQ(uri.rfind(prefix, 0), 0u) << uri;
    return artifacts_ + "/" + uri.substr(std::min(uri.size(), prefix.size()));
  }

  // Seconds from a run's startTime to its completionTime.
  static long trainingSeconds(const json& run) {
    auto parse = [](const std::string& t) {
      std::tm tm{};
      std::istringstream in(t);
      in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%SZ");
      return timegm(&tm);
    };
    return static_cast<long>(parse(str(run, "/status/completionTime")) -
                             parse(str(run, "/status/startTime")));
  }

  // v1 trained on the bundled data and in production, served by Deployment
  // digits (Available), with the policy; returns the Service's ClusterIP.
  std::string v1Serving(const json& pol) {
    create(res::kDriftPolicies, pol);
    create(res::kTrainingRuns,
           trainingRun("digits-run-1", runSpec("sklearn://digits", 42), "Automatic"));
    const json run = waitForRun("digits-run-1");
    EXPECT_EQ(phaseOf(run), "Succeeded") << field(run, "/status").dump(2);
    waitForVersion("digits-v1", {"Production"});
    Polled available = pollUntil(
        120s, [&] { return get(res::kDeployments, "digits"); },
        [](const json& d) { return field(d, "/status/availableReplicas") == 1; });
    EXPECT_TRUE(available.reached) << field(available.last, "/status").dump(2);
    auto service = get(res::kServices, "digits");
    EXPECT_TRUE(service);
    return service ? str(*service, "/spec/clusterIP") : "";
  }

  // Names of the Running pods of track stable (not being deleted).
  std::set<std::string> stablePods() {
    kube::ListOptions opts;
    opts.labelSelector = "mlops.dev/model=digits,mlops.dev/track=stable";
    auto pods = client().list(res::kPods, ns(), opts);
    EXPECT_TRUE(pods.ok()) << pods.error().toString();
    std::set<std::string> names;
    if (!pods.ok()) {
      return names;
    }
    for (const auto& p : pods->items) {
      if (phaseOf(p) == "Running" && !p["metadata"].contains("deletionTimestamp")) {
        names.insert(str(p, "/metadata/name"));
      }
    }
    return names;
  }

  void startTraffic(const std::string& clusterIP, double shift) {
    loadgen_.reset();
    loadgen_ = std::make_unique<LoadGen>(clusterIP, shift, loadgenLog_);
  }

  Images images_;
  std::string artifacts_;
  std::string loadgenLog_;
  std::unique_ptr<OperatorProcess> op_;
  std::unique_ptr<LoadGen> loadgen_;
};

// 4a: a real TrainingRun trains a real model; its ModelVersion carries the
// real metrics, the artifact's real digest and the image digest containerd
// reports; a reproduction gives the same artifact digest.
TEST_F(RealModel, ATrainingRunTrainsARealModelAndItsReproductionGivesTheSameArtifact) {
  const auto start = Clock::now();
  create(res::kTrainingRuns,
         trainingRun("digits-run-1", runSpec("sklearn://digits", 42), "Manual"));
  const json run = waitForRun("digits-run-1");
  ASSERT_EQ(phaseOf(run), "Succeeded") << field(run, "/status").dump(2);
  const double accuracy = number(field(run, "/status/metrics/accuracy"));
  EXPECT_GT(accuracy, 0.8);
  EXPECT_LE(accuracy, 1.0);
  const std::string uri = str(run, "/status/artifact/uri");
  const std::string digest = str(run, "/status/artifact/digest");
  EXPECT_EQ(uri.rfind("file:///artifacts/" + ns() + "/digits/digits-run-1-", 0), 0u) << uri;
  EXPECT_EQ(uri.substr(uri.rfind('/') + 1), "model.pkl");
  // The digest the trainer reported is the file's, as it lies on the node.
  const std::string onDisk = sha256Of(hostPath(uri));
  EXPECT_EQ(digest, onDisk);
  // containerd's imageID for the imported image is its config digest.
  EXPECT_EQ(field(run, "/status/imageDigests"), json({{"trainer", images_.trainerID}}));
  EXPECT_EQ(str(run, "/status/datasetDigest").rfind("sha256:", 0), 0u)
      << field(run, "/status").dump(2);

  const std::string versionName = str(run, "/status/modelVersion");
  ASSERT_EQ(versionName, "digits-v1");
  auto mv = get(res::kModelVersions, versionName);
  ASSERT_TRUE(mv);
  EXPECT_EQ(field(*mv, "/spec/metrics"), field(run, "/status/metrics"));
  EXPECT_EQ(field(*mv, "/spec/artifact"), field(run, "/status/artifact"));
  EXPECT_EQ(field(*mv, "/spec/source/imageDigests"), json({{"trainer", images_.trainerID}}));
  EXPECT_EQ(str(*mv, "/spec/source/fingerprint"), str(run, "/status/fingerprint"));
  EXPECT_EQ(str(*mv, "/spec/stage"), "None");
  const long firstSeconds = trainingSeconds(run);

  // The reproduction: same inputs, image pinned to the recorded digest, a
  // directory of its own; the same bytes.
  json repro = {{"apiVersion", "mlops.dev/v1alpha1"},
                {"kind", "TrainingRun"},
                {"metadata", {{"name", "digits-run-1-repro"}, {"namespace", ns()}}},
                {"spec", {{"model", "digits"}, {"reproduction", {{"of", "digits-run-1"}}}}}};
  create(res::kTrainingRuns, repro);
  const json again = waitForRun("digits-run-1-repro");
  ASSERT_EQ(phaseOf(again), "Succeeded") << field(again, "/status").dump(2);
  const std::string againUri = str(again, "/status/artifact/uri");
  EXPECT_NE(againUri, uri) << "the reproduction must write its own artifact";
  EXPECT_EQ(str(again, "/status/artifact/digest"), digest);
  EXPECT_EQ(sha256Of(hostPath(againUri)), digest);
  EXPECT_EQ(str(again, "/status/reproduction/verdict"), "Reproduced")
      << field(again, "/status").dump(2);
  EXPECT_EQ(field(again, "/status/reproduction/fingerprintMatch"), true)
      << field(again, "/status").dump(2);
  EXPECT_EQ(field(again, "/status/metrics"), field(run, "/status/metrics"));
  EXPECT_TRUE(str(again, "/status/modelVersion").empty()) << "a reproduction registers nothing";

  std::cout << "[figure] real training (digits, 20 trees): accuracy " << accuracy << ", run "
            << firstSeconds << " s, reproduction " << trainingSeconds(again)
            << " s (startTime to completionTime)\n"
            << "[figure] artifact digest " << digest << ": file on the node " << onDisk
            << ", reproduction " << str(again, "/status/artifact/digest") << "\n"
            << "[figure] test wall time " << msSince(start) << " ms\n";
}

// 4b and 4c on one served model: v2 is canaried on real traffic and promoted
// on the servers' error rate and online accuracy; then a v3 whose server
// fails half of its requests is canaried and rolled back, stable untouched.
TEST_F(RealModel, ACanaryIsPromotedOnRealMetricsAndABrokenOneIsRolledBack) {
  const auto start = Clock::now();
  const std::string clusterIP = v1Serving(policy(/*drift=*/false));
  ASSERT_FALSE(HasFailure());
  ASSERT_FALSE(clusterIP.empty());
  startTraffic(clusterIP, 0);

  // --- 4b: v2 canaried and promoted -------------------------------------
  const auto v2Start = Clock::now();
  create(res::kTrainingRuns,
         trainingRun("digits-run-2", runSpec("sklearn://digits", 43), "Automatic"));
  // The canary's measurements give way to the bake's once promoted: keep
  // the last status read while it was the canary.
  json canary;
  Polled promoted = pollUntil(
      240s, [&] { return get(res::kModelVersions, "digits-v2"); },
      [&](const json& v) {
        if (phaseOf(v) == "Canary") {
          canary = v;
        }
        return phaseOf(v) == "Production" || phaseOf(v) == "RolledBack";
      });
  ASSERT_TRUE(promoted.reached) << field(promoted.last, "/status").dump(2);
  ASSERT_EQ(phaseOf(promoted.last), "Production") << field(promoted.last, "/status").dump(2);
  const long v2Ms = msSince(v2Start);
  ASSERT_FALSE(canary.is_null()) << "digits-v2 was never seen as the canary";
  const json errorRate = lastMeasurement(canary, "error-rate");
  const json accuracy = lastMeasurement(canary, "accuracy");
  EXPECT_EQ(str(errorRate, "/verdict"), "Successful") << canary["status"].dump(2);
  EXPECT_EQ(str(accuracy, "/verdict"), "Successful") << canary["status"].dump(2);
  EXPECT_LE(number(errorRate["value"]), 0.05);
  EXPECT_GE(number(accuracy["value"]), 0.9);
  EXPECT_NE(str(accuracy, "/query").find("version=\"2\""), std::string::npos);
  EXPECT_TRUE(eventuallyHasEvent("digits-v2", "CanaryStarted"));
  EXPECT_TRUE(eventuallyHasEvent("digits-v2", "AnalysisSuccessful"));
  EXPECT_EQ(phaseOf(waitForVersion("digits-v1", {"Superseded"}, 60s)), "Superseded");
  EXPECT_EQ(servedVersion("digits"), "2");
  // Real traffic reached the canary pod through the Service, and Prometheus
  // scraped it with the target labels serving_sd.py gives.
  const auto canaryRequests = promValue("sum(http_requests_total{namespace=\"" + ns() +
                                        "\",version=\"2\",track=\"canary\",handler=\"predict\"})");
  ASSERT_TRUE(canaryRequests) << "no scraped requests of the canary pod";
  EXPECT_GT(*canaryRequests, 0);

  // --- 4c: a broken v3 rolled back ---------------------------------------
  // Stable must be untouched: its Deployment's spec stays as it was, and
  // the same pod serves throughout. (Not its generation: the operator
  // re-applies it with v3 added to its owners, and a Deployment's
  // generation counts annotation changes too.)
  waitForVersion("digits-v2", {"Production"});
  auto stableBefore = get(res::kDeployments, "digits");
  ASSERT_TRUE(stableBefore);
  std::set<std::string> stablePodsBefore;
  ASSERT_TRUE(eventually(30s,
                         [&] {
                           stablePodsBefore = stablePods();
                           return stablePodsBefore.size() == 1;
                         }))
      << "stable pods: " << ::testing::PrintToString(stablePodsBefore);
  create(res::kTrainingRuns,
         trainingRun("digits-run-3", runSpec("sklearn://digits", 44, 0.5), "Automatic"));
  const std::string badQuery = "sum(http_requests_total{namespace=\"" + ns() +
                               "\",version=\"3\",handler=\"predict\",code=\"500\"})";
  std::optional<Clock::time_point> firstBad;
  Polled rolledBack = pollUntil(
      240s, [&] { return get(res::kModelVersions, "digits-v3"); },
      [&](const json& v) {
        if (!firstBad && promValue(badQuery).value_or(0) > 0) {
          firstBad = Clock::now();
        }
        return phaseOf(v) == "RolledBack" || phaseOf(v) == "Production";
      });
  const auto rolledBackAt = Clock::now();
  ASSERT_TRUE(rolledBack.reached) << field(rolledBack.last, "/status").dump(2);
  ASSERT_EQ(phaseOf(rolledBack.last), "RolledBack") << field(rolledBack.last, "/status").dump(2);
  const json failed = lastMeasurement(rolledBack.last, "error-rate");
  EXPECT_EQ(str(failed, "/verdict"), "Failed") << rolledBack.last["status"].dump(2);
  EXPECT_GT(number(failed["value"]), 0.05);
  EXPECT_NE(str(rolledBack.last, "/status/message").find("error-rate"), std::string::npos)
      << str(rolledBack.last, "/status/message");
  EXPECT_TRUE(eventuallyHasEvent("digits-v3", "RolledBack"));
  EXPECT_EQ(phaseOf(waitForVersion("digits-v2", {"Production"}, 10s)), "Production");
  EXPECT_EQ(servedVersion("digits"), "2");
  auto stableAfter = get(res::kDeployments, "digits");
  ASSERT_TRUE(stableAfter);
  EXPECT_EQ(field(*stableAfter, "/spec"), field(*stableBefore, "/spec"))
      << "the stable Deployment was changed by a rollback: "
      << json::diff(field(*stableBefore, "/spec"), field(*stableAfter, "/spec")).dump(2);
  EXPECT_EQ(stablePods(), stablePodsBefore);
  EXPECT_TRUE(eventually(60s, [&] { return !get(res::kDeployments, "digits-canary"); }))
      << "the canary Deployment stayed";

  std::cout << "[figure] v2: TrainingRun created to Production " << v2Ms
            << " ms; canary's last evaluation: error rate " << errorRate["value"]
            << " (max 0.05), accuracy " << accuracy["value"] << " (min 0.9); " << *canaryRequests
            << " requests scraped from the canary pod\n";
  if (firstBad) {
    std::cout
        << "[figure] v3 (MLOPS_FAULT_ERROR_SHARE=0.5): first 500 visible in Prometheus to "
           "RolledBack seen: "
        << std::chrono::duration_cast<std::chrono::milliseconds>(rolledBackAt - *firstBad).count()
        << " ms (initialDelay 5s, interval 2s, failureLimit 0); deciding value " << failed["value"]
        << " > 0.05\n";
  }
  std::cout << "[figure] test wall time " << msSince(start) << " ms\n";
}

// 4d: shifted inputs raise the servers' PSI past the bound; the policy
// retrains on the shifted data, and the new version is canaried and
// promoted, after which the inputs no longer drift for it.
TEST_F(RealModel, ShiftedInputsRaiseThePsiAndTheRetrainedVersionIsCanariedAndPromoted) {
  const auto start = Clock::now();
  const std::string clusterIP = v1Serving(policy(/*drift=*/true));
  ASSERT_FALSE(HasFailure());
  ASSERT_FALSE(clusterIP.empty());
  startTraffic(clusterIP, 0);
  auto psiCheck = [](const json& p) {
    const json checks = field(p, "/status/checks");
    return checks.is_array() && !checks.empty() ? checks[0] : json();
  };
  // In distribution, the policy judges v1 healthy on a real PSI value.
  Polled calm = pollUntil(
      90s, [&] { return get(res::kDriftPolicies, "digits"); },
      [&](const json& p) {
        return str(psiCheck(p), "/verdict") == "Successful" &&
               field(p, "/status/productionVersion") == 1;
      });
  ASSERT_TRUE(calm.reached) << field(calm.last, "/status").dump(2);
  const double calmPsi = number(field(psiCheck(calm.last), "/value"));
  EXPECT_LE(calmPsi, kPsiBound);
  EXPECT_TRUE(get(res::kTrainingRuns, "digits-retrain-1") == std::nullopt);

  const auto shifted = Clock::now();
  startTraffic(clusterIP, 1);
  kube::ListOptions byPolicy;
  byPolicy.labelSelector = "mlops.dev/drift-policy=digits";
  Polled triggered = pollUntil(
      120s,
      [&]() -> std::optional<json> {
        auto runs = client().list(res::kTrainingRuns, ns(), byPolicy);
        if (!runs.ok()) {
          return std::nullopt;
        }
        return runs->items;
      },
      [](const json& runs) { return !runs.empty(); });
  ASSERT_TRUE(triggered.reached) << "no retraining run after the shift";
  const long triggerMs = msSince(shifted);
  ASSERT_EQ(triggered.last.size(), 1u) << triggered.last.dump(2);
  const json retrain = triggered.last[0];
  const std::string retrainName = str(retrain, "/metadata/name");
  EXPECT_EQ(str(retrain, "/spec/dataset/uri"), "sklearn://digits?shift=1");
  EXPECT_EQ(str(retrain, "/metadata/labels/mlops.dev~1drift-version"), "1");
  EXPECT_EQ(str(retrain, "/metadata/labels/mlops.dev~1drift-check"), "input-psi");
  std::string triggerMessage;
  EXPECT_TRUE(eventuallyHasEvent("digits", "RetrainTriggered", &triggerMessage));
  const json breached = get(res::kDriftPolicies, "digits").value_or(json());
  const double shiftedPsi = number(field(psiCheck(breached), "/value"));
  EXPECT_GT(shiftedPsi, kPsiBound) << field(breached, "/status").dump(2);

  const json run = waitForRun(retrainName);
  ASSERT_EQ(phaseOf(run), "Succeeded") << field(run, "/status").dump(2);
  Polled promoted = pollUntil(
      240s, [&] { return get(res::kModelVersions, "digits-v2"); },
      [](const json& v) { return phaseOf(v) == "Production" || phaseOf(v) == "RolledBack"; });
  ASSERT_TRUE(promoted.reached) << field(promoted.last, "/status").dump(2);
  ASSERT_EQ(phaseOf(promoted.last), "Production") << field(promoted.last, "/status").dump(2);
  const long promotedMs = msSince(shifted);
  EXPECT_EQ(str(promoted.last, "/spec/source/trainingRun"), retrainName);
  EXPECT_TRUE(eventuallyHasEvent("digits-v2", "CanaryStarted"));
  EXPECT_TRUE(eventuallyHasEvent("digits-v2", "AnalysisSuccessful"));
  EXPECT_EQ(servedVersion("digits"), "2");

  // The retrained model's reference is the shifted data: the same traffic
  // no longer drifts for it.
  Polled settled = pollUntil(
      90s, [&] { return get(res::kDriftPolicies, "digits"); },
      [&](const json& p) {
        return field(p, "/status/productionVersion") == 2 &&
               str(psiCheck(p), "/verdict") == "Successful";
      });
  EXPECT_TRUE(settled.reached) << field(settled.last, "/status").dump(2);
  const double settledPsi = number(field(psiCheck(settled.last), "/value"));

  std::cout << "[figure] input PSI max (bound " << kPsiBound << "): v1 in distribution " << calmPsi
            << ", v1 shifted by 1 sd " << shiftedPsi << ", v2 (retrained) on the "
            << "shifted traffic " << settledPsi << "\n"
            << "[figure] shift to retraining run " << triggerMs << " ms, to v2 in production "
            << promotedMs << " ms (drift interval 2s, breachAfter 3); " << triggerMessage << "\n"
            << "[figure] retrained model: accuracy " << field(run, "/status/metrics/accuracy")
            << ", trained in " << trainingSeconds(run) << " s\n"
            << "[figure] test wall time " << msSince(start) << " ms\n";
}

}  // namespace
}  // namespace mlops::e2e
