// The kernel side of a bridge network, behind an interface so the network
// model is tested without netlink (tests/netd/network uses a fake).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "netd/network/model.h"

namespace berth::netd {

class BridgeDriver {
 public:
  virtual ~BridgeDriver() = default;
  // Creates the bridge with the network's gateway address when it does not
  // exist yet; an existing one is kept (netd restarted, containers running).
  virtual absl::Status EnsureBridge(const Network& network) = 0;
  // Missing bridges are fine.
  virtual absl::Status RemoveBridge(const Network& network) = 0;
  // Creates the veth pair of `endpoint`, its container end configured inside
  // the namespace at netns_path (address, MAC, up, default route unless the
  // network is internal or `default_route` is false).
  virtual absl::Status AttachEndpoint(const Network& network, const Endpoint& endpoint,
                                      const std::string& netns_path, bool default_route) = 0;
  // Deletes the host end (the kernel deletes its peer). Missing is fine.
  virtual absl::Status DetachEndpoint(const Endpoint& endpoint) = 0;
  // Whether a network's bridge exists (used to find subnets the host uses).
  virtual bool BridgeExists(const std::string& name) = 0;
};

class LinuxBridgeDriver : public BridgeDriver {
 public:
  absl::Status EnsureBridge(const Network& network) override;
  absl::Status RemoveBridge(const Network& network) override;
  absl::Status AttachEndpoint(const Network& network, const Endpoint& endpoint,
                              const std::string& netns_path, bool default_route) override;
  absl::Status DetachEndpoint(const Endpoint& endpoint) override;
  bool BridgeExists(const std::string& name) override;
};

}  // namespace berth::netd
