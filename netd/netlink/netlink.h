// rtnetlink through libmnl: the few link, address and route operations netd
// needs to wire containers to bridges. Every call acts on the network
// namespace of the calling thread; InNetns runs a function on a thread that
// has joined another namespace, so the daemon's own threads never move.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace berth::netd {

// IPv4 addresses are host-order integers inside netd.
struct Route4 {
  uint32_t destination = 0;
  int prefix_length = 0;
  std::string device;
};

// The interface index of `name`, NotFound when there is none.
absl::StatusOr<int> LinkIndex(const std::string& name);
bool LinkExists(const std::string& name);

// A bridge that is up. AlreadyExists when a link of that name exists.
absl::Status CreateBridge(const std::string& name);
// A veth pair: `host_name` stays here, `peer_name` (with `peer_mac`, 6 bytes)
// is created directly in the namespace open at `peer_netns_fd`.
absl::Status CreateVeth(const std::string& host_name, const std::string& peer_name,
                        const std::string& peer_mac, int peer_netns_fd);
// Attaches to `master` (0 detaches) and brings the link up.
absl::Status SetMasterAndUp(int index, int master);
absl::Status SetLinkUp(int index);
// Missing links are fine.
absl::Status DeleteLink(const std::string& name);
absl::Status AddAddress(int index, uint32_t address, int prefix_length);
absl::Status AddDefaultRoute(uint32_t gateway);
// The IPv4 routes of the main table (connected subnets included).
absl::StatusOr<std::vector<Route4>> ListRoutes();

// Runs fn on a thread that joined the network namespace at `netns_path`.
absl::Status InNetns(const std::string& netns_path, const std::function<absl::Status()>& fn);

}  // namespace berth::netd
