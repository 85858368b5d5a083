// The IPv6 half of the bridge driver, for networks created with --ipv6:
// the gateway address on the host bridge and each container's address and
// default route. Kept apart from the IPv4 attach path, which only calls in
// when the network has IPv6.
#pragma once

#include "absl/status/status.h"
#include "netd/network/model.h"

namespace berth::netd {

// Lets the bridge carry IPv6 and gives it the network's IPv6 gateway.
absl::Status SetUpBridgeIpv6(const Network& network, int bridge_index);

// Inside the container's namespace (InNetns): lets the container's link
// (index `index`, name endpoint.interface) carry IPv6, adds its address and,
// when `default_route` and the network is not internal, the IPv6 default
// route via the gateway.
absl::Status SetUpEndpointIpv6(const Network& network, const Endpoint& endpoint, int index,
                               bool default_route);

}  // namespace berth::netd
