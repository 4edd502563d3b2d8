#include "controllers/drift/decide.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <utility>

#include "core/json_access.h"
#include "core/number_format.h"
#include "core/utf8.h"
#include "objects/conditions.h"
#include "objects/metadata.h"
#include "objects/phases.h"
#include "objects/timestamps.h"

namespace mlops::drift {
namespace {

using Json = nlohmann::json;
using std::chrono::milliseconds;
using Clock = std::chrono::system_clock;

constexpr const char* kApiVersion = "mlops.dev/v1alpha1";
constexpr std::string_view kLabelModel = "mlops.dev/model";
constexpr std::string_view kLabelManagedBy = "app.kubernetes.io/managed-by";
constexpr size_t kMaxRunName = 52;  // the TrainingRun CRD's limit
// The CRDs' maxLength for messages; less 3 bytes for the "..." of a cut.
constexpr size_t kMaxMessageBytes = 32768 - 3;

constexpr const char* kPhaseHealthy = "Healthy";
constexpr const char* kPhaseDrifting = "Drifting";
constexpr const char* kPhaseRetraining = "Retraining";
constexpr const char* kPhaseDegraded = "Degraded";
constexpr const char* kPhaseSuspended = "Suspended";

int64_t integerOr(const Json& v, int64_t fallback) {
  return v.is_number_integer() ? v.get<int64_t>() : fallback;
}

std::optional<int64_t> parseCount(const std::string& text) {
  int64_t n = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, n);
  if (ec != std::errc() || ptr != end || n < 1) {
    return std::nullopt;
  }
  return n;
}

struct Run {
  std::string name;
  int64_t trigger = 0;  // 0: no valid trigger label
  std::string check;
  std::string created;  // metadata.creationTimestamp
  bool finished = false;
};

Json measurementEntry(const analysis::Measurement& m, int64_t breaches) {
  Json out = analysis::measurementJson(m);
  out["name"] = m.check;
  out["consecutiveBreaches"] = breaches;
  return out;
}

// What broke a measurement's bounds, for messages: "0.3 > max 0.1".
std::string describe(const Json& entry) {
  std::string text = "check " + stringMember(entry, "name") + ": ";
  const Json& value = member(entry, "value");
  if (value.is_number()) {
    text += formatNumber(value.get<double>());
    const Json& min = member(entry, "min");
    const Json& max = member(entry, "max");
    if (min.is_number() && value.get<double>() < min.get<double>()) {
      text += " < min " + formatNumber(min.get<double>());
    } else if (max.is_number() && value.get<double>() > max.get<double>()) {
      text += " > max " + formatNumber(max.get<double>());
    }
  } else {
    text += stringMember(entry, "message").empty() ? stringMember(entry, "verdict")
                                                   : stringMember(entry, "message");
  }
  return text;
}

class Decider {
 public:
  explicit Decider(const DriftInput& in)
      : in_(in), now_(objects::formatTimestamp(in.now)), name_(objects::nameOf(in.policy)) {
    const Json& status = member(in.policy, "status");
    previous_ = status.is_object() ? status : Json::object();
    status_ = previous_;
  }

  DriftDecision run() {
    status_["observedGeneration"] = objects::generationOf(in_.policy);
    auto parsed = analysis::parseDriftPolicy(in_.policy);
    if (!parsed.ok()) {
      degraded(kReasonInvalidPolicy, "invalid policy: " + parsed.error().message, true);
      return finish();
    }
    spec_ = std::move(*parsed);
    readRuns();
    adoptRecordedRuns();
    if (spec_.suspend) {
      setPhase(kPhaseSuspended, "Suspended", "the policy is suspended: nothing is evaluated");
      setConditions("False", "False", "True", "Suspended");
      return finish();
    }
    if (!spec_.drift) {
      status_.erase("checks");
      healthy("NoDriftChecks", "the policy has no drift section: nothing to watch for drift");
      return finish();
    }
    const Json* production = productionVersion();
    if (production == nullptr) {
      healthy("NoProductionVersion",
              "no version of " + spec_.model + " is in production: nothing to judge");
      return finish();
    }
    const int64_t version = integerOr(member(member(*production, "spec"), "version"), 0);
    prepareChecks(version);
    if (due() && !in_.evaluation && !in_.prometheusConfigError) {
      DriftDecision ask;
      ask.evaluate = EvaluationRequest{
          spec_.drift->checks,
          analysis::Placeholders{spec_.model, std::to_string(version), in_.ns, "stable"},
          spec_.prometheus};
      return ask;
    }
    if (in_.evaluation) {
      count(*in_.evaluation);
      if (auto create = considerTrigger(version)) {
        DriftDecision ask;
        ask.createRun = std::move(*create);
        return ask;
      }
    }
    settlePhase();
    return finish();
  }

 private:
  // ---- reading --------------------------------------------------------------

  void readRuns() {
    for (const Json& obj : in_.runs) {
      Run r;
      r.name = objects::nameOf(obj);
      r.trigger = parseCount(objects::labelOf(obj, std::string(kLabelTrigger))).value_or(0);
      r.check = objects::labelOf(obj, std::string(kLabelCheck));
      r.created = stringMember(member(obj, "metadata"), "creationTimestamp");
      r.finished =
          objects::TrainingRunPhase::isFinished(stringMember(member(obj, "status"), "phase"));
      runs_.push_back(std::move(r));
    }
  }

  // A run created before a crash took the status write with it: the runs
  // themselves say how many triggers there were.
  void adoptRecordedRuns() {
    retrainCount_ = integerOr(member(status_, "retrainCount"), 0);
    const Run* newest = nullptr;
    for (const Run& r : runs_) {
      if (r.trigger > retrainCount_ && (newest == nullptr || r.trigger > newest->trigger)) {
        newest = &r;
      }
    }
    if (newest != nullptr) {
      recordRetrain(newest->trigger, newest->created.empty() ? now_ : newest->created, newest->name,
                    newest->check);
    }
    status_["retrainCount"] = retrainCount_;
  }

  void recordRetrain(int64_t n, const std::string& time, const std::string& run,
                     const std::string& check) {
    retrainCount_ = n;
    status_["retrainCount"] = n;
    status_["lastRetrain"] = Json{{"time", time}, {"trainingRun", run}, {"check", check}};
  }

  // The version in production: the highest with status.phase Production.
  const Json* productionVersion() const {
    const Json* found = nullptr;
    int64_t highest = 0;
    for (const Json& v : in_.versions) {
      const int64_t number = integerOr(member(member(v, "spec"), "version"), 0);
      if (stringMember(member(v, "status"), "phase") == objects::ModelVersionPhase::kProduction &&
          number > highest) {
        found = &v;
        highest = number;
      }
    }
    return found;
  }

  // status.checks holds one entry per drift check of the spec, in its order;
  // a production version other than the one counted for starts from zero.
  void prepareChecks(int64_t version) {
    versionChanged_ = integerOr(member(previous_, "productionVersion"), 0) != version;
    const Json& old = member(previous_, "checks");
    Json checks = Json::array();
    for (const auto& check : spec_.drift->checks) {
      Json entry{{"name", check.name}, {"consecutiveBreaches", 0}};
      if (!versionChanged_ && old.is_array()) {
        for (const Json& e : old) {
          if (stringMember(e, "name") == check.name) {
            entry = e;
          }
        }
      }
      checks.push_back(std::move(entry));
    }
    status_["checks"] = std::move(checks);
    status_["productionVersion"] = version;
  }

  bool lastHadError() const {
    for (const Json& e : status_["checks"]) {
      if (stringMember(e, "verdict") == analysis::verdictName(analysis::Verdict::kError)) {
        return true;
      }
    }
    return stringMember(previous_, "reason") == kReasonPrometheusConfig;
  }

  milliseconds delayAfterLast() const {
    const milliseconds interval = spec_.drift->interval;
    return lastHadError() ? std::min(interval, kErrorRetry) : interval;
  }

  // Whether the checks are to be evaluated now; when not, sets the requeue
  // for when they are.
  bool due() {
    if (versionChanged_ || integerOr(member(previous_, "observedGeneration"), -1) !=
                               objects::generationOf(in_.policy)) {
      return true;
    }
    const auto last = objects::parseTimestamp(stringMember(previous_, "lastEvaluationTime"));
    if (!last) {
      return true;
    }
    const auto next = *last + delayAfterLast();
    if (in_.now >= next) {
      return true;
    }
    requeue(std::chrono::duration_cast<milliseconds>(next - in_.now));
    return false;
  }

  // ---- counting and triggering ----------------------------------------------

  void count(const analysis::Evaluation& evaluation) {
    Json& checks = status_["checks"];
    for (const auto& m : evaluation.measurements) {
      for (Json& entry : checks) {
        if (stringMember(entry, "name") != m.check) {
          continue;
        }
        const int64_t breaches = analysis::nextConsecutiveBreaches(
            integerOr(member(entry, "consecutiveBreaches"), 0), m.verdict);
        entry = measurementEntry(m, breaches);
      }
    }
    status_["lastEvaluationTime"] = now_;
    out_.measured = evaluation.measurements;
  }

  int64_t unfinishedRuns() const {
    return std::count_if(runs_.begin(), runs_.end(), [](const Run& r) { return !r.finished; });
  }

  // The check that triggers now: the first that failed in this evaluation
  // and has reached breachAfter. An Error or Inconclusive keeps a count but
  // never triggers: an outage is not evidence.
  const Json* breachingCheck() const {
    for (const Json& e : status_["checks"]) {
      if (stringMember(e, "verdict") == analysis::verdictName(analysis::Verdict::kFailed) &&
          integerOr(member(e, "consecutiveBreaches"), 0) >= spec_.drift->breachAfter) {
        return &e;
      }
    }
    return nullptr;
  }

  // Why a breach at breachAfter does not trigger now ("" when it may):
  // maxConcurrent runs unfinished, or the cooldown since the last trigger.
  std::string holdReason() const {
    const auto& retrain = *spec_.drift->retrain;
    const int64_t unfinished = unfinishedRuns();
    if (unfinished >= retrain.maxConcurrent) {
      return "retraining waits: " + std::to_string(unfinished) +
             " triggered run(s) unfinished (maxConcurrent " +
             std::to_string(retrain.maxConcurrent) + ")";
    }
    const auto last = objects::parseTimestamp(stringMember(member(status_, "lastRetrain"), "time"));
    if (last && in_.now < *last + retrain.cooldown) {
      return "retraining waits for the cooldown until " +
             objects::formatTimestamp(Clock::time_point(
                 std::chrono::time_point_cast<Clock::duration>(*last + retrain.cooldown)));
    }
    return "";
  }

  // The TrainingRun to create for a trigger now, or nullopt (no trigger,
  // held by maxConcurrent or cooldown, or the outcome of the create is
  // already in the input and recorded here).
  std::optional<Json> considerTrigger(int64_t version) {
    const Json* breach = breachingCheck();
    if (breach == nullptr || !spec_.drift->retrain || !holdReason().empty()) {
      return std::nullopt;
    }
    const std::string check = stringMember(*breach, "name");
    const int64_t n = retrainCount_ + 1;
    const std::string name = runName(name_, n);
    if (!in_.created) {
      return trainingRun(name, n, check, version);
    }
    const std::string why = describe(*breach) + ", " +
                            std::to_string(integerOr(member(*breach, "consecutiveBreaches"), 0)) +
                            " consecutive breaches on version " + std::to_string(version);
    if (in_.created->kind == CreateOutcome::Kind::kFailed) {
      createError_ = "creating TrainingRun " + name + " failed: " + in_.created->message;
      event(true, kReasonRetrainFailed, why + "; " + createError_);
      return std::nullopt;
    }
    recordRetrain(n, now_, name, check);
    runs_.push_back(Run{name, n, check, now_, false});
    if (in_.created->kind == CreateOutcome::Kind::kCreated) {
      out_.retrainCreated = true;
      event(false, kReasonRetrainTriggered, why + ": created TrainingRun " + name);
    }
    return std::nullopt;
  }

  Json trainingRun(const std::string& name, int64_t n, const std::string& check,
                   int64_t version) const {
    const auto& retrain = *spec_.drift->retrain;
    Json spec = retrain.templateSpec.is_object() ? retrain.templateSpec : Json::object();
    spec["model"] = spec_.model;
    spec["promotion"] = retrain.promotion;
    Json labels{{std::string(kLabelModel), spec_.model},
                {std::string(kLabelPolicy), name_},
                {std::string(kLabelCheck), check},
                {std::string(kLabelJudgedVersion), std::to_string(version)},
                {std::string(kLabelTrigger), std::to_string(n)},
                {std::string(kLabelManagedBy), "mlops-operator"}};
    return Json{{"apiVersion", kApiVersion},
                {"kind", "TrainingRun"},
                {"metadata", {{"name", name}, {"namespace", in_.ns}, {"labels", labels}}},
                {"spec", std::move(spec)}};
  }

  // ---- phase and conditions -------------------------------------------------

  void settlePhase() {
    if (in_.prometheusConfigError) {
      status_["lastEvaluationTime"] = now_;
      degraded(kReasonPrometheusConfig,
               "Prometheus cannot be queried: " + *in_.prometheusConfigError, true);
      requeue(spec_.drift->interval);
      return;
    }
    if (!in_.evaluation && stringMember(previous_, "reason") == kReasonPrometheusConfig) {
      // Not evaluated again yet: the last finding stands.
      degraded(kReasonPrometheusConfig, stringMember(previous_, "message"), true);
      return;
    }
    for (const Json& e : status_["checks"]) {
      if (stringMember(e, "verdict") == analysis::verdictName(analysis::Verdict::kError)) {
        // Prometheus's errorType leads its message; bad_data is a query it
        // refuses, which only a person can fix.
        const bool invalid = stringMember(e, "message").rfind("bad_data", 0) == 0;
        degraded(invalid ? kReasonQueryInvalid : kReasonPrometheusError,
                 describe(e) + " (nothing is triggered while a check cannot be evaluated)",
                 invalid);
        afterEvaluation();
        return;
      }
    }
    afterEvaluation();
    if (breachingCheck() != nullptr && spec_.drift->retrain) {
      const std::string hold = holdReason();
      waitNote_ = hold.empty() ? "" : "; " + hold;
    }
    const int64_t unfinished = unfinishedRuns();
    const Json& lastRetrain = member(status_, "lastRetrain");
    if (unfinished > 0) {
      std::string message = std::to_string(unfinished) + " retraining run(s) unfinished";
      if (!stringMember(lastRetrain, "trainingRun").empty()) {
        message += "; last: TrainingRun " + stringMember(lastRetrain, "trainingRun") + " (check " +
                   stringMember(lastRetrain, "check") + ")";
      }
      setPhase(kPhaseRetraining, "Retraining", message + waitNote_ + createNote());
      setConditions("False", "True", "False", "Retraining");
      return;
    }
    std::string breaches;
    for (const Json& e : status_["checks"]) {
      const int64_t n = integerOr(member(e, "consecutiveBreaches"), 0);
      if (n > 0) {
        breaches += (breaches.empty() ? "" : "; ") + describe(e) + ", " + std::to_string(n) +
                    " consecutive breach(es) (breachAfter " +
                    std::to_string(spec_.drift->breachAfter) + ")";
      }
    }
    if (!breaches.empty()) {
      setPhase(kPhaseDrifting, "Drifting", breaches + waitNote_ + createNote());
      setConditions("False", "True", "False", "Drifting");
      return;
    }
    healthy("Healthy", "version " + std::to_string(integerOr(status_["productionVersion"], 0)) +
                           ": every drift check passes" + createNote());
  }

  std::string createNote() const { return createError_.empty() ? "" : "; " + createError_; }

  void afterEvaluation() {
    if (in_.evaluation) {
      requeue(in_.evaluation->verdict == analysis::Verdict::kError
                  ? std::min(spec_.drift->interval, kErrorRetry)
                  : spec_.drift->interval);
    }
    if (!createError_.empty()) {
      requeue(std::min(spec_.drift->interval, kErrorRetry));
    }
  }

  void healthy(const char* reason, const std::string& message) {
    setPhase(kPhaseHealthy, reason, message);
    setConditions("True", "False", "False", reason);
  }

  // Degraded; an Event when the finding is new (not on every evaluation).
  void degraded(const char* reason, const std::string& message, bool stalled) {
    const std::string cut = truncateUtf8(message, kMaxMessageBytes);
    if (stringMember(previous_, "reason") != reason || stringMember(previous_, "message") != cut) {
      event(true, reason, cut);
    }
    setPhase(kPhaseDegraded, reason, message);
    setConditions("False", "False", stalled ? "True" : "False", reason);
  }

  void setPhase(const char* phase, const std::string& reason, const std::string& message) {
    status_["phase"] = phase;
    status_["reason"] = reason;
    status_["message"] = truncateUtf8(message, kMaxMessageBytes);
  }

  void setConditions(const char* ready, const char* reconciling, const char* stalled,
                     const std::string& reason) {
    Json& conditions = status_["conditions"];
    const int64_t generation = objects::generationOf(in_.policy);
    const std::string message = stringMember(status_, "message");
    objects::setCondition(conditions, {"Ready", ready, reason, message}, generation, now_);
    objects::setCondition(conditions, {"Reconciling", reconciling, reason, message}, generation,
                          now_);
    objects::setCondition(conditions, {"Stalled", stalled, reason, message}, generation, now_);
  }

  void event(bool warning, const std::string& reason, const std::string& message) {
    out_.events.push_back(DriftEvent{warning, reason, truncateUtf8(message, kMaxMessageBytes)});
  }

  void requeue(milliseconds after) {
    after = std::max(after, milliseconds(1));
    if (!out_.requeueAfter || after < *out_.requeueAfter) {
      out_.requeueAfter = after;
    }
  }

  DriftDecision finish() {
    out_.status = std::move(status_);
    return std::move(out_);
  }

  const DriftInput& in_;
  const std::string now_;
  const std::string name_;
  Json previous_;
  Json status_;
  analysis::DriftPolicySpec spec_;
  std::vector<Run> runs_;
  int64_t retrainCount_ = 0;
  bool versionChanged_ = false;
  std::string waitNote_;
  std::string createError_;
  DriftDecision out_;
};

}  // namespace

std::string runName(const std::string& policy, int64_t n) {
  const std::string suffix = "-retrain-" + std::to_string(n);
  std::string prefix =
      policy.substr(0, kMaxRunName > suffix.size() ? kMaxRunName - suffix.size() : 0);
  // A name must end with an alphanumeric before the suffix's dash.
  while (!prefix.empty() && prefix.back() == '-') {
    prefix.pop_back();
  }
  return prefix + suffix;
}

DriftDecision decideDrift(const DriftInput& input) {
  return Decider(input).run();
}

}  // namespace mlops::drift
