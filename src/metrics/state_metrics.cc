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

// Index values are the label values joined by '\n', which no namespace,
// model name or version number holds; the phase comes last, so whatever a
// status holds stays in it.
constexpr char kSeparator = '\n';

std::string runState(const nlohmann::json& run) {
  std::string phase = stringMember(member(run, "status"), "phase");
  if (phase.empty()) {
    phase = Phase::kPending;
  }
  return stringMember(member(run, "metadata"), "namespace") + kSeparator + phase;
}

std::string versionState(const nlohmann::json& version) {
  const nlohmann::json& spec = member(version, "spec");
  std::string phase = stringMember(member(version, "status"), "phase");
  if (phase.empty()) {
    phase = "Unknown";  // an empty label value would read as no label at all
  }
  return stringMember(member(version, "metadata"), "namespace") + kSeparator +
         stringMember(spec, "model") + kSeparator + versionLabel(spec) + kSeparator + phase;
}

// The first `fields` - 1 parts split at the separator, and the rest.
std::vector<std::string> splitState(const std::string& value, size_t fields) {
  std::vector<std::string> out;
  size_t from = 0;
  while (out.size() + 1 < fields) {
    const size_t at = value.find(kSeparator, from);
    if (at == std::string::npos) {
      break;
    }
    out.push_back(value.substr(from, at - from));
    from = at + 1;
  }
  out.push_back(value.substr(from));
  out.resize(fields);
  return out;
}

std::map<std::string, std::size_t> countStates(const std::vector<runtime::ObjectPtr>& objects,
                                               std::string (*state)(const nlohmann::json&)) {
  std::map<std::string, std::size_t> out;
  for (const auto& obj : objects) {
    ++out[state(*obj)];
  }
  return out;
}

std::map<std::string, std::size_t> countsOr(const runtime::Indexer& indexer, const char* index,
                                            std::string (*state)(const nlohmann::json&)) {
  auto counts = indexer.countByIndex(index);
  if (counts) {
    return std::move(*counts);
  }
  // No such index (a collector whose indexes were not added).
  return countStates(indexer.list(), state);
}

}  // namespace

runtime::IndexDefinition runStateIndex() {
  return {"mlops state metrics: namespace and phase of a TrainingRun",
          [](const nlohmann::json& run) { return std::vector<std::string>{runState(run)}; }};
}

runtime::IndexDefinition versionStateIndex() {
  return {"mlops state metrics: namespace, model, version and phase of a ModelVersion",
          [](const nlohmann::json& v) { return std::vector<std::string>{versionState(v)}; }};
}

std::vector<MetricFamily> stateFamiliesFromCounts(
    const std::map<std::string, std::size_t>& runsByState,
    const std::map<std::string, std::size_t>& versionsByState) {
  // namespace → phase → runs; std::map keeps the output in a stable order.
  std::map<std::string, std::map<std::string, std::size_t>> runs;
  for (const auto& [state, count] : runsByState) {
    const auto parts = splitState(state, 2);
    auto& byPhase = runs[parts[0]];
    if (byPhase.empty()) {
      for (auto known : kRunPhases) {
        byPhase.emplace(std::string(known), 0);
      }
    }
    byPhase[parts[1]] += count;
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
  // One series per label set, even if two objects claimed the same version.
  for (const auto& [state, count] : versionsByState) {
    (void)count;
    const auto parts = splitState(state, 4);
    versionFamily.metric.push_back(gaugeSample(
        {{"namespace", parts[0]}, {"model", parts[1]}, {"version", parts[2]}, {"phase", parts[3]}},
        1));
  }
  return {std::move(runFamily), std::move(versionFamily)};
}

std::vector<MetricFamily> stateFamilies(const std::vector<runtime::ObjectPtr>& trainingRuns,
                                        const std::vector<runtime::ObjectPtr>& modelVersions) {
  return stateFamiliesFromCounts(countStates(trainingRuns, runState),
                                 countStates(modelVersions, versionState));
}

std::vector<MetricFamily> StateCollector::Collect() const {
  return stateFamiliesFromCounts(countsOr(trainingRuns_, kRunStateIndex, runState),
                                 countsOr(modelVersions_, kVersionStateIndex, versionState));
}

}  // namespace mlops::metrics
