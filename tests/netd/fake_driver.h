// A BridgeDriver that records instead of touching the kernel.
#pragma once

#include <map>
#include <set>
#include <string>

#include "netd/network/driver.h"

namespace berth::testing {

class FakeBridgeDriver : public netd::BridgeDriver {
 public:
  absl::Status EnsureBridge(const netd::Network& network) override {
    bridges.insert(network.bridge);
    return absl::OkStatus();
  }
  absl::Status RemoveBridge(const netd::Network& network) override {
    bridges.erase(network.bridge);
    return absl::OkStatus();
  }
  absl::Status AttachEndpoint(const netd::Network& network, const netd::Endpoint& endpoint,
                              const std::string& netns_path, bool default_route) override {
    if (!fail_attach.ok()) return fail_attach;
    veths[endpoint.host_interface] = network.bridge;
    if (default_route) default_routes.insert(endpoint.container_id);
    return absl::OkStatus();
  }
  absl::Status DetachEndpoint(const netd::Endpoint& endpoint) override {
    veths.erase(endpoint.host_interface);
    return absl::OkStatus();
  }
  bool BridgeExists(const std::string& name) override { return bridges.count(name) != 0; }

  std::set<std::string> bridges;
  // host veth -> bridge
  std::map<std::string, std::string> veths;
  std::set<std::string> default_routes;
  absl::Status fail_attach;
};

}  // namespace berth::testing
