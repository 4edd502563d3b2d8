#include "controllers/rollout/decide.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "controllers/rollout/serving.h"
#include "core/json_access.h"
#include "core/number_format.h"
#include "core/utf8.h"
#include "objects/canonical_json.h"
#include "objects/conditions.h"
#include "objects/sha256.h"
#include "objects/timestamps.h"

namespace mlops::rollout {
namespace {

using Json = nlohmann::json;
using std::chrono::milliseconds;

// Reasons this controller writes (status.reason, condition reasons, Events).
constexpr const char* kPromoting = "Promoting";
constexpr const char* kAnalysing = "Analysing";
constexpr const char* kRollingBack = "RollingBack";
constexpr const char* kInconclusive = "Inconclusive";
constexpr const char* kPolicyMissing = "PolicyMissing";
constexpr const char* kSuspended = "Suspended";
constexpr const char* kInvalidPolicy = "InvalidPolicy";
constexpr const char* kPrometheusConfig = "PrometheusConfigInvalid";
constexpr const char* kNameTaken = "NameTaken";
constexpr const char* kPreempted = "Preempted";

constexpr size_t kMeasurementsKept = 10;
// The CRD's maxLength for messages: a longer one (an API server's refusal can
// be long) would make the status write itself be refused, forever.
constexpr size_t kMaxMessageBytes = 32768;
// A backstop: Deployment and ModelVersion events wake the controller sooner.
constexpr milliseconds kWaitForDeployment{5'000};
// After a status write that moves a candidate on, the next step comes from
// the write's own watch event; this only covers a lost event.
constexpr milliseconds kContinueSoon{500};
constexpr milliseconds kRetryPrometheusConfig{60'000};

bool isPauseReason(const std::string& reason) {
  return reason == kInconclusive || reason == kPolicyMissing || reason == kSuspended ||
         reason == kInvalidPolicy || reason == kPrometheusConfig || reason == kNameTaken;
}

struct Version {
  const Json* object = nullptr;
  std::string name;
  int64_t number = 0;
  std::string stage;
  int64_t generation = 0;
  bool deleting = false;
  bool hasFinalizer = false;
  Json status;  // the desired status, starting from the current one
  bool touched = false;

  std::string phase() const { return stringMember(status, "phase"); }
  std::string reason() const { return stringMember(status, "reason"); }
  const Json& analysis() const { return member(status, "analysis"); }
};

int64_t integerOr(const Json& v, int64_t fallback) {
  return v.is_number_integer() ? v.get<int64_t>() : fallback;
}

std::string hashOf(const Json& object) {
  auto canonical = objects::canonicalJson(object);
  return canonical.ok() ? objects::sha256Hex(*canonical).substr(0, 16) : std::string();
}

std::string appliedHash(const std::optional<Json>& object) {
  if (!object) {
    return "";
  }
  return stringMember(member(member(*object, "metadata"), "annotations"), kAppliedHashAnnotation);
}

// "<FinalReason>: <message>" is how a decided rollback waits in status.reason
// RollingBack until the cluster shows it; the final reason is restored from it.
std::pair<std::string, std::string> splitIntent(const std::string& message) {
  const auto colon = message.find(": ");
  if (colon == std::string::npos || colon == 0 || message.find(' ') < colon) {
    return {"RolledBack", message};
  }
  return {message.substr(0, colon), message.substr(colon + 2)};
}

std::string describeMeasurement(const analysis::Measurement& m) {
  std::string text = "check " + m.check + ": ";
  if (m.value) {
    text += formatNumber(*m.value);
    if (m.verdict == analysis::Verdict::kFailed) {
      if (m.min && *m.value < *m.min) {
        text += " < min " + formatNumber(*m.min);
      } else if (m.max && *m.value > *m.max) {
        text += " > max " + formatNumber(*m.max);
      }
    } else {
      text += " within bounds";
    }
  } else {
    text += m.message.empty() ? std::string(analysis::verdictName(m.verdict)) : m.message;
  }
  if (m.value && !m.message.empty() && m.verdict != analysis::Verdict::kSuccessful) {
    text += " (" + m.message + ")";
  }
  return text + " [" + m.query + "]";
}

// The measurement that decided an evaluation: the first with its verdict.
const analysis::Measurement* decidingMeasurement(const analysis::Evaluation& e) {
  for (const auto& m : e.measurements) {
    if (m.verdict == e.verdict) {
      return &m;
    }
  }
  return nullptr;
}

analysis::Counters countersOf(const Json& a) {
  analysis::Counters c;
  c.successes = integerOr(member(a, "successes"), 0);
  c.failures = integerOr(member(a, "failures"), 0);
  c.inconclusives = integerOr(member(a, "inconclusives"), 0);
  c.errors = integerOr(member(a, "errors"), 0);
  c.consecutiveErrors = integerOr(member(a, "consecutiveErrors"), 0);
  return c;
}

void setCounters(Json& a, const analysis::Counters& c) {
  a["successes"] = c.successes;
  a["failures"] = c.failures;
  a["inconclusives"] = c.inconclusives;
  a["errors"] = c.errors;
  a["consecutiveErrors"] = c.consecutiveErrors;
}

Json newAnalysis(const char* kind) {
  Json a{{"kind", kind}, {"phase", "Running"}, {"checks", Json::array()}};
  setCounters(a, {});
  return a;
}

// Appends each measurement to its check's history, keeping the last ten.
void recordMeasurements(Json& a, const analysis::Evaluation& e) {
  Json& checks = a["checks"];
  if (!checks.is_array()) {
    checks = Json::array();
  }
  for (const auto& m : e.measurements) {
    auto it = std::find_if(checks.begin(), checks.end(),
                           [&](const Json& c) { return stringMember(c, "name") == m.check; });
    if (it == checks.end()) {
      checks.push_back(Json{{"name", m.check}, {"measurements", Json::array()}});
      it = checks.end() - 1;
    }
    Json& list = (*it)["measurements"];
    if (!list.is_array()) {
      list = Json::array();
    }
    list.push_back(analysis::measurementJson(m));
    while (list.size() > kMeasurementsKept) {
      list.erase(list.begin());
    }
  }
  if (checks.size() > 32) {  // the CRD's maxItems; a policy holds at most 32 checks
    checks.erase(checks.begin(), checks.end() - 32);
  }
}

class Decider {
 public:
  explicit Decider(const RolloutInput& in) : in_(in), now_(objects::formatTimestamp(in.now)) {}

  RolloutDecision run() {
    readVersions();
    if (in_.namespaceTerminating) {
      for (auto& v : versions_) {
        if (v.hasFinalizer) {
          out_.removeFinalizer.push_back(v.name);
        }
      }
      return std::move(out_);
    }
    parsePolicy();
    Version* production = pickProduction();
    if (production != nullptr && production->stage == "Archived") {
      decommission(*production);
      return finish(nullptr);
    }
    if (production != nullptr && production->reason() == kRollingBack) {
      production = restoreReplaced(*production);
      return finish(production);
    }
    Version* candidate = pickCandidate();
    preemptOthers(candidate, production);
    if (candidate != nullptr) {
      production = handleCandidate(*candidate, production);
    } else if (production != nullptr) {
      handleProduction(*production);
    }
    if (out_.evaluate || out_.confirmPolicyAbsent) {
      RolloutDecision only;
      only.evaluate = std::move(out_.evaluate);
      only.confirmPolicyAbsent = out_.confirmPolicyAbsent;
      return only;
    }
    return finish(production);
  }

 private:
  // ---- reading --------------------------------------------------------------

  void readVersions() {
    for (const Json& obj : in_.versions) {
      Version v;
      v.object = &obj;
      const Json& meta = member(obj, "metadata");
      const Json& spec = member(obj, "spec");
      v.name = stringMember(meta, "name");
      v.number = integerOr(member(spec, "version"), 0);
      v.stage = stringMember(spec, "stage");
      if (v.stage.empty()) {
        v.stage = "None";
      }
      v.generation = integerOr(member(meta, "generation"), 0);
      v.deleting = !stringMember(meta, "deletionTimestamp").empty();
      const Json& finalizers = member(meta, "finalizers");
      v.hasFinalizer =
          finalizers.is_array() && std::find(finalizers.begin(), finalizers.end(),
                                             std::string(kProtectionFinalizer)) != finalizers.end();
      v.status = member(obj, "status").is_object() ? member(obj, "status") : Json::object();
      versions_.push_back(std::move(v));
    }
    std::sort(versions_.begin(), versions_.end(),
              [](const Version& a, const Version& b) { return a.number < b.number; });
  }

  void parsePolicy() {
    if (!in_.policy) {
      return;
    }
    auto parsed = analysis::parseDriftPolicy(*in_.policy);
    if (parsed.ok()) {
      policy_ = std::move(*parsed);
    } else {
      policyError_ = parsed.error().message;
    }
  }

  Version* byNumber(int64_t number) {
    for (auto& v : versions_) {
      if (v.number == number) {
        return &v;
      }
    }
    return nullptr;
  }

  // The version in production: phase Production. Should a crash have left
  // two, the one the stable Deployment serves wins and the other is
  // Superseded.
  Version* pickProduction() {
    std::vector<Version*> found;
    for (auto& v : versions_) {
      if (v.phase() == "Production") {
        found.push_back(&v);
      }
    }
    if (found.empty()) {
      return nullptr;
    }
    Version* winner = found.back();
    const auto served = in_.stable ? servedVersion(*in_.stable) : std::nullopt;
    for (Version* v : found) {
      if (served && v->number == *served && v->reason() != kRollingBack) {
        winner = v;
      }
    }
    for (Version* v : found) {
      if (v == winner) {
        continue;
      }
      if (v->reason() == kRollingBack) {
        finishRollback(*v);  // a crash between the two writes of a restore
      } else {
        supersede(*v, winner->number, "Superseded");
      }
    }
    return winner;
  }

  // The highest version with stage Production, if it is still to be served.
  Version* pickCandidate() {
    Version* highest = nullptr;
    for (auto& v : versions_) {
      if (v.stage == "Production") {
        highest = &v;
      }
    }
    if (highest == nullptr || highest->deleting) {
      return nullptr;
    }
    const std::string phase = highest->phase();
    if (phase == "Production" || phase == "Superseded" || phase == "Archived" ||
        phase == "Invalid") {
      return nullptr;
    }
    const Json& rolledBack = member(highest->status, "rolledBackGeneration");
    if (rolledBack.is_number_integer() && rolledBack.get<int64_t>() == highest->generation) {
      return nullptr;
    }
    return highest;
  }

  // ---- status helpers -------------------------------------------------------

  void setPhase(Version& v, const std::string& phase, const std::string& reason,
                const std::string& message) {
    v.status["phase"] = phase;
    v.status["reason"] = reason;
    // Less 3 bytes: the "..." the cut appends.
    v.status["message"] = truncateUtf8(message, kMaxMessageBytes - 3);
    v.touched = true;
  }

  void event(const Version& v, bool warning, const std::string& reason,
             const std::string& message) {
    out_.events.push_back(RolloutEvent{v.name, warning, reason, message});
  }

  void requeue(milliseconds after) {
    if (!out_.requeueAfter || after < *out_.requeueAfter) {
      out_.requeueAfter = std::max(after, milliseconds(1));
    }
  }

  void supersede(Version& v, int64_t by, const std::string& reason) {
    setPhase(v, "Superseded", reason, "version " + std::to_string(by) + " is in production");
    v.status["supersededAt"] = now_;
  }

  // Moves a candidate to a pause that waits for a person or for the policy.
  void pause(Version& v, const char* reason, const std::string& message) {
    const bool changed = v.reason() != reason || stringMember(v.status, "message") != message;
    const std::string phase =
        v.phase() == "Canary" ? "Canary" : (v.phase().empty() ? "Registered" : v.phase());
    setPhase(v, phase, reason, message);
    if (changed) {
      event(v, true, reason, message);
    }
  }

  // ---- serving objects ------------------------------------------------------

  std::vector<Json> owners() const {
    std::vector<Json> list;
    for (const auto& v : versions_) {
      if (v.phase() != "Archived" && !v.deleting) {
        list.push_back(*v.object);
      }
    }
    return list;
  }

  // Adds an apply when what the object should be differs from what was last
  // applied (the hash annotation), so a settled model writes nothing.
  void applyIfChanged(Json object, const std::optional<Json>& current) {
    object["metadata"]["annotations"] = Json::object();
    const std::string hash = hashOf(object);
    object["metadata"]["annotations"][kAppliedHashAnnotation] = hash;
    if (appliedHash(current) != hash) {
      out_.apply.push_back(std::move(object));
      if (&current == &in_.stable) {
        stableApplied_ = true;
      } else if (&current == &in_.canary) {
        canaryApplied_ = true;
      }
    }
  }

  bool ensureDeployment(Version& v, std::string_view track, std::optional<int64_t> replicas,
                        const std::string& controller) {
    DeploymentParams params;
    params.track = track;
    params.replicas = replicas;
    params.progressDeadlineSeconds = policy_ ? policy_->analysis.progressDeadline.count() : 600;
    params.ownerReferences = ownerReferences(owners(), controller);
    auto rendered = renderDeployment(*v.object, params);
    if (!rendered.ok()) {
      markInvalid(v, rendered.error().message);
      return false;
    }
    if (const auto it = in_.rejectedServing.find(v.number); it != in_.rejectedServing.end()) {
      markInvalid(v, "the API server refused Deployment " + deploymentName(in_.model, track) +
                         ": " + it->second);
      return false;
    }
    applyIfChanged(std::move(*rendered), track == kTrackStable ? in_.stable : in_.canary);
    if (track == kTrackCanary) {
      canaryWanted_ = true;
    }
    return true;
  }

  bool ensureStable(Version& v, const std::string& controller) {
    const Json& replicas = member(member(member(*v.object, "spec"), "serving"), "replicas");
    const std::optional<int64_t> wanted =
        in_.stableAutoscaled ? std::nullopt : std::optional<int64_t>(integerOr(replicas, 1));
    if (!ensureDeployment(v, kTrackStable, wanted, controller)) {
      return false;
    }
    applyIfChanged(renderService(in_.ns, in_.model, ownerReferences(owners(), controller)),
                   in_.service);
    serviceWanted_ = true;
    stableWanted_ = true;
    return true;
  }

  void markInvalid(Version& v, const std::string& message) {
    if (v.phase() != "Invalid") {
      event(v, true, "InvalidServing", message);
    }
    setPhase(v, "Invalid", "InvalidServing", message);
  }

  // ---- the candidate --------------------------------------------------------

  Version* handleCandidate(Version& c, Version* production) {
    if (c.phase() == "RolledBack") {
      // Staged again after a rollback (its generation moved on): a new round.
      for (const char* field : {"analysis", "replacedVersion", "manualDecision"}) {
        c.status.erase(field);
      }
      setPhase(c, "Registered", "Staged", "staged for production again");
    }
    const auto served = in_.stable ? servedVersion(*in_.stable) : std::nullopt;
    const bool stableServesCandidate =
        served && *served == c.number && (production == nullptr || production->number != c.number);
    if (c.reason() == kRollingBack) {
      rollBackCandidate(c, production);
      return production;
    }
    if (c.reason() == kPromoting || stableServesCandidate) {
      return promote(c, production);
    }
    if (!in_.namesTaken.empty()) {
      std::string names;
      for (const auto& n : in_.namesTaken) {
        names += (names.empty() ? "" : ", ") + n;
      }
      pause(c, kNameTaken,
            names + " exists and is not managed by mlops-operator; it is never taken over");
      keepServing(production);
      return production;
    }
    if (production == nullptr) {
      setPhase(c, c.phase().empty() ? "Registered" : c.phase(), kPromoting,
               "nothing is in production: promoting directly");
      return promote(c, production);
    }
    if (!in_.policy) {
      if (c.phase() == "Canary") {
        pause(c, kPolicyMissing,
              "the DriftPolicy " + in_.model +
                  " was deleted during the canary: nothing is decided without evidence");
        keepCanary(c);
        keepServing(production);
        return production;
      }
      if (!in_.policyAbsentConfirmed) {
        out_.confirmPolicyAbsent = true;
        return production;
      }
      setPhase(c, c.phase().empty() ? "Registered" : c.phase(), kPromoting,
               "no DriftPolicy for model " + in_.model + ": rolling update");
      return promote(c, production);
    }
    if (!policy_) {
      pause(c, kInvalidPolicy, "DriftPolicy " + in_.model + ": " + policyError_);
      keepCanary(c);
      keepServing(production);
      return production;
    }
    if (policy_->suspend) {
      pause(c, kSuspended, "DriftPolicy " + in_.model + " is suspended");
      keepCanary(c);
      keepServing(production);
      return production;
    }
    analyseCanary(c, *production);
    return production;
  }

  void keepServing(Version* production) {
    if (production != nullptr) {
      ensureStable(*production, production->name);
    }
  }

  // A paused canary keeps running as it is: nothing decided, nothing removed.
  void keepCanary(const Version& c) {
    if (in_.canary && servedVersion(*in_.canary) == c.number) {
      canaryWanted_ = true;
    }
  }

  Version* promote(Version& c, Version* production) {
    if (c.reason() != kPromoting) {
      setPhase(c, c.phase().empty() ? "Registered" : c.phase(), kPromoting,
               "version " + std::to_string(c.number) + " is being rolled out to " + in_.model);
    }
    // Recorded before the swap, so that a crash between the two status
    // writes of the swap still knows what to bake against.
    if (production != nullptr && member(c.status, "replacedVersion") != production->number) {
      c.status["replacedVersion"] = production->number;
      c.touched = true;
    }
    keepCanary(c);  // the canary goes once the candidate serves on stable
    if (!ensureStable(c, c.name)) {
      return production;
    }
    if (stableApplied_ || !in_.stable) {
      requeue(kWaitForDeployment);
      return production;
    }
    const Availability avail = availabilityOf(*in_.stable);
    if (avail.deadlineExceeded) {
      decideRollback(c, "ProgressDeadlineExceeded",
                     "Deployment " + in_.model + " did not become available: " + avail.message);
      return production;
    }
    if (!avail.available) {
      c.status["message"] = "waiting for Deployment " + in_.model + ": " + avail.message;
      c.touched = true;
      requeue(kWaitForDeployment);
      return production;
    }
    // Available: the swap.
    canaryWanted_ = false;
    if (production != nullptr) {
      supersede(*production, c.number, "Superseded");
    }
    setPhase(c, "Production", "Promoted",
             "version " + std::to_string(c.number) + " serves as " + in_.model);
    c.status["promotedAt"] = now_;
    if (member(c.status, "replacedVersion").is_number_integer() && policy_ && !policy_->suspend) {
      c.status["analysis"] = newAnalysis("Bake");
      c.status["analysis"]["startedAt"] = now_;
    }
    event(c, false, "Promoted",
          "version " + std::to_string(c.number) + " is in production" +
              (production != nullptr
                   ? " (replacing version " + std::to_string(production->number) + ")"
                   : ""));
    return &c;
  }

  // Records the decision to roll back; the next reconcile carries it out
  // (rollBackCandidate), so a crash in between cannot promote again.
  void decideRollback(Version& c, const std::string& finalReason, const std::string& message) {
    setPhase(c, c.phase().empty() ? "Registered" : c.phase(), kRollingBack,
             finalReason + ": " + message);
    requeue(kContinueSoon);
  }

  void rollBackCandidate(Version& c, Version* production) {
    canaryWanted_ = false;
    if (production != nullptr) {
      ensureStable(*production, production->name);
    } else {
      stableWanted_ = false;  // a direct promotion that never became available
      serviceWanted_ = false;
    }
    finishRollback(c);
  }

  void finishRollback(Version& v) {
    const auto [finalReason, message] = splitIntent(stringMember(v.status, "message"));
    setPhase(v, "RolledBack", finalReason, message);
    v.status["rolledBackGeneration"] = v.generation;
    v.status["rolledBackAt"] = now_;
    event(v, true, "RolledBack", finalReason + ": " + message);
  }

  void analyseCanary(Version& c, Version& production) {
    if (c.phase() != "Canary") {
      setPhase(c, "Canary", kAnalysing, "canary started");
      c.status["analysis"] = newAnalysis("Canary");
      c.status.erase("manualDecision");
      event(c, false, "CanaryStarted",
            "version " + std::to_string(c.number) + " runs as " +
                deploymentName(in_.model, kTrackCanary));
    } else if (isPauseReason(c.reason()) && c.reason() != kInconclusive) {
      setPhase(c, "Canary", kAnalysing, "analysis resumed");
    }
    ensureStable(production, production.name);
    if (!ensureDeployment(c, kTrackCanary, policy_->analysis.canaryReplicas, production.name)) {
      canaryWanted_ = false;
      return;
    }
    if (c.reason() == kInconclusive) {
      actOnDecision(c);
      return;
    }
    if (canaryApplied_ || !in_.canary) {
      requeue(kWaitForDeployment);
      return;
    }
    const Availability avail = availabilityOf(*in_.canary);
    if (avail.deadlineExceeded) {
      decideRollback(c, "ProgressDeadlineExceeded",
                     "Deployment " + deploymentName(in_.model, kTrackCanary) +
                         " did not become available: " + avail.message);
      return;
    }
    if (!avail.available) {
      c.status["message"] = "waiting for the canary: " + avail.message;
      c.touched = true;
      requeue(kWaitForDeployment);
      return;
    }
    const auto availableSince = objects::parseTimestamp(avail.availableSince);
    auto due = (availableSince ? *availableSince : in_.now) + policy_->analysis.initialDelay;
    measure(c, due, "canary",
            [&](const analysis::Evaluation& e, const analysis::Counters& counters) {
              decideCanary(c, e, counters);
            });
  }

  // Evaluates when due (asking the controller to, on the first call), records
  // the measurements, and hands the evaluation to `decide`.
  template <typename Decide>
  void measure(Version& v, std::chrono::system_clock::time_point due, const char* track,
               Decide&& decide) {
    Json& a = v.status["analysis"];
    const auto counters = countersOf(a);
    const auto last = objects::parseTimestamp(stringMember(a, "lastEvaluationTime"));
    if (last) {
      const auto lastVerdict = counters.consecutiveErrors > 0 ? analysis::Verdict::kError
                                                              : analysis::Verdict::kSuccessful;
      due = std::max(due, *last + analysis::nextEvaluationDelay(lastVerdict, policy_->analysis));
    }
    if (in_.now < due) {
      requeue(std::chrono::duration_cast<milliseconds>(due - in_.now));
      return;
    }
    if (in_.prometheusConfigError) {
      pause(v, kPrometheusConfig, *in_.prometheusConfigError);
      requeue(kRetryPrometheusConfig);
      return;
    }
    if (!in_.evaluation) {
      out_.evaluate = EvaluationRequest{
          v.name, policy_->analysis.checks,
          analysis::Placeholders{in_.model, std::to_string(v.number), in_.ns, track},
          policy_->prometheus};
      return;
    }
    const analysis::Evaluation& e = *in_.evaluation;
    const auto next = analysis::countEvaluation(counters, e.verdict);
    setCounters(a, next);
    recordMeasurements(a, e);
    a["lastEvaluationTime"] = now_;
    if (stringMember(a, "startedAt").empty()) {
      a["startedAt"] = now_;
    }
    v.touched = true;
    decide(e, next);
  }

  void decideCanary(Version& c, const analysis::Evaluation& e, const analysis::Counters& counters) {
    Json& a = c.status["analysis"];
    const auto outcome = analysis::decideAnalysis(counters, policy_->analysis);
    const analysis::Measurement* deciding = decidingMeasurement(e);
    const std::string evidence = deciding != nullptr ? describeMeasurement(*deciding) : "no checks";
    a["phase"] = std::string(analysis::outcomeName(outcome));
    switch (outcome) {
      case analysis::Outcome::kRunning:
        c.status["message"] = std::to_string(counters.successes) + " of " +
                              std::to_string(policy_->analysis.count) +
                              " successful evaluations; last: " + evidence;
        requeue(analysis::nextEvaluationDelay(e.verdict, policy_->analysis));
        return;
      case analysis::Outcome::kSuccessful:
        setPhase(c, "Canary", kPromoting,
                 std::to_string(counters.successes) + " successful evaluations");
        event(c, false, "AnalysisSuccessful",
              std::to_string(counters.successes) + " successful evaluations; last: " + evidence);
        requeue(kContinueSoon);
        return;
      case analysis::Outcome::kFailed:
        event(c, true, "AnalysisFailed", evidence);
        decideRollback(c, "AnalysisFailed", evidence);
        return;
      case analysis::Outcome::kError:
        event(c, true, "AnalysisError", evidence);
        decideRollback(c, "AnalysisError", evidence);
        return;
      case analysis::Outcome::kInconclusive:
        pause(c, kInconclusive,
              "analysis inconclusive (" + evidence + "); set the annotation " +
                  std::string(kDecisionAnnotation) + " to promote or rollback");
        return;
    }
  }

  void actOnDecision(Version& c) {
    const std::string decision = stringMember(member(member(*c.object, "metadata"), "annotations"),
                                              std::string(kDecisionAnnotation).c_str());
    if (decision != "promote" && decision != "rollback") {
      return;  // paused until a person decides
    }
    c.status["manualDecision"] = Json{{"decision", decision}, {"time", now_}};
    event(c, false, "ManualDecision",
          "acting on " + std::string(kDecisionAnnotation) + ": " + decision);
    if (decision == "promote") {
      setPhase(c, "Canary", kPromoting,
               "promoted by the annotation " + std::string(kDecisionAnnotation));
      requeue(kContinueSoon);
    } else {
      decideRollback(c, "ManualRollback",
                     "rolled back by the annotation " + std::string(kDecisionAnnotation));
    }
  }

  // Versions left in flight by a newer candidate: Superseded, Preempted.
  void preemptOthers(const Version* candidate, const Version* production) {
    for (auto& v : versions_) {
      if (&v == candidate || &v == production) {
        continue;
      }
      const std::string phase = v.phase();
      const std::string reason = v.reason();
      const bool inFlight = phase == "Canary" || (phase == "Registered" &&
                                                  (reason == kPromoting || reason == kRollingBack));
      if (inFlight && candidate != nullptr && v.number < candidate->number) {
        supersede(v, candidate->number, kPreempted);
        v.status["message"] = "preempted by version " + std::to_string(candidate->number);
        event(v, false, kPreempted, "preempted by version " + std::to_string(candidate->number));
      }
    }
  }

  // ---- production -----------------------------------------------------------

  void handleProduction(Version& p) {
    if (!ensureStable(p, p.name)) {
      return;
    }
    const Json& a = member(p.status, "analysis");
    if (stringMember(a, "kind") != "Bake" || stringMember(a, "phase") != "Running") {
      return;
    }
    const auto promotedAt = objects::parseTimestamp(stringMember(p.status, "promotedAt"));
    const auto start = promotedAt ? *promotedAt : in_.now;
    const auto end =
        start + (policy_ ? policy_->analysis.bakeTime : analysis::AnalysisSpec{}.bakeTime);
    if (in_.now < end && (!policy_ || policy_->suspend)) {
      requeue(std::chrono::duration_cast<milliseconds>(end - in_.now));
      return;  // no evidence, no decision; bake resumes with the policy
    }
    if (in_.now >= end) {
      p.status["analysis"]["phase"] = "Successful";
      p.touched = true;
      event(p, false, "BakeSucceeded", "no failed check during the bake time");
      return;
    }
    requeue(std::chrono::duration_cast<milliseconds>(end - in_.now));
    measure(p, start + policy_->analysis.initialDelay, "stable",
            [&](const analysis::Evaluation& e, const analysis::Counters& counters) {
              // Errors and inconclusives during bake never roll back.
              if (counters.failures <= policy_->analysis.failureLimit) {
                requeue(analysis::nextEvaluationDelay(e.verdict, policy_->analysis));
                return;
              }
              const analysis::Measurement* deciding = decidingMeasurement(e);
              const std::string evidence =
                  deciding != nullptr ? describeMeasurement(*deciding) : "failed evaluation";
              p.status["analysis"]["phase"] = "Failed";
              event(p, true, "BakeFailed", evidence);
              setPhase(p, "Production", kRollingBack, "BakeFailed: " + evidence);
              requeue(kContinueSoon);
            });
  }

  // A bake that failed: the version it replaced serves again.
  Version* restoreReplaced(Version& p) {
    const Json& replaced = member(p.status, "replacedVersion");
    Version* r = replaced.is_number_integer() ? byNumber(replaced.get<int64_t>()) : nullptr;
    if (r == nullptr || r->deleting || r->phase() == "Archived") {
      const auto [finalReason, message] = splitIntent(stringMember(p.status, "message"));
      setPhase(p, "Production", finalReason,
               message + "; the replaced version is gone, so version " + std::to_string(p.number) +
                   " stays in production");
      ensureStable(p, p.name);
      return &p;
    }
    if (!ensureStable(*r, r->name)) {
      return &p;
    }
    setPhase(*r, "Production", "Restored",
             "restored: version " + std::to_string(p.number) + " failed its bake");
    r->status["promotedAt"] = now_;
    finishRollback(p);
    event(*r, false, "Restored",
          "version " + std::to_string(r->number) + " is in production again");
    return r;
  }

  void decommission(Version& p) {
    stableWanted_ = false;
    serviceWanted_ = false;
    canaryWanted_ = false;
    setPhase(p, "Archived", "Decommissioned",
             "stage Archived: " + in_.model + " is no longer served");
    event(p, false, "Decommissioned", in_.model + " and its Service are removed");
  }

  // ---- finishing ------------------------------------------------------------

  void retention() {
    int64_t keep = in_.options.retentionKeep;
    if (policy_ && policy_->retentionKeep) {
      keep = *policy_->retentionKeep;
    }
    int64_t kept = 0;
    for (auto it = versions_.rbegin(); it != versions_.rend(); ++it) {
      const std::string phase = it->phase();
      if (phase != "Superseded" && phase != "RolledBack") {
        continue;
      }
      if (++kept > keep) {
        setPhase(
            *it, "Archived", "Retention",
            "beyond the newest " + std::to_string(keep) + " superseded or rolled-back versions");
      }
    }
  }

  void setConditions(Version& v) {
    const std::string phase = v.phase();
    const std::string reason = v.reason();
    const std::string message = stringMember(v.status, "message");
    std::string ready = "False";
    std::string reconciling = "False";
    std::string stalled = "False";
    const bool settled = (phase == "Production" && reason != kRollingBack) ||
                         phase == "Superseded" || phase == "Archived";
    if (settled) {
      ready = "True";
    } else if (phase == "RolledBack" || phase == "Invalid" || isPauseReason(reason)) {
      stalled = "True";
    } else {
      reconciling = "True";
    }
    Json& conditions = v.status["conditions"];
    objects::setCondition(conditions, {"Ready", ready, reason.empty() ? phase : reason, message},
                          v.generation, now_);
    objects::setCondition(conditions,
                          {"Reconciling", reconciling, reason.empty() ? phase : reason, message},
                          v.generation, now_);
    objects::setCondition(conditions,
                          {"Stalled", stalled, reason.empty() ? phase : reason, message},
                          v.generation, now_);
    v.status["observedGeneration"] = v.generation;
  }

  RolloutDecision finish(Version* production) {
    retention();
    for (auto& v : versions_) {
      const bool shouldHold = &v == production && v.phase() == "Production" && !v.deleting;
      if (shouldHold && !v.hasFinalizer) {
        out_.addFinalizer.push_back(v.name);
      }
      if (v.hasFinalizer && (v.phase() != "Production" || (v.deleting && &v != production))) {
        out_.removeFinalizer.push_back(v.name);
      }
    }
    if (in_.canary && !canaryWanted_) {
      out_.remove.push_back({"Deployment", deploymentName(in_.model, kTrackCanary)});
    }
    if (in_.stable && !stableWanted_) {
      out_.remove.push_back({"Deployment", deploymentName(in_.model, kTrackStable)});
    }
    if (in_.service && !serviceWanted_) {
      out_.remove.push_back({"Service", serviceName(in_.model)});
    }
    for (auto& v : versions_) {
      if (!v.touched) {
        continue;
      }
      setConditions(v);
      if (v.status != member(*v.object, "status")) {
        Json object = *v.object;
        object["status"] = v.status;
        out_.statuses.push_back(StatusWrite{v.name, std::move(object)});
      }
    }
    return std::move(out_);
  }

  const RolloutInput& in_;
  const std::string now_;
  std::vector<Version> versions_;
  std::optional<analysis::DriftPolicySpec> policy_;
  std::string policyError_;
  RolloutDecision out_;
  bool stableWanted_ = false;
  bool canaryWanted_ = false;
  bool serviceWanted_ = false;
  bool stableApplied_ = false;
  bool canaryApplied_ = false;
};

}  // namespace

RolloutDecision decideRollout(const RolloutInput& input) {
  return Decider(input).run();
}

}  // namespace mlops::rollout
