// The DomainRecorder (domain_recorder.h) on prometheus-cpp: the counters and
// the check gauge of DESIGN.md "Architecture", each with a `namespace` label.
//
//   mlops_promotions_total{namespace,model}
//   mlops_rollbacks_total{namespace,model,reason}
//   mlops_retrains_total{namespace,model}
//   mlops_check_value{namespace,model,check}          (NaN: evaluated, no value)
//   mlops_check_evaluations_total{namespace,model,check,verdict}
//
// Cardinality is bounded by the live objects: modelForgotten() removes the
// model's check series, modelGone() every series of the model. Label values
// come from object names and the controllers' fixed reasons and verdicts.
//
// Thread safe: every call holds one mutex, so that a series is never removed
// between being looked up and being changed by another thread.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "metrics/domain_recorder.h"

namespace mlops::metrics {

class PrometheusDomainRecorder final : public DomainRecorder {
 public:
  // Registers the families on `registry`, which must outlive the recorder.
  explicit PrometheusDomainRecorder(::prometheus::Registry& registry);
  PrometheusDomainRecorder(const PrometheusDomainRecorder&) = delete;
  PrometheusDomainRecorder& operator=(const PrometheusDomainRecorder&) = delete;

  void promoted(std::string_view ns, std::string_view model) override;
  void rolledBack(std::string_view ns, std::string_view model, std::string_view reason) override;
  void retrainTriggered(std::string_view ns, std::string_view model) override;
  void checkEvaluated(std::string_view ns, std::string_view model, std::string_view check,
                      std::string_view verdict, std::optional<double> value) override;
  void modelForgotten(std::string_view ns, std::string_view model) override;
  void modelGone(std::string_view ns, std::string_view model) override;

 private:
  // The series of one model, so that they can be removed together.
  struct ModelSeries {
    ::prometheus::Counter* promotions = nullptr;
    ::prometheus::Counter* retrains = nullptr;
    std::map<std::string, ::prometheus::Counter*, std::less<>> rollbacks;  // by reason
    std::map<std::string, ::prometheus::Gauge*, std::less<>> checkValues;  // by check
    std::map<std::pair<std::string, std::string>, ::prometheus::Counter*>
        evaluations;  // by (check, verdict)
  };
  using ModelKey = std::pair<std::string, std::string>;  // namespace, model

  ModelSeries& seriesLocked(std::string_view ns, std::string_view model);
  void removeChecksLocked(ModelSeries& series);

  std::mutex mu_;
  ::prometheus::Family<::prometheus::Counter>& promotions_;
  ::prometheus::Family<::prometheus::Counter>& rollbacks_;
  ::prometheus::Family<::prometheus::Counter>& retrains_;
  ::prometheus::Family<::prometheus::Gauge>& checkValue_;
  ::prometheus::Family<::prometheus::Counter>& checkEvaluations_;
  std::map<ModelKey, ModelSeries> models_;  // guarded by mu_
};

}  // namespace mlops::metrics
