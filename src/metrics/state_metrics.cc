#include "metrics/state_metrics.h"

#include <array>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "core/json_access.h"
#include "objects/phases.h"

namespace mlops::metrics {
namespace {

using ::prometheus::ClientMetric;
using ::prometheus::MetricFamily;
using ::prometheus::MetricType;
using Phase = objects::TrainingRunPhase;

constexpr std::array<std::string_view, 4> kRunPhases = {Phase::kPending, Phase::kRunning,
                                                        Phase::kSucceeded, Phase::kFailed};

ClientMetric gaugeSample(std::vector<ClientMetric::Label> labels, double value) {
  ClientMetric m;
  m.label = std::move(labels);
  m.gauge.value = value;
  return m;
}

std::string versionLabel(const nlohmann::json& spec) {
  const nlohmann::json& v = member(spec, "version");
  return v.is_number_integer() ? std::to_string(v.get<int64_t>()) : "";
}

}  // namespace

std::vector<MetricFamily> stateFamilies(const std::vector<runtime::ObjectPtr>& trainingRuns,
                                        const std::vector<runtime::ObjectPtr>& modelVersions) {
  // namespace → phase → runs; std::map keeps the output in a stable order.
  std::map<std::string, std::map<std::string, int64_t>> runs;
  for (const auto& run : trainingRuns) {
    std::string phase = stringMember(member(*run, "status"), "phase");
    if (phase.empty()) {
      phase = Phase::kPending;
    }
    auto& byPhase = runs[stringMember(member(*run, "metadata"), "namespace")];
    if (byPhase.empty()) {
      for (auto known : kRunPhases) {
        byPhase.emplace(std::string(known), 0);
      }
    }
    ++byPhase[phase];
  }
  MetricFamily runFamily{"mlops_trainingruns", "TrainingRuns by phase", MetricType::Gauge, {}};
  for (const auto& [ns, byPhase] : runs) {
    for (const auto& [phase, count] : byPhase) {
      runFamily.metric.push_back(
          gaugeSample({{"namespace", ns}, {"phase", phase}}, static_cast<double>(count)));
    }
  }

  MetricFamily versionFamily{"mlops_modelversion_info",
                             "One series per ModelVersion, with its phase",
                             MetricType::Gauge,
                             {}};
  for (const auto& version : modelVersions) {
    const nlohmann::json& spec = member(*version, "spec");
    std::string phase = stringMember(member(*version, "status"), "phase");
    if (phase.empty()) {
      phase = "Unknown";  // an empty label value would read as no label at all
    }
    versionFamily.metric.push_back(
        gaugeSample({{"namespace", stringMember(member(*version, "metadata"), "namespace")},
                     {"model", stringMember(spec, "model")},
                     {"version", versionLabel(spec)},
                     {"phase", phase}},
                    1));
  }
  return {std::move(runFamily), std::move(versionFamily)};
}

}  // namespace mlops::metrics
