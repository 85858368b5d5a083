#include "netd/ipam/allocator.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"

namespace berth::netd {

std::vector<AddressPool> DefaultAddressPools() {
  return {{Subnet{(172u << 24) | (17u << 16), 12}, 16},
          {Subnet{(192u << 24) | (168u << 16), 16}, 20}};
}

absl::StatusOr<Subnet> AllocateSubnet(const std::vector<AddressPool>& pools,
                                      const std::vector<Subnet>& taken) {
  for (const AddressPool& pool : pools) {
    if (pool.size < pool.base.prefix_length || pool.size > 30) continue;
    const uint64_t step = uint64_t{1} << (32 - pool.size);
    const uint64_t end = uint64_t{pool.base.base} + (uint64_t{1} << (32 - pool.base.prefix_length));
    for (uint64_t base = pool.base.base; base < end; base += step) {
      Subnet candidate{static_cast<uint32_t>(base), pool.size};
      bool free = std::none_of(taken.begin(), taken.end(),
                               [&](const Subnet& other) { return other.Overlaps(candidate); });
      if (free) return candidate;
    }
  }
  return absl::ResourceExhaustedError(
      "could not find an available, non-overlapping IPv4 address pool among the defaults to "
      "assign to the network");
}

absl::StatusOr<uint32_t> AllocateAddress(const Subnet& subnet, const std::optional<Subnet>& range,
                                         uint32_t gateway, const std::vector<uint32_t>& in_use,
                                         std::optional<uint32_t> requested) {
  std::set<uint32_t> used(in_use.begin(), in_use.end());
  if (requested) {
    if (!subnet.Contains(*requested) || *requested == subnet.base ||
        (subnet.prefix_length < 31 && *requested == subnet.Broadcast())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "no configured subnet or ip-range contain the IP address ", FormatIpv4(*requested)));
    }
    if (*requested == gateway || used.count(*requested) != 0) {
      return absl::AlreadyExistsError(
          absl::StrCat("Address already in use: ", FormatIpv4(*requested)));
    }
    return *requested;
  }
  const Subnet& pool = range ? *range : subnet;
  // Only the subnet's own network and broadcast addresses are reserved: an
  // ip-range's first address is handed out, as Docker does.
  const uint64_t first = pool.base, last = pool.Broadcast();
  for (uint64_t candidate = first; candidate <= last; ++candidate) {
    const uint32_t address = static_cast<uint32_t>(candidate);
    if (address == gateway || address == subnet.base || used.count(address) != 0) continue;
    if (subnet.prefix_length < 31 && address == subnet.Broadcast()) continue;
    return address;
  }
  return absl::ResourceExhaustedError(
      "no available IPv4 addresses on this network's address pools");
}

}  // namespace berth::netd
