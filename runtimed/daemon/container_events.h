// Container events published on behalf of others: exec's (in-process) and
// those only the apiserver sees happen (docker cp, export, commit, prune, an
// attach or exec that ended at the detach keys), reported over
// RecordContainerEvent.
#pragma once

#include <map>
#include <string>

#include "absl/status/status.h"
#include "runtimed/daemon/container_manager.h"
#include "runtimed/daemon/event_sink.h"

namespace berth::runtimed {

// Moby's actions for what happens in its daemon outside the container
// lifecycle; RecordContainerEvent refuses anything else, so that a client of
// the gRPC API cannot forge a `die` or a `start`.
bool IsReportableContainerAction(const std::string& action);

// The sink for ExecManager, over the container manager.
class ManagerEventSink : public ContainerEventSink {
 public:
  explicit ManagerEventSink(ContainerManager* manager) : manager_(manager) {}
  void Publish(const std::string& container_id, const std::string& action,
               std::map<std::string, std::string> attributes) override;

 private:
  ContainerManager* manager_;
};

}  // namespace berth::runtimed
