// The IPv6 side of wiring a container to a network: addresses and the
// default route over rtnetlink (libmnl), and the per-interface switch that
// lets a link carry IPv6 at all. Like netlink.h, every call acts on the
// calling thread's network namespace (run it inside InNetns for a container).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace berth::netd {

// Clears net.ipv6.conf.<interface>.disable_ipv6 (and the namespace-wide
// "all" switch when `all`), as Docker does in a container whose network has
// IPv6; the host may have turned IPv6 off by default. FailedPrecondition
// when the kernel has no IPv6.
absl::Status EnableIpv6(const std::string& interface, bool all);

// Adds `address`/prefix_length to the link without duplicate address
// detection: the address is usable at once instead of seconds later, and
// IPAM already guarantees it is unique on the network.
absl::Status AddAddress6(int index, const std::array<uint8_t, 16>& address, int prefix_length);

// The default IPv6 route via `gateway` on link `index`.
absl::Status AddDefaultRoute6(const std::array<uint8_t, 16>& gateway, int index);

}  // namespace berth::netd
