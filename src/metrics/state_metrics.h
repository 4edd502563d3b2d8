// Gauges of the objects' state, counted from the informer caches when
// scraped (DESIGN.md "Architecture"):
//
//   mlops_trainingruns{namespace,phase}                    runs per phase
//   mlops_modelversion_info{namespace,model,version,phase} 1 per ModelVersion
//
// Nothing is stored between scrapes, so a deleted object's series is gone
// at the next scrape and the cardinality follows the live objects. Every
// phase of DESIGN.md is reported for each namespace that has a TrainingRun
// (0 when none is in it), so a phase that empties reads 0 instead of
// vanishing; a run without a phase yet counts as Pending, a version without
// one is phase="Unknown".
//
// Cost per scrape: no object is read. The collector adds an index to each
// informer's indexer whose value is what a series needs of an object
// (namespace and phase of a run; namespace, model, version and phase of a
// version), kept current as the informer writes; a scrape counts the
// entries of each index value. Reading the objects instead meant decoding
// every cached run and version (the cache stores them encoded, indexer.h):
// 46.6 ms per scrape at 1000 runs in make bench, ten times the 4.7 ms
// before the cache was encoded.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "runtime/indexer.h"

namespace mlops::metrics {

// The indexes the collector adds, and their one value per object.
inline constexpr const char* kRunStateIndex = "mlops-state-trainingrun";
inline constexpr const char* kVersionStateIndex = "mlops-state-modelversion";
runtime::IndexDefinition runStateIndex();
runtime::IndexDefinition versionStateIndex();

// The two families from the number of objects per index value (pure; the
// collector's core).
std::vector<::prometheus::MetricFamily> stateFamiliesFromCounts(
    const std::map<std::string, std::size_t>& runsByState,
    const std::map<std::string, std::size_t>& versionsByState);

// The same from the objects themselves.
std::vector<::prometheus::MetricFamily> stateFamilies(
    const std::vector<runtime::ObjectPtr>& trainingRuns,
    const std::vector<runtime::ObjectPtr>& modelVersions);

// Counts the two indexes at every Collect(): add runStateIndex() and
// versionStateIndex() to the informers under their names first (main.cc);
// without them it reads every object instead. The indexers (the Manager's
// informers) must outlive it; register it with
// RuntimeMetrics::addCollectable. Thread safe (the indexers are).
class StateCollector final : public ::prometheus::Collectable {
 public:
  StateCollector(const runtime::Indexer& trainingRuns, const runtime::Indexer& modelVersions)
      : trainingRuns_(trainingRuns), modelVersions_(modelVersions) {}

  std::vector<::prometheus::MetricFamily> Collect() const override;

 private:
  const runtime::Indexer& trainingRuns_;
  const runtime::Indexer& modelVersions_;
};

}  // namespace mlops::metrics
