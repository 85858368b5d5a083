// IPv4 addresses and subnets as netd handles them: host-order integers,
// parsed from and printed to Docker's dotted and CIDR notation.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace berth::netd {

struct Subnet {
  // The network address (host bits cleared).
  uint32_t base = 0;
  int prefix_length = 0;

  uint32_t Mask() const { return prefix_length == 0 ? 0 : ~0u << (32 - prefix_length); }
  uint32_t Broadcast() const { return base | ~Mask(); }
  bool Contains(uint32_t address) const { return (address & Mask()) == base; }
  bool Overlaps(const Subnet& other) const {
    const uint32_t mask = prefix_length < other.prefix_length ? Mask() : other.Mask();
    return (base & mask) == (other.base & mask);
  }
  std::string ToString() const;
  bool operator==(const Subnet& other) const {
    return base == other.base && prefix_length == other.prefix_length;
  }
  bool operator!=(const Subnet& other) const { return !(*this == other); }
};

absl::StatusOr<uint32_t> ParseIpv4(const std::string& text);
std::string FormatIpv4(uint32_t address);
// "10.1.0.0/16". Host bits set in the address are an error unless
// `allow_host_bits` (a bridge's "bip" names the gateway, e.g. 10.1.0.1/16).
absl::StatusOr<Subnet> ParseSubnet(const std::string& text, bool allow_host_bits = false);
// The address part of "10.1.0.1/16".
absl::StatusOr<uint32_t> ParseCidrAddress(const std::string& text);

// Docker's MAC for an address: 02:42 followed by the four address bytes.
std::string MacForAddress(uint32_t address);
// "02:42:0a:01:00:02" <-> 6 raw bytes.
std::string FormatMac(const std::string& raw);
absl::StatusOr<std::string> ParseMac(const std::string& text);

}  // namespace berth::netd
