// Networks as the /networks handlers need them: kept by netd, which renders
// Docker's Network JSON; connecting a container goes through runtimed, which
// records the container's new NetworkSettings.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/json.h"

namespace berth::apiserver {

class NetworkBackend {
 public:
  virtual ~NetworkBackend() = default;
  // Docker's NetworkCreateRequest body; returns the new network's ID.
  virtual absl::StatusOr<std::string> CreateNetwork(const Json& request) = 0;
  // Docker's Network object.
  virtual absl::StatusOr<Json> GetNetwork(const std::string& name_or_id) = 0;
  virtual absl::StatusOr<std::vector<Json>> ListNetworks() = 0;
  virtual absl::Status RemoveNetwork(const std::string& name_or_id) = 0;
  // Docker's prune filters; returns the removed networks' names.
  virtual absl::StatusOr<std::vector<std::string>> PruneNetworks(const Json& filters) = 0;
  virtual absl::Status ConnectContainer(const std::string& network, const std::string& container,
                                        const Json& endpoint_config) = 0;
  virtual absl::Status DisconnectContainer(const std::string& network, const std::string& container,
                                           bool force) = 0;
};

}  // namespace berth::apiserver
