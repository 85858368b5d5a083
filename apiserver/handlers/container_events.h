// Docker's container events for what happens in the apiserver (docker cp,
// export, commit, prune, the detach keys): runtimed publishes them with the
// container's attributes, as the one that keeps containers.
#pragma once

#include <map>
#include <string>

#include "apiserver/backends/backends.h"
#include "common/log.h"

namespace berth::apiserver {

// Best effort, as Moby's events are: a failure is logged, never the
// request's.
inline void RecordContainerEvent(ContainerBackend* containers, const std::string& id,
                                 const std::string& action,
                                 const std::map<std::string, std::string>& attributes = {}) {
  runtime::v1::RecordContainerEventRequest request;
  request.set_id(id);
  request.set_action(action);
  for (const auto& [key, value] : attributes) (*request.mutable_attributes())[key] = value;
  absl::Status status = containers->RecordContainerEvent(request);
  if (!status.ok()) SPDLOG_WARN("{} event of {}: {}", action, id, status.ToString());
}

}  // namespace berth::apiserver
