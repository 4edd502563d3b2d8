#include "metrics/prometheus_domain_recorder.h"

#include <limits>

namespace mlops::metrics {

PrometheusDomainRecorder::PrometheusDomainRecorder(::prometheus::Registry& registry)
    : promotions_(::prometheus::BuildCounter()
                      .Name("mlops_promotions_total")
                      .Help("Versions that became the production version of their model")
                      .Register(registry)),
      rollbacks_(::prometheus::BuildCounter()
                     .Name("mlops_rollbacks_total")
                     .Help("Candidate or production versions rolled back, by status reason")
                     .Register(registry)),
      retrains_(::prometheus::BuildCounter()
                    .Name("mlops_retrains_total")
                    .Help("Retraining TrainingRuns created by drift monitoring")
                    .Register(registry)),
      checkValue_(::prometheus::BuildGauge()
                      .Name("mlops_check_value")
                      .Help("The last value a check's query gave (NaN: evaluated without a value)")
                      .Register(registry)),
      checkEvaluations_(::prometheus::BuildCounter()
                            .Name("mlops_check_evaluations_total")
                            .Help("Check evaluations (canary, bake, drift), by verdict")
                            .Register(registry)) {}

PrometheusDomainRecorder::ModelSeries& PrometheusDomainRecorder::seriesLocked(
    std::string_view ns, std::string_view model) {
  return models_[ModelKey(ns, model)];
}

void PrometheusDomainRecorder::promoted(std::string_view ns, std::string_view model) {
  std::lock_guard lock(mu_);
  ModelSeries& s = seriesLocked(ns, model);
  if (s.promotions == nullptr) {
    s.promotions =
        &promotions_.Add({{"namespace", std::string(ns)}, {"model", std::string(model)}});
  }
  s.promotions->Increment();
}

void PrometheusDomainRecorder::rolledBack(std::string_view ns, std::string_view model,
                                          std::string_view reason) {
  std::lock_guard lock(mu_);
  ModelSeries& s = seriesLocked(ns, model);
  auto it = s.rollbacks.find(reason);
  if (it == s.rollbacks.end()) {
    auto& counter = rollbacks_.Add({{"namespace", std::string(ns)},
                                    {"model", std::string(model)},
                                    {"reason", std::string(reason)}});
    it = s.rollbacks.emplace(std::string(reason), &counter).first;
  }
  it->second->Increment();
}

void PrometheusDomainRecorder::retrainTriggered(std::string_view ns, std::string_view model) {
  std::lock_guard lock(mu_);
  ModelSeries& s = seriesLocked(ns, model);
  if (s.retrains == nullptr) {
    s.retrains = &retrains_.Add({{"namespace", std::string(ns)}, {"model", std::string(model)}});
  }
  s.retrains->Increment();
}

void PrometheusDomainRecorder::checkEvaluated(std::string_view ns, std::string_view model,
                                              std::string_view check, std::string_view verdict,
                                              std::optional<double> value) {
  std::lock_guard lock(mu_);
  ModelSeries& s = seriesLocked(ns, model);
  auto gauge = s.checkValues.find(check);
  if (gauge == s.checkValues.end()) {
    auto& g = checkValue_.Add({{"namespace", std::string(ns)},
                               {"model", std::string(model)},
                               {"check", std::string(check)}});
    gauge = s.checkValues.emplace(std::string(check), &g).first;
  }
  // NaN rather than the previous value: a stale number would read as a
  // measurement that was not taken.
  gauge->second->Set(value ? *value : std::numeric_limits<double>::quiet_NaN());
  const auto key = std::make_pair(std::string(check), std::string(verdict));
  auto counter = s.evaluations.find(key);
  if (counter == s.evaluations.end()) {
    auto& c = checkEvaluations_.Add({{"namespace", std::string(ns)},
                                     {"model", std::string(model)},
                                     {"check", key.first},
                                     {"verdict", key.second}});
    counter = s.evaluations.emplace(key, &c).first;
  }
  counter->second->Increment();
}

void PrometheusDomainRecorder::removeChecksLocked(ModelSeries& series) {
  for (const auto& [check, gauge] : series.checkValues) {
    checkValue_.Remove(gauge);
  }
  for (const auto& [key, counter] : series.evaluations) {
    checkEvaluations_.Remove(counter);
  }
  series.checkValues.clear();
  series.evaluations.clear();
}

void PrometheusDomainRecorder::modelForgotten(std::string_view ns, std::string_view model) {
  std::lock_guard lock(mu_);
  auto it = models_.find(ModelKey(ns, model));
  if (it == models_.end()) {
    return;
  }
  removeChecksLocked(it->second);
}

void PrometheusDomainRecorder::modelGone(std::string_view ns, std::string_view model) {
  std::lock_guard lock(mu_);
  auto it = models_.find(ModelKey(ns, model));
  if (it == models_.end()) {
    return;
  }
  ModelSeries& s = it->second;
  removeChecksLocked(s);
  if (s.promotions != nullptr) {
    promotions_.Remove(s.promotions);
  }
  if (s.retrains != nullptr) {
    retrains_.Remove(s.retrains);
  }
  for (const auto& [reason, counter] : s.rollbacks) {
    rollbacks_.Remove(counter);
  }
  models_.erase(it);
}

}  // namespace mlops::metrics
