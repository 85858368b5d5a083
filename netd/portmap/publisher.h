// What the sandbox flow asks of published ports: SandboxManager depends on
// this, not on the mapper and its sockets.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "common/json.h"

namespace berth::netd {

class PortPublisher {
 public:
  virtual ~PortPublisher() = default;

  // Publishes the ports of a container's create request (HostConfig
  // PortBindings / PublishAllPorts, Config.ExposedPorts) to the container at
  // `container_ip` (dotted) on host bridge `bridge`. All or nothing.
  virtual absl::Status PublishContainer(const std::string& container_id, const Json& config,
                                        const Json& host_config, const std::string& container_ip,
                                        const std::string& bridge) = 0;

  // Idempotent.
  virtual absl::Status Unpublish(const std::string& container_id) = 0;

  // NetworkSettings.Ports; {} for a container with none.
  virtual Json Ports(const std::string& container_id) = 0;
};

}  // namespace berth::netd
