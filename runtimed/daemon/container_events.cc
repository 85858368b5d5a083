#include "runtimed/daemon/container_events.h"

#include <set>

#include "common/status.h"

namespace berth::runtimed {

bool IsReportableContainerAction(const std::string& action) {
  static const std::set<std::string> kActions = {
      "archive-path", "extract-to-dir", "export", "commit", "detach", "exec_detach", "prune"};
  return kActions.count(action) != 0;
}

void ManagerEventSink::Publish(const std::string& container_id, const std::string& action,
                               std::map<std::string, std::string> attributes) {
  (void)manager_->PublishEventFor(container_id, action, std::move(attributes));
}

absl::Status ContainerManager::PublishEventFor(const std::string& ref, const std::string& action,
                                               std::map<std::string, std::string> attributes) {
  if (ref.empty()) {
    // Moby's container prune event names no container.
    if (options_.events != nullptr) {
      options_.events->Publish("container", action, "", std::move(attributes));
    }
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(Container c, Get(ref));
  PublishEvent(c, action, std::move(attributes));
  return absl::OkStatus();
}

absl::Status ContainerManager::RecordReportedEvent(const std::string& ref,
                                                   const std::string& action,
                                                   std::map<std::string, std::string> attributes) {
  if (!IsReportableContainerAction(action)) {
    return absl::InvalidArgumentError("not a container event the API server reports: " + action);
  }
  if (ref.empty() && action != "prune") {
    return absl::InvalidArgumentError("a " + action + " event needs a container");
  }
  return PublishEventFor(ref, action, std::move(attributes));
}

}  // namespace berth::runtimed
