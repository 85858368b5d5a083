#include "netd/network/bridge_ipv6.h"

#include "common/status.h"
#include "netd/netlink/ipv6.h"

namespace berth::netd {

absl::Status SetUpBridgeIpv6(const Network& network, int bridge_index) {
  if (!network.enable_ipv6) return absl::OkStatus();
  RETURN_IF_ERROR(EnableIpv6(network.bridge, /*all=*/false));
  return AddAddress6(bridge_index, network.gateway6, network.subnet6.prefix_length);
}

absl::Status SetUpEndpointIpv6(const Network& network, const Endpoint& endpoint, int index,
                               bool default_route) {
  if (!network.enable_ipv6 || IsUnset(endpoint.address6)) return absl::OkStatus();
  // The namespace is the container's own: its "all" switch is ours to set.
  RETURN_IF_ERROR(EnableIpv6(endpoint.interface, /*all=*/true));
  RETURN_IF_ERROR(AddAddress6(index, endpoint.address6, network.subnet6.prefix_length));
  if (default_route && !network.internal) {
    RETURN_IF_ERROR(AddDefaultRoute6(network.gateway6, index));
  }
  return absl::OkStatus();
}

}  // namespace berth::netd
