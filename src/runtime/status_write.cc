#include "runtime/status_write.h"

#include "core/json_access.h"
#include "runtime/object.h"

namespace mlops::runtime {

ReconcileResult StatusWrite::result() const {
  ReconcileResult r;
  r.requeue = outcome == StatusWriteOutcome::kConflict;
  return r;
}

Result<StatusWrite> writeStatusIfChanged(kube::StatusWriter& writer, EventRecorder& recorder,
                                         const kube::Resource& resource,
                                         const nlohmann::json& current,
                                         const nlohmann::json& status,
                                         const std::vector<StatusEvent>& events,
                                         const kube::WriteOptions& options) {
  StatusWrite out;
  out.object = current;
  if (member(current, "status") == status) {
    return out;  // kUnchanged
  }
  nlohmann::json updated = current;  // carries metadata.resourceVersion
  updated["status"] = status;
  auto written = writer.updateStatus(resource, namespaceOf(current), updated, options);
  if (!written) {
    switch (written.error().code) {
      case ErrorCode::kConflict:
        out.outcome = StatusWriteOutcome::kConflict;
        return out;
      case ErrorCode::kNotFound:
        out.outcome = StatusWriteOutcome::kNotFound;
        return out;
      default:
        return written.error();
    }
  }
  out.outcome = StatusWriteOutcome::kWritten;
  out.object = std::move(*written);
  for (const auto& e : events) {
    recorder.event(out.object, e.type, e.reason, e.message);
  }
  return out;
}

}  // namespace mlops::runtime
