// mlops-operator: flags, wiring, nothing else.
#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "controllers/drift/drift_controller.h"
#include "controllers/rollout/rollout_controller.h"
#include "controllers/training/trainingrun_controller.h"
#include "kube/config.h"
#include "kube/rest_client.h"
#include "kube/system_trust.h"
#include "main/heap_trimmer.h"
#include "main/options.h"
#include "main/preflight.h"
#include "main/required_permissions.h"
#include "metrics/process_metrics.h"
#include "metrics/prometheus_domain_recorder.h"
#include "metrics/state_metrics.h"
#include "runtime/logger.h"
#include "runtime/manager.h"
#include "runtime/metrics.h"

namespace {

constexpr const char* kVersion = "0.1.0";

// One clear line on stderr and exit code 1: for startup misconfiguration.
int fatal(const std::string& what) {
  std::cerr << "mlops-operator: " << what << "\n";
  return 1;
}

// The namespace this process runs in, for the leader-election Lease when no
// flag names one: the in-cluster service account's namespace, else the
// kubeconfig context's.
std::string defaultLeaseNamespace(const mlops::kube::ClientConfig& cfg) {
  return cfg.defaultNamespace.empty() ? "default" : cfg.defaultNamespace;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace mlops;
  // glibc gives each busy thread its own arena (up to 8 per core), and each
  // keeps its freed memory: with 300 runs cached that was 5.7 MB of the
  // 33.6 MB anonymous resident set. Two arenas cost nothing measurable in
  // time to converge here. The glibc tunable still wins when a user sets it.
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) {
    mallopt(M_ARENA_MAX, 2);
  }
  // Before any thread or connection: it sets SSL_CERT_FILE (system_trust.h).
  kube::installSharedSystemTrust();
  std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed = parseCommandLine(args, processEnv);
  if (!parsed.ok()) {
    return fatal(parsed.error().message);
  }
  switch (parsed->action) {
    case ParsedCommandLine::Action::kHelp:
      std::cout << usageText();
      return 0;
    case ParsedCommandLine::Action::kVersion:
      std::cout << "mlops-operator " << kVersion << "\n";
      return 0;
    case ParsedCommandLine::Action::kRun:
      break;
  }
  const Options& opts = parsed->options;

  // Flags were validated by parseCommandLine; these cannot fail.
  runtime::Logger::configure(*runtime::parseLogFormat(opts.logFormat),
                             *runtime::parseLogLevel(opts.logLevel));
  runtime::Logger log("setup");
  // Before any HTTP client exists (the API server client and the Prometheus
  // clients share the pool).
  if (auto sized = kube::configureHttpThreads(static_cast<size_t>(opts.httpThreads)); !sized.ok()) {
    return fatal(sized.error().message);
  }

  auto metrics = std::make_shared<runtime::RuntimeMetrics>();
  auto processMetrics = std::make_shared<const metrics::ProcessCollector>();
  metrics->addCollectable(processMetrics);
  // Before the Manager: its controllers report to it until they stop.
  metrics::PrometheusDomainRecorder domainRecorder(*metrics->registry());
  auto config = kube::loadConfig(kube::ConfigEnvironment::fromProcess(opts.kubeconfig));
  if (!config.ok()) {
    return fatal(config.error().message);
  }
  config->onResponse = metrics->restClientObserver();
  config->userAgent = std::string("mlops-operator/") + kVersion;

  auto client = kube::makeRestClient(*config);
  if (!client.ok()) {
    return fatal(client.error().message);
  }

  if (auto access = checkApiServerAccess(**client, config->server, std::chrono::seconds(10));
      !access.ok()) {
    return fatal(access.error().message);
  }
  const std::string leaseNamespace = opts.leaderElectionNamespace.empty()
                                         ? defaultLeaseNamespace(*config)
                                         : opts.leaderElectionNamespace;
  // A token without the permissions the controllers use would otherwise
  // start and log 403s forever: name what is missing and stop.
  if (auto allowed = checkPermissions(**client,
                                      {.watchNamespace = opts.watchNamespace,
                                       .leaderElection = opts.leaderElect,
                                       .leaderElectionNamespace = leaseNamespace},
                                      std::chrono::seconds(10));
      !allowed.ok()) {
    return fatal(allowed.error().message);
  }
  log.info("connected to the API server",
           {{"server", config->server}, {"source", config->source}, {"version", kVersion}});

  runtime::ManagerOptions mopts;
  mopts.ns = opts.watchNamespace;
  mopts.metricsBindAddress = opts.metricsBindAddress;
  mopts.healthProbeBindAddress = opts.healthProbeBindAddress;
  mopts.leaderElection = opts.leaderElect;
  mopts.leaderElectionNamespace = leaseNamespace;
  mopts.leaderElectionId = opts.leaderElectionId;
  mopts.metrics = metrics;
  runtime::Manager manager(**client, mopts);

  // The project's kinds are cached from the start, so readiness means the
  // CRDs are installed and readable.
  runtime::Informer& runs = manager.informer(kube::resources::kTrainingRuns);
  runtime::Informer& versions = manager.informer(kube::resources::kModelVersions);
  manager.informer(kube::resources::kDriftPolicies);
  // The state gauges count these indexes instead of reading the objects.
  if (auto st = runs.addIndex(metrics::kRunStateIndex, metrics::runStateIndex()); !st) {
    return fatal(st.error().message);
  }
  if (auto st = versions.addIndex(metrics::kVersionStateIndex, metrics::versionStateIndex()); !st) {
    return fatal(st.error().message);
  }
  // After the Manager, so destroyed before the informers it reads.
  auto stateMetrics =
      std::make_shared<const metrics::StateCollector>(runs.indexer(), versions.indexer());
  metrics->addCollectable(stateMetrics);

  training::TrainingRunControllerOptions trainingOptions;
  trainingOptions.decide.artifactRoot = opts.artifactRoot;
  trainingOptions.decide.podCreationTimeout = std::chrono::seconds(opts.podCreationTimeoutSeconds);
  trainingOptions.workers = opts.workers;
  if (auto st = training::setupTrainingRunController(manager, trainingOptions); !st.ok()) {
    return fatal(st.error().message);
  }

  rollout::RolloutControllerOptions rolloutOptions;
  rolloutOptions.decide.retentionKeep = opts.retentionKeep;
  rolloutOptions.defaultPrometheusUrl = opts.prometheusUrl;
  rolloutOptions.prometheusUrlAllow = opts.prometheusUrlAllow;
  rolloutOptions.workers = opts.workers;
  rolloutOptions.recorder = &domainRecorder;
  if (auto st = rollout::setupRolloutController(manager, std::move(rolloutOptions)); !st.ok()) {
    return fatal(st.error().message);
  }

  drift::DriftControllerOptions driftOptions;
  driftOptions.defaultPrometheusUrl = opts.prometheusUrl;
  driftOptions.prometheusUrlAllow = opts.prometheusUrlAllow;
  driftOptions.workers = opts.workers;
  driftOptions.recorder = &domainRecorder;
  if (auto st = drift::setupDriftController(manager, std::move(driftOptions)); !st.ok()) {
    return fatal(st.error().message);
  }

  const HeapTrimmer trimmer(std::chrono::seconds(2), std::chrono::seconds(10));
  return manager.run();
}
