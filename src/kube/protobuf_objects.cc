#include "kube/protobuf_objects.h"

#include <cstdio>
#include <optional>
#include <string>
#include <utility>

#include "kube/client.h"
#include "kube/protobuf_wire.h"
#include "kube/utf8.h"

namespace mlops::kube {
namespace {

using Json = nlohmann::json;
using pb::Field;
using pb::WireType;

// The first error of one decoding: every step returns false once it is set.
class Decoding {
 public:
  bool fail(std::string why) {
    if (error_.empty()) {
      error_ = std::move(why);
    }
    return false;
  }
  const std::string& error() const { return error_; }

 private:
  std::string error_;
};

// Calls onField for each field of `bytes` (a message named `what`); false
// when the bytes are malformed or onField returned false.
template <typename OnField>
bool eachField(std::string_view bytes, const char* what, Decoding& d, OnField&& onField) {
  pb::Reader reader(bytes);
  while (std::optional<Field> f = reader.next()) {
    if (!onField(*f)) {
      return false;
    }
  }
  if (reader.failed()) {
    return d.fail(std::string(what) + ": " + reader.failure());
  }
  return true;
}

bool expect(const Field& f, WireType type, const char* what, Decoding& d) {
  if (f.type == type) {
    return true;
  }
  return d.fail(std::string(what) + ": field " + std::to_string(f.number) +
                " has the wrong wire type");
}

// omitEmpty: Go's omitempty, the field is left out of JSON when "".
bool setString(const Field& f, Json& out, const char* key, const char* what, Decoding& d,
               bool omitEmpty = true) {
  if (!expect(f, WireType::kBytes, what, d)) {
    return false;
  }
  if (!f.bytes.empty() || !omitEmpty) {
    out[key] = toValidUtf8(f.bytes);
  }
  return true;
}

bool appendString(const Field& f, Json& list, const char* what, Decoding& d) {
  if (!expect(f, WireType::kBytes, what, d)) {
    return false;
  }
  list.push_back(toValidUtf8(f.bytes));
  return true;
}

// omitEmpty: left out when 0 (a plain int with omitempty); without it, as a
// pointer or a plain int without omitempty is: written whenever present.
bool setInt32(const Field& f, Json& out, const char* key, const char* what, Decoding& d,
              bool omitEmpty) {
  if (!expect(f, WireType::kVarint, what, d)) {
    return false;
  }
  if (pb::asInt32(f) != 0 || !omitEmpty) {
    out[key] = pb::asInt32(f);
  }
  return true;
}

bool setInt64(const Field& f, Json& out, const char* key, const char* what, Decoding& d,
              bool omitEmpty) {
  if (!expect(f, WireType::kVarint, what, d)) {
    return false;
  }
  if (pb::asInt64(f) != 0 || !omitEmpty) {
    out[key] = pb::asInt64(f);
  }
  return true;
}

bool setBool(const Field& f, Json& out, const char* key, const char* what, Decoding& d) {
  if (!expect(f, WireType::kVarint, what, d)) {
    return false;
  }
  out[key] = pb::asBool(f);
  return true;
}

// A metav1.Time: seconds since the epoch (field 1; nanoseconds are not part
// of the JSON form). The zero time is encoded as an empty message and is
// null in JSON. (So is the epoch itself, which the encoding cannot tell
// apart; no object of this operator's carries it.)
bool setTime(const Field& f, Json& out, const char* key, const char* what, Decoding& d) {
  if (!expect(f, WireType::kBytes, what, d)) {
    return false;
  }
  int64_t seconds = 0;
  const bool read = eachField(f.bytes, what, d, [&](const Field& t) {
    if (t.number != 1) {
      return true;
    }
    if (!expect(t, WireType::kVarint, what, d)) {
      return false;
    }
    seconds = pb::asInt64(t);
    return true;
  });
  if (!read) {
    return false;
  }
  if (seconds == 0) {
    out[key] = nullptr;
    return true;
  }
  Result<std::string> text = rfc3339FromUnixSeconds(seconds);
  if (!text.ok()) {
    return d.fail(std::string(what) + ": " + key + ": " + text.error().message);
  }
  out[key] = std::move(*text);
  return true;
}

// One entry of a map<string, string>: key (1) and value (2).
bool addMapEntry(const Field& f, Json& map, const char* what, Decoding& d) {
  if (!expect(f, WireType::kBytes, what, d)) {
    return false;
  }
  Json entry = Json::object();
  const bool read = eachField(f.bytes, what, d, [&](const Field& e) {
    if (e.number == 1) {
      return setString(e, entry, "key", what, d, false);
    }
    if (e.number == 2) {
      return setString(e, entry, "value", what, d, false);
    }
    return true;
  });
  if (!read) {
    return false;
  }
  map[entry.value("key", "")] = entry.value("value", "");
  return true;
}

bool addOwnerReference(const Field& f, Json& owners, Decoding& d) {
  const char* what = "metadata.ownerReferences";
  if (!expect(f, WireType::kBytes, what, d)) {
    return false;
  }
  Json ref = {{"apiVersion", ""}, {"kind", ""}, {"name", ""}, {"uid", ""}};
  const bool read = eachField(f.bytes, what, d, [&](const Field& o) {
    switch (o.number) {
      case 1:
        return setString(o, ref, "kind", what, d, false);
      case 3:
        return setString(o, ref, "name", what, d, false);
      case 4:
        return setString(o, ref, "uid", what, d, false);
      case 5:
        return setString(o, ref, "apiVersion", what, d, false);
      case 6:
        return setBool(o, ref, "controller", what, d);
      case 7:
        return setBool(o, ref, "blockOwnerDeletion", what, d);
      default:
        return true;
    }
  });
  if (!read) {
    return false;
  }
  owners.push_back(std::move(ref));
  return true;
}

bool decodeObjectMeta(const Field& f, Json& meta, Decoding& d) {
  const char* what = "metadata";
  if (!expect(f, WireType::kBytes, what, d)) {
    return false;
  }
  meta = {{"creationTimestamp", nullptr}};
  Json labels = Json::object();
  Json annotations = Json::object();
  Json owners = Json::array();
  Json finalizers = Json::array();
  const bool read = eachField(f.bytes, what, d, [&](const Field& m) {
    switch (m.number) {
      case 1:
        return setString(m, meta, "name", what, d);
      case 2:
        return setString(m, meta, "generateName", what, d);
      case 3:
        return setString(m, meta, "namespace", what, d);
      case 5:
        return setString(m, meta, "uid", what, d);
      case 6:
        return setString(m, meta, "resourceVersion", what, d);
      case 7:
        return setInt64(m, meta, "generation", what, d, true);
      case 8:
        return setTime(m, meta, "creationTimestamp", what, d);
      case 9:
        return setTime(m, meta, "deletionTimestamp", what, d);
      case 10:
        return setInt64(m, meta, "deletionGracePeriodSeconds", what, d, false);
      case 11:
        return addMapEntry(m, labels, "metadata.labels", d);
      case 12:
        return addMapEntry(m, annotations, "metadata.annotations", d);
      case 13:
        return addOwnerReference(m, owners, d);
      case 14:
        return appendString(m, finalizers, "metadata.finalizers", d);
      default:
        return true;
    }
  });
  if (!read) {
    return false;
  }
  if (!labels.empty()) {
    meta["labels"] = std::move(labels);
  }
  if (!annotations.empty()) {
    meta["annotations"] = std::move(annotations);
  }
  if (!owners.empty()) {
    meta["ownerReferences"] = std::move(owners);
  }
  if (!finalizers.empty()) {
    meta["finalizers"] = std::move(finalizers);
  }
  return true;
}

bool addJobCondition(const Field& f, Json& conditions, Decoding& d) {
  const char* what = "status.conditions";
  if (!expect(f, WireType::kBytes, what, d)) {
    return false;
  }
  Json c = {
      {"type", ""}, {"status", ""}, {"lastProbeTime", nullptr}, {"lastTransitionTime", nullptr}};
  const bool read = eachField(f.bytes, what, d, [&](const Field& x) {
    switch (x.number) {
      case 1:
        return setString(x, c, "type", what, d, false);
      case 2:
        return setString(x, c, "status", what, d, false);
      case 3:
        return setTime(x, c, "lastProbeTime", what, d);
      case 4:
        return setTime(x, c, "lastTransitionTime", what, d);
      case 5:
        return setString(x, c, "reason", what, d);
      case 6:
        return setString(x, c, "message", what, d);
      default:
        return true;
    }
  });
  if (!read) {
    return false;
  }
  conditions.push_back(std::move(c));
  return true;
}

bool decodeJobStatus(const Field& f, Json& status, Decoding& d) {
  const char* what = "status";
  if (!expect(f, WireType::kBytes, what, d)) {
    return false;
  }
  Json conditions = Json::array();
  const bool read = eachField(f.bytes, what, d, [&](const Field& s) {
    switch (s.number) {
      case 1:
        return addJobCondition(s, conditions, d);
      case 2:
        return setTime(s, status, "startTime", what, d);
      case 3:
        return setTime(s, status, "completionTime", what, d);
      case 4:
        return setInt32(s, status, "active", what, d, true);
      case 5:
        return setInt32(s, status, "succeeded", what, d, true);
      case 6:
        return setInt32(s, status, "failed", what, d, true);
      case 9:
        return setInt32(s, status, "ready", what, d, false);
      case 11:
        return setInt32(s, status, "terminating", what, d, false);
      default:
        return true;
    }
  });
  if (!read) {
    return false;
  }
  if (!conditions.empty()) {
    status["conditions"] = std::move(conditions);
  }
  return true;
}

bool decodeJobSpec(const Field& f, Json& spec, Decoding& d) {
  const char* what = "spec";
  if (!expect(f, WireType::kBytes, what, d)) {
    return false;
  }
  return eachField(f.bytes, what, d, [&](const Field& s) {
    return s.number == 10 ? setBool(s, spec, "suspend", what, d) : true;
  });
}

// A ContainerState: one of waiting (1), running (2), terminated (3).
bool decodeContainerState(const Field& f, Json& state, Decoding& d) {
  const char* what = "status.containerStatuses.state";
  if (!expect(f, WireType::kBytes, what, d)) {
    return false;
  }
  state = Json::object();
  return eachField(f.bytes, what, d, [&](const Field& s) {
    if (s.number < 1 || s.number > 3) {
      return true;
    }
    if (!expect(s, WireType::kBytes, what, d)) {
      return false;
    }
    if (s.number == 1) {
      state["waiting"] = Json::object();
      return eachField(s.bytes, what, d, [&](const Field& w) {
        if (w.number == 1) {
          return setString(w, state["waiting"], "reason", what, d);
        }
        if (w.number == 2) {
          return setString(w, state["waiting"], "message", what, d);
        }
        return true;
      });
    }
    if (s.number == 2) {
      state["running"] = {{"startedAt", nullptr}};
      return eachField(s.bytes, what, d, [&](const Field& r) {
        return r.number == 1 ? setTime(r, state["running"], "startedAt", what, d) : true;
      });
    }
    Json& t = state["terminated"];
    t = {{"exitCode", 0}, {"startedAt", nullptr}, {"finishedAt", nullptr}};
    return eachField(s.bytes, what, d, [&](const Field& x) {
      switch (x.number) {
        case 1:
          return setInt32(x, t, "exitCode", what, d, false);
        case 2:
          return setInt32(x, t, "signal", what, d, true);
        case 3:
          return setString(x, t, "reason", what, d);
        case 4:
          return setString(x, t, "message", what, d);
        case 5:
          return setTime(x, t, "startedAt", what, d);
        case 6:
          return setTime(x, t, "finishedAt", what, d);
        case 7:
          return setString(x, t, "containerID", what, d);
        default:
          return true;
      }
    });
  });
}

bool addContainerStatus(const Field& f, Json& statuses, Decoding& d) {
  const char* what = "status.containerStatuses";
  if (!expect(f, WireType::kBytes, what, d)) {
    return false;
  }
  Json cs = {{"name", ""},     {"state", Json::object()}, {"lastState", Json::object()},
             {"ready", false}, {"restartCount", 0},       {"image", ""},
             {"imageID", ""}};
  const bool read = eachField(f.bytes, what, d, [&](const Field& c) {
    switch (c.number) {
      case 1:
        return setString(c, cs, "name", what, d, false);
      case 2:
        return decodeContainerState(c, cs["state"], d);
      case 3:
        return decodeContainerState(c, cs["lastState"], d);
      case 4:
        return setBool(c, cs, "ready", what, d);
      case 5:
        return setInt32(c, cs, "restartCount", what, d, false);
      case 6:
        return setString(c, cs, "image", what, d, false);
      case 7:
        return setString(c, cs, "imageID", what, d, false);
      case 8:
        return setString(c, cs, "containerID", what, d);
      case 9:
        return setBool(c, cs, "started", what, d);
      default:
        return true;
    }
  });
  if (!read) {
    return false;
  }
  statuses.push_back(std::move(cs));
  return true;
}

bool decodePodStatus(const Field& f, Json& status, Decoding& d) {
  const char* what = "status";
  if (!expect(f, WireType::kBytes, what, d)) {
    return false;
  }
  Json containers = Json::array();
  Json initContainers = Json::array();
  const bool read = eachField(f.bytes, what, d, [&](const Field& s) {
    switch (s.number) {
      case 1:
        return setString(s, status, "phase", what, d);
      case 3:
        return setString(s, status, "message", what, d);
      case 4:
        return setString(s, status, "reason", what, d);
      case 7:
        return setTime(s, status, "startTime", what, d);
      case 8:
        return addContainerStatus(s, containers, d);
      case 10:
        return addContainerStatus(s, initContainers, d);
      default:
        return true;
    }
  });
  if (!read) {
    return false;
  }
  if (!containers.empty()) {
    status["containerStatuses"] = std::move(containers);
  }
  if (!initContainers.empty()) {
    status["initContainerStatuses"] = std::move(initContainers);
  }
  return true;
}

// A Job or Pod: metadata (1), spec (2), status (3).
template <typename DecodeSpec, typename DecodeStatus>
Result<Json> decodeObject(std::string_view message, const char* apiVersion, const char* kind,
                          DecodeSpec&& decodeSpec, DecodeStatus&& decodeStatus) {
  Decoding d;
  Json obj = {{"apiVersion", apiVersion},
              {"kind", kind},
              {"metadata", {{"creationTimestamp", nullptr}}},
              {"status", Json::object()}};
  const bool read = eachField(message, kind, d, [&](const Field& f) {
    switch (f.number) {
      case 1:
        return decodeObjectMeta(f, obj["metadata"], d);
      case 2:
        return decodeSpec(f, obj, d);
      case 3:
        return decodeStatus(f, obj["status"], d);
      default:
        return true;
    }
  });
  if (!read) {
    Error e = makeError(ErrorCode::kInternal,
                        std::string("decoding a ") + kind + " from protobuf: " + d.error());
    e.reason = std::string(kProtobufUndecodable);
    return e;
  }
  return obj;
}

}  // namespace

Result<Json> decodeJobProtobuf(std::string_view message) {
  return decodeObject(
      message, "batch/v1", "Job",
      [](const Field& f, Json& job, Decoding& d) {
        job["spec"] = Json::object();
        return decodeJobSpec(f, job["spec"], d);
      },
      decodeJobStatus);
}

Result<Json> decodePodProtobuf(std::string_view message) {
  // The pod's spec is not decoded: nothing this operator caches reads it.
  return decodeObject(
      message, "v1", "Pod", [](const Field&, Json&, Decoding&) { return true; }, decodePodStatus);
}

Result<std::string> rfc3339FromUnixSeconds(int64_t seconds) {
  constexpr int64_t kYear0 = -62167219200;      // 0000-01-01T00:00:00Z
  constexpr int64_t kYear10000 = 253402300800;  // 10000-01-01T00:00:00Z
  if (seconds < kYear0 || seconds >= kYear10000) {
    return makeError(ErrorCode::kInvalidArgument,
                     "time " + std::to_string(seconds) + " s is outside the years 0000-9999");
  }
  constexpr int64_t kDay = 86400;
  int64_t days = seconds / kDay;
  int64_t rest = seconds % kDay;
  if (rest < 0) {
    rest += kDay;
    days -= 1;
  }
  // Days since 1970-01-01 to a civil date, on the proleptic Gregorian
  // calendar: count from 0000-03-01 so that the leap day ends each year,
  // in 400-year eras of 146097 days.
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t dayOfEra = z - era * 146097;
  const int64_t yearOfEra =
      (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146096) / 365;
  const int64_t dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100);
  const int64_t monthFromMarch = (5 * dayOfYear + 2) / 153;
  const int64_t day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1;
  const int64_t month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9;
  const int64_t year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  char text[64];  // room for any int64 the format could see
  std::snprintf(text, sizeof text, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lldZ",
                static_cast<long long>(year), static_cast<long long>(month),
                static_cast<long long>(day), static_cast<long long>(rest / 3600),
                static_cast<long long>(rest / 60 % 60), static_cast<long long>(rest % 60));
  return std::string(text);
}

}  // namespace mlops::kube
