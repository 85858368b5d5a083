// IPv6 addresses and subnets as netd handles them: 16 bytes in network
// order, parsed from and printed to Docker's notation ("fd00:1::/64").
// Allocation walks the low 64 bits only: no container network has more
// hosts than that.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace berth::netd {

using Ipv6 = std::array<uint8_t, 16>;

// All zero: "no address" (:: is never a container's or gateway's address).
inline bool IsUnset(const Ipv6& address) {
  for (uint8_t byte : address) {
    if (byte != 0) return false;
  }
  return true;
}

struct Subnet6 {
  Ipv6 base{};
  int prefix_length = 0;

  bool Empty() const { return prefix_length == 0 && IsUnset(base); }
  bool Contains(const Ipv6& address) const;
  bool Overlaps(const Subnet6& other) const;
  std::string ToString() const;
  bool operator==(const Subnet6& other) const {
    return base == other.base && prefix_length == other.prefix_length;
  }
};

absl::StatusOr<Ipv6> ParseIpv6(const std::string& text);
std::string FormatIpv6(const Ipv6& address);
// "fd00:1::/64"; host bits set are an error, as for IPv4.
absl::StatusOr<Subnet6> ParseSubnet6(const std::string& text);
// base + offset, adding to the low 64 bits.
Ipv6 AddToIpv6(const Ipv6& base, uint64_t offset);

// A unique-local /64 for an IPv6 network created without an IPv6 subnet:
// fdXX:XXXX:XXXX:XXXX::/64 from the network's hex ID, as Docker picks a ULA
// prefix of its own.
Subnet6 UlaSubnetFor(const std::string& network_id);

// As AllocateAddress for IPv4: `requested` when given (inside the subnet,
// not the subnet-router anycast address, not taken), else the lowest free
// address of `range` (the subnet when unset) after the subnet's own address.
absl::StatusOr<Ipv6> AllocateAddress6(const Subnet6& subnet, const std::optional<Subnet6>& range,
                                      const Ipv6& gateway, const std::vector<Ipv6>& in_use,
                                      std::optional<Ipv6> requested);

}  // namespace berth::netd
