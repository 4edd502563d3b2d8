// parseDriftPolicy and parseDuration (analysis.h): a DriftPolicy object as
// plain data, DESIGN.md's defaults filled in, and every invalid field an
// Error that names it. The messages reach users as status conditions, so
// each says which field, what was found and what is allowed.
#include "analysis/analysis.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <utility>

#include "core/json_access.h"
#include "core/number_format.h"
#include "prometheus/parse.h"

namespace mlops::analysis {
namespace {

using Json = nlohmann::json;
using std::chrono::milliseconds;

Error invalid(const std::string& field, const std::string& what) {
  return makeError(ErrorCode::kInvalidArgument, prometheus::cutMessage(field + ": " + what, 512));
}

// A value from the object, quoted in a message: short and valid UTF-8.
std::string quoted(const Json& v) {
  const std::string text = v.is_string() ? "\"" + v.get<std::string>() + "\""
                                         : v.dump(-1, ' ', false, Json::error_handler_t::replace);
  return prometheus::cutMessage(text, 64);
}

// member() for an optional field: nullptr when absent or null (a
// merge-patch null removes a field, so it reads as absent).
const Json* optionalMember(const Json& obj, const char* key) {
  const Json& v = member(obj, key);
  return v.is_null() ? nullptr : &v;
}

Result<const Json*> optionalObject(const Json& obj, const char* key, const std::string& field) {
  const Json* v = optionalMember(obj, key);
  if (v != nullptr && !v->is_object()) {
    return invalid(field, "must be an object, got " + quoted(*v));
  }
  return v;
}

Result<int64_t> integerField(const Json& obj, const char* key, const std::string& field,
                             int64_t defaultValue, int64_t minimum) {
  const Json* v = optionalMember(obj, key);
  if (v == nullptr) {
    return defaultValue;
  }
  int64_t value = 0;
  if (v->is_number_unsigned()) {
    if (v->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) {
      return invalid(field, quoted(*v) + " is too large");
    }
    value = v->get<int64_t>();
  } else if (v->is_number_integer()) {
    value = v->get<int64_t>();
  } else if (v->is_number_float() && std::floor(v->get<double>()) == v->get<double>() &&
             std::fabs(v->get<double>()) <= std::numeric_limits<int32_t>::max()) {
    // 5.0 is an integer to JSON's users; the API server may pass it on.
    value = static_cast<int64_t>(v->get<double>());
  } else {
    return invalid(field, "must be an integer, got " + quoted(*v));
  }
  if (value < minimum) {
    return invalid(
        field, "must be at least " + std::to_string(minimum) + ", got " + std::to_string(value));
  }
  if (value > std::numeric_limits<int32_t>::max()) {
    return invalid(field, quoted(*v) + " is too large");
  }
  return value;
}

Result<bool> boolField(const Json& obj, const char* key, const std::string& field,
                       bool defaultValue) {
  const Json* v = optionalMember(obj, key);
  if (v == nullptr) {
    return defaultValue;
  }
  if (!v->is_boolean()) {
    return invalid(field, "must be true or false, got " + quoted(*v));
  }
  return v->get<bool>();
}

Result<std::string> stringField(const Json& obj, const char* key, const std::string& field,
                                const std::string& defaultValue) {
  const Json* v = optionalMember(obj, key);
  if (v == nullptr) {
    return defaultValue;
  }
  if (!v->is_string()) {
    return invalid(field, "must be a string, got " + quoted(*v));
  }
  return v->get<std::string>();
}

enum class ZeroDuration { kAllowed, kRefused };

Result<milliseconds> durationField(const Json& obj, const char* key, const std::string& field,
                                   milliseconds defaultValue, ZeroDuration zero) {
  const Json* v = optionalMember(obj, key);
  if (v == nullptr) {
    return defaultValue;
  }
  if (!v->is_string()) {
    return invalid(field, "must be a duration string such as \"30s\", got " + quoted(*v));
  }
  Result<milliseconds> d = parseDuration(v->get<std::string>());
  if (!d.ok()) {
    return invalid(field, quoted(*v) + " is not a duration (" + d.error().message + ")");
  }
  // An interval or timeout of zero would query Prometheus in a busy loop or
  // never wait for it: the schema's pattern allows "0s", this does not.
  if (zero == ZeroDuration::kRefused && *d <= milliseconds::zero()) {
    return invalid(field, "must be longer than 0, got " + quoted(*v));
  }
  return d;
}

Result<std::optional<double>> boundField(const Json& check, const char* key,
                                         const std::string& field) {
  const Json* v = optionalMember(check, key);
  if (v == nullptr) {
    return std::optional<double>();
  }
  if (!v->is_number()) {
    return invalid(field, "must be a number, got " + quoted(*v));
  }
  return std::optional<double>(v->get<double>());
}

Result<OnNoData> onNoDataField(const Json& check, const std::string& field) {
  Result<std::string> text = stringField(check, "onNoData", field, "Inconclusive");
  if (!text.ok()) {
    return text.error();
  }
  if (*text == "Inconclusive") {
    return OnNoData::kInconclusive;
  }
  if (*text == "Fail") {
    return OnNoData::kFail;
  }
  if (*text == "Pass") {
    return OnNoData::kPass;
  }
  return invalid(field, "must be Inconclusive, Fail or Pass, got " + quoted(Json(*text)));
}

Result<Check> parseCheck(const Json& item, const std::string& field) {
  if (!item.is_object()) {
    return invalid(field, "must be an object, got " + quoted(item));
  }
  Check c;
  const Json& name = member(item, "name");
  if (!name.is_string() || name.get<std::string>().empty()) {
    return invalid(field + ".name", name.is_null() ? "is required" : "must be a non-empty string");
  }
  c.name = name.get<std::string>();
  // From here on the check's name helps the user find it in a long list.
  const std::string named = field + " (" + prometheus::cutMessage(c.name, 64) + ")";
  const Json& query = member(item, "query");
  if (!query.is_string() || query.get<std::string>().empty()) {
    return invalid(named + ".query",
                   query.is_null() ? "is required" : "must be a non-empty string");
  }
  c.query = query.get<std::string>();
  Result<std::optional<double>> min = boundField(item, "min", named + ".min");
  if (!min.ok()) {
    return min.error();
  }
  Result<std::optional<double>> max = boundField(item, "max", named + ".max");
  if (!max.ok()) {
    return max.error();
  }
  c.min = *min;
  c.max = *max;
  if (!c.min && !c.max) {
    return invalid(named, "has neither min nor max; a check needs min, max or both");
  }
  if (c.min && c.max && *c.min > *c.max) {
    return invalid(named,
                   "min " + formatNumber(*c.min) + " is greater than max " + formatNumber(*c.max));
  }
  Result<OnNoData> onNoData = onNoDataField(item, named + ".onNoData");
  if (!onNoData.ok()) {
    return onNoData.error();
  }
  c.onNoData = *onNoData;
  return c;
}

Result<std::vector<Check>> parseChecks(const Json& parent, const std::string& field) {
  std::vector<Check> checks;
  const Json* list = optionalMember(parent, "checks");
  if (list == nullptr) {
    return checks;
  }
  if (!list->is_array()) {
    return invalid(field, "must be a list, got " + quoted(*list));
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const std::string itemField = field + "[" + std::to_string(i) + "]";
    Result<Check> c = parseCheck((*list)[i], itemField);
    if (!c.ok()) {
      return c.error();
    }
    if (!names.insert(c->name).second) {
      return invalid(itemField + " (" + prometheus::cutMessage(c->name, 64) + ")",
                     "duplicate name; check names must be unique in a list");
    }
    checks.push_back(std::move(*c));
  }
  return checks;
}

Result<PrometheusSpec> parsePrometheus(const Json& spec) {
  PrometheusSpec out;
  Result<const Json*> obj = optionalObject(spec, "prometheus", "spec.prometheus");
  if (!obj.ok()) {
    return obj.error();
  }
  if (*obj == nullptr) {
    return out;
  }
  const Json& p = **obj;
  Result<std::string> url = stringField(p, "url", "spec.prometheus.url", "");
  if (!url.ok()) {
    return url.error();
  }
  if (!url->empty() && url->rfind("http://", 0) != 0 && url->rfind("https://", 0) != 0) {
    return invalid("spec.prometheus.url",
                   quoted(Json(*url)) + " must start with http:// or https://");
  }
  out.url = std::move(*url);
  Result<milliseconds> timeout =
      durationField(p, "timeout", "spec.prometheus.timeout", out.timeout, ZeroDuration::kRefused);
  if (!timeout.ok()) {
    return timeout.error();
  }
  out.timeout = *timeout;
  Result<bool> insecure =
      boolField(p, "insecureSkipVerify", "spec.prometheus.insecureSkipVerify", false);
  if (!insecure.ok()) {
    return insecure.error();
  }
  out.insecureSkipVerify = *insecure;
  const std::string refField = "spec.prometheus.bearerTokenSecretRef";
  Result<const Json*> ref = optionalObject(p, "bearerTokenSecretRef", refField);
  if (!ref.ok()) {
    return ref.error();
  }
  if (*ref != nullptr) {
    SecretKeyRef r;
    Result<std::string> name = stringField(**ref, "name", refField + ".name", "");
    if (!name.ok()) {
      return name.error();
    }
    if (name->empty()) {
      return invalid(refField + ".name", "is required");
    }
    Result<std::string> key = stringField(**ref, "key", refField + ".key", "token");
    if (!key.ok()) {
      return key.error();
    }
    if (key->empty()) {
      return invalid(refField + ".key", "must not be empty");
    }
    r.name = std::move(*name);
    r.key = std::move(*key);
    out.bearerTokenSecretRef = std::move(r);
  }
  return out;
}

Result<AnalysisSpec> parseAnalysis(const Json& spec) {
  AnalysisSpec out;
  Result<const Json*> obj = optionalObject(spec, "analysis", "spec.analysis");
  if (!obj.ok()) {
    return obj.error();
  }
  if (*obj == nullptr) {
    return out;
  }
  const Json& a = **obj;
  Result<std::vector<Check>> checks = parseChecks(a, "spec.analysis.checks");
  if (!checks.ok()) {
    return checks.error();
  }
  out.checks = std::move(*checks);

  struct DurationField {
    const char* key;
    milliseconds* target;
    ZeroDuration zero;
  };
  const DurationField durations[] = {
      {"interval", &out.interval, ZeroDuration::kRefused},
      {"initialDelay", &out.initialDelay, ZeroDuration::kAllowed},
      {"bakeTime", &out.bakeTime, ZeroDuration::kAllowed},
  };
  for (const DurationField& f : durations) {
    Result<milliseconds> d =
        durationField(a, f.key, std::string("spec.analysis.") + f.key, *f.target, f.zero);
    if (!d.ok()) {
      return d.error();
    }
    *f.target = *d;
  }

  struct IntegerField {
    const char* key;
    int64_t* target;
    int64_t minimum;
  };
  int64_t progressDeadlineSeconds = out.progressDeadline.count();
  const IntegerField integers[] = {
      {"count", &out.count, 1},
      {"failureLimit", &out.failureLimit, 0},
      {"inconclusiveLimit", &out.inconclusiveLimit, 0},
      {"consecutiveErrorLimit", &out.consecutiveErrorLimit, 0},
      {"canaryReplicas", &out.canaryReplicas, 1},
      {"progressDeadlineSeconds", &progressDeadlineSeconds, 1},
  };
  for (const IntegerField& f : integers) {
    Result<int64_t> v =
        integerField(a, f.key, std::string("spec.analysis.") + f.key, *f.target, f.minimum);
    if (!v.ok()) {
      return v.error();
    }
    *f.target = *v;
  }
  out.progressDeadline = std::chrono::seconds(progressDeadlineSeconds);
  return out;
}

Result<std::optional<RetrainSpec>> parseRetrain(const Json& drift) {
  const std::string field = "spec.drift.retrain";
  Result<const Json*> obj = optionalObject(drift, "retrain", field);
  if (!obj.ok()) {
    return obj.error();
  }
  if (*obj == nullptr) {
    return std::optional<RetrainSpec>();
  }
  const Json& r = **obj;
  RetrainSpec out;
  const Json& templateSpec = member(r, "template");
  if (!templateSpec.is_object()) {
    return invalid(field + ".template", templateSpec.is_null()
                                            ? "is required"
                                            : "must be an object, got " + quoted(templateSpec));
  }
  out.templateSpec = templateSpec;
  Result<milliseconds> cooldown =
      durationField(r, "cooldown", field + ".cooldown", out.cooldown, ZeroDuration::kAllowed);
  if (!cooldown.ok()) {
    return cooldown.error();
  }
  out.cooldown = *cooldown;
  Result<int64_t> maxConcurrent =
      integerField(r, "maxConcurrent", field + ".maxConcurrent", out.maxConcurrent, 1);
  if (!maxConcurrent.ok()) {
    return maxConcurrent.error();
  }
  out.maxConcurrent = *maxConcurrent;
  // The effective promotion: retrain.promotion wins over the template's,
  // which wins over the TrainingRun default (Manual).
  const bool inRetrain = optionalMember(r, "promotion") != nullptr;
  const Json& source = inRetrain ? r : templateSpec;
  const std::string promotionField =
      inRetrain ? field + ".promotion" : field + ".template.promotion";
  Result<std::string> promotion = stringField(source, "promotion", promotionField, "Manual");
  if (!promotion.ok()) {
    return promotion.error();
  }
  if (*promotion != "Manual" && *promotion != "Automatic") {
    return invalid(promotionField, "must be Manual or Automatic, got " + quoted(Json(*promotion)));
  }
  out.promotion = std::move(*promotion);
  return std::optional<RetrainSpec>(std::move(out));
}

Result<std::optional<DriftSpec>> parseDrift(const Json& spec) {
  Result<const Json*> obj = optionalObject(spec, "drift", "spec.drift");
  if (!obj.ok()) {
    return obj.error();
  }
  if (*obj == nullptr) {
    return std::optional<DriftSpec>();
  }
  const Json& d = **obj;
  DriftSpec out;
  Result<std::vector<Check>> checks = parseChecks(d, "spec.drift.checks");
  if (!checks.ok()) {
    return checks.error();
  }
  out.checks = std::move(*checks);
  Result<milliseconds> interval =
      durationField(d, "interval", "spec.drift.interval", out.interval, ZeroDuration::kRefused);
  if (!interval.ok()) {
    return interval.error();
  }
  out.interval = *interval;
  Result<int64_t> breachAfter =
      integerField(d, "breachAfter", "spec.drift.breachAfter", out.breachAfter, 1);
  if (!breachAfter.ok()) {
    return breachAfter.error();
  }
  out.breachAfter = *breachAfter;
  Result<std::optional<RetrainSpec>> retrain = parseRetrain(d);
  if (!retrain.ok()) {
    return retrain.error();
  }
  out.retrain = std::move(*retrain);
  return std::optional<DriftSpec>(std::move(out));
}

Result<DriftPolicySpec> parseSpec(const Json& spec) {
  DriftPolicySpec out;
  const Json& model = member(spec, "model");
  if (!model.is_string() || model.get<std::string>().empty()) {
    return invalid("spec.model", model.is_null() ? "is required" : "must be a non-empty string");
  }
  out.model = model.get<std::string>();
  Result<bool> suspend = boolField(spec, "suspend", "spec.suspend", false);
  if (!suspend.ok()) {
    return suspend.error();
  }
  out.suspend = *suspend;
  Result<PrometheusSpec> prometheus = parsePrometheus(spec);
  if (!prometheus.ok()) {
    return prometheus.error();
  }
  out.prometheus = std::move(*prometheus);
  Result<AnalysisSpec> analysis = parseAnalysis(spec);
  if (!analysis.ok()) {
    return analysis.error();
  }
  out.analysis = std::move(*analysis);
  Result<std::optional<DriftSpec>> drift = parseDrift(spec);
  if (!drift.ok()) {
    return drift.error();
  }
  out.drift = std::move(*drift);
  Result<const Json*> retention = optionalObject(spec, "retention", "spec.retention");
  if (!retention.ok()) {
    return retention.error();
  }
  if (*retention != nullptr && optionalMember(**retention, "keep") != nullptr) {
    Result<int64_t> keep = integerField(**retention, "keep", "spec.retention.keep", 0, 0);
    if (!keep.ok()) {
      return keep.error();
    }
    out.retentionKeep = *keep;
  }
  return out;
}

// One "<number><unit>" term of a duration; false when `text` at `pos` is not
// one. Adds its length in milliseconds (fractions below 1 ms are dropped) to
// `total`, refusing a sum that would not fit.
bool readDurationTerm(std::string_view text, std::size_t& pos, int64_t& total, std::string& why) {
  constexpr int kMaxFractionDigits = 9;  // far below a millisecond for every unit
  const std::size_t start = pos;
  uint64_t whole = 0;
  while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
    if (whole > (std::numeric_limits<uint64_t>::max() - 9) / 10) {
      why = "too long";
      return false;
    }
    whole = whole * 10 + static_cast<uint64_t>(text[pos] - '0');
    ++pos;
  }
  if (pos == start) {
    why = "expected a number at position " + std::to_string(start + 1);
    return false;
  }
  uint64_t fraction = 0;
  uint64_t scale = 1;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const std::size_t fractionStart = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (pos - fractionStart < kMaxFractionDigits) {
        fraction = fraction * 10 + static_cast<uint64_t>(text[pos] - '0');
        scale *= 10;
      }
      ++pos;
    }
    if (pos == fractionStart) {
      why = "expected a digit after the decimal point";
      return false;
    }
  }
  uint64_t unitMs = 0;
  if (text.substr(pos, 2) == "ms") {
    unitMs = 1;
    pos += 2;
  } else if (pos < text.size() && text[pos] == 's') {
    unitMs = 1000;
    ++pos;
  } else if (pos < text.size() && text[pos] == 'm') {
    unitMs = 60'000;
    ++pos;
  } else if (pos < text.size() && text[pos] == 'h') {
    unitMs = 3'600'000;
    ++pos;
  } else {
    why = "a unit (ms, s, m or h) must follow every number";
    return false;
  }
  const auto limit = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (whole > limit / unitMs) {
    why = "too long";
    return false;
  }
  const uint64_t term = whole * unitMs + fraction * unitMs / scale;
  if (term > limit - static_cast<uint64_t>(total)) {
    why = "too long";
    return false;
  }
  total += static_cast<int64_t>(term);
  return true;
}

}  // namespace

Result<std::chrono::milliseconds> parseDuration(std::string_view text) {
  if (text.empty()) {
    return makeError(ErrorCode::kInvalidArgument, "a duration must not be empty");
  }
  int64_t total = 0;
  std::size_t pos = 0;
  std::string why;
  while (pos < text.size()) {
    if (!readDurationTerm(text, pos, total, why)) {
      return makeError(ErrorCode::kInvalidArgument,
                       why +
                           "; a duration is numbers with units ms, s, m or h, such as "
                           "\"90s\", \"1.5m\" or \"1h30m\"");
    }
  }
  return std::chrono::milliseconds(total);
}

Result<DriftPolicySpec> parseDriftPolicy(const nlohmann::json& policy) {
  try {
    if (!policy.is_object()) {
      return invalid("DriftPolicy", "must be an object");
    }
    const Json& spec = member(policy, "spec");
    if (spec.is_object()) {
      return parseSpec(spec);
    }
    // A bare spec (no "spec" member, a "model" at the top) is accepted too.
    if (spec.is_null() && policy.contains("model")) {
      return parseSpec(policy);
    }
    return invalid("spec", spec.is_null() ? "is required" : "must be an object");
  } catch (const std::exception& e) {
    // Every access above checks types first; this is a fence, not a path.
    return invalid("spec", std::string("cannot be read: ") + e.what());
  }
}

}  // namespace mlops::analysis
