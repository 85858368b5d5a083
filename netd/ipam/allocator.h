// Address and subnet allocation: pure functions over what is taken, so the
// caller decides where "taken" comes from (netd's endpoint rows and host
// routes) and the rules are tested without a kernel or database.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "netd/ipam/address.h"

namespace berth::netd {

// One of Docker's default-address-pools: subnets of `size` bits carved from
// `base`.
struct AddressPool {
  Subnet base;
  int size = 24;
};

// Docker's defaults: 172.17-31.0.0/16, then 192.168.0.0/20 steps.
std::vector<AddressPool> DefaultAddressPools();

// The first subnet of the pools that overlaps nothing in `taken`.
absl::StatusOr<Subnet> AllocateSubnet(const std::vector<AddressPool>& pools,
                                      const std::vector<Subnet>& taken);

// An address for a container: `requested` when given (and free and inside
// the subnet), else the lowest free address of `range` (the subnet when
// unset), never the network, broadcast or gateway address.
absl::StatusOr<uint32_t> AllocateAddress(const Subnet& subnet, const std::optional<Subnet>& range,
                                         uint32_t gateway, const std::vector<uint32_t>& in_use,
                                         std::optional<uint32_t> requested);

}  // namespace berth::netd
