// Hooks for what hangs off networks and endpoints beyond links and
// addresses: the embedded DNS server (names per network), the firewall
// (per-network isolation and masquerade) and published ports. NetworkManager
// calls them in one place each, after the kernel side is in place (created)
// or before it is torn down (removed).
#pragma once

#include <string>

#include "absl/status/status.h"
#include "netd/network/model.h"

namespace berth::netd {

class NetworkObserver {
 public:
  virtual ~NetworkObserver() = default;
  // Also called from NetworkManager::AddObserver for every bridge network
  // that exists, so observers rebuild their state after a restart.
  virtual absl::Status NetworkCreated(const Network& network) { return absl::OkStatus(); }
  virtual void NetworkRemoved(const Network& network) {}
  // A failure undoes the endpoint (and earlier observers' work, through
  // EndpointRemoved). Also replayed by AddObserver for every endpoint.
  virtual absl::Status EndpointCreated(const Network& network, const Endpoint& endpoint,
                                       const std::string& netns_path) {
    return absl::OkStatus();
  }
  virtual void EndpointRemoved(const Network& network, const Endpoint& endpoint) {}
  // The container was renamed; `endpoint` carries the new name.
  virtual void EndpointRenamed(const Network& network, const Endpoint& endpoint) {}
};

}  // namespace berth::netd
