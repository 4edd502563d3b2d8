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
// Cost per scrape: one pass over each cache, decoding every cached
// TrainingRun and ModelVersion (the cache stores them encoded, indexer.h),
// and one series per version. Not timed at 10k objects yet.
#pragma once

#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "runtime/indexer.h"

namespace mlops::metrics {

// The two families from the objects themselves (pure; the collector's core).
std::vector<::prometheus::MetricFamily> stateFamilies(
    const std::vector<runtime::ObjectPtr>& trainingRuns,
    const std::vector<runtime::ObjectPtr>& modelVersions);

// Reads the informers' indexers at every Collect(). The indexers (the
// Manager's informers) must outlive it; register it with
// RuntimeMetrics::addCollectable. Thread safe (the indexers are).
class StateCollector final : public ::prometheus::Collectable {
 public:
  StateCollector(const runtime::Indexer& trainingRuns, const runtime::Indexer& modelVersions)
      : trainingRuns_(trainingRuns), modelVersions_(modelVersions) {}

  std::vector<::prometheus::MetricFamily> Collect() const override {
    return stateFamilies(trainingRuns_.list(), modelVersions_.list());
  }

 private:
  const runtime::Indexer& trainingRuns_;
  const runtime::Indexer& modelVersions_;
};

}  // namespace mlops::metrics
