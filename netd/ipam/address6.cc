#include "netd/ipam/address6.h"

#include <arpa/inet.h>

#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace berth::netd {
namespace {

Ipv6 Masked(const Ipv6& address, int prefix_length) {
  Ipv6 masked{};
  for (int i = 0; i < 16; ++i) {
    const int bits = std::min(8, std::max(0, prefix_length - i * 8));
    const uint8_t mask = bits == 0 ? 0 : static_cast<uint8_t>(0xff << (8 - bits));
    masked[i] = address[i] & mask;
  }
  return masked;
}

}  // namespace

bool Subnet6::Contains(const Ipv6& address) const { return Masked(address, prefix_length) == base; }

bool Subnet6::Overlaps(const Subnet6& other) const {
  const int shorter = std::min(prefix_length, other.prefix_length);
  return Masked(base, shorter) == Masked(other.base, shorter);
}

std::string Subnet6::ToString() const { return absl::StrCat(FormatIpv6(base), "/", prefix_length); }

absl::StatusOr<Ipv6> ParseIpv6(const std::string& text) {
  Ipv6 address{};
  if (text.find(':') == std::string::npos ||
      inet_pton(AF_INET6, text.c_str(), address.data()) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("invalid IPv6 address: ", text));
  }
  return address;
}

std::string FormatIpv6(const Ipv6& address) {
  char buffer[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, address.data(), buffer, sizeof(buffer));
  return buffer;
}

absl::StatusOr<Subnet6> ParseSubnet6(const std::string& text) {
  const size_t slash = text.find('/');
  int prefix_length = -1;
  if (slash == std::string::npos || !absl::SimpleAtoi(text.substr(slash + 1), &prefix_length) ||
      prefix_length < 0 || prefix_length > 128) {
    return absl::InvalidArgumentError(absl::StrCat("invalid CIDR address: ", text));
  }
  absl::StatusOr<Ipv6> address = ParseIpv6(text.substr(0, slash));
  if (!address.ok())
    return absl::InvalidArgumentError(absl::StrCat("invalid CIDR address: ", text));
  Subnet6 subnet{Masked(*address, prefix_length), prefix_length};
  if (subnet.base != *address) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid subnet ", text, ": it should be ", subnet.ToString()));
  }
  return subnet;
}

Ipv6 AddToIpv6(const Ipv6& base, uint64_t offset) {
  Ipv6 sum = base;
  unsigned carry = 0;
  for (int i = 15; i >= 8; --i) {
    const unsigned value = sum[i] + static_cast<unsigned>(offset & 0xff) + carry;
    sum[i] = static_cast<uint8_t>(value);
    carry = value >> 8;
    offset >>= 8;
  }
  return sum;
}

Subnet6 UlaSubnetFor(const std::string& network_id) {
  Subnet6 subnet;
  subnet.prefix_length = 64;
  subnet.base[0] = 0xfd;
  for (int i = 1; i < 8; ++i) {
    unsigned byte = 0;
    const std::string hex = network_id.size() >= static_cast<size_t>(2 * i)
                                ? network_id.substr(2 * (i - 1), 2)
                                : std::string("00");
    if (sscanf(hex.c_str(), "%2x", &byte) != 1) byte = 0;
    subnet.base[i] = static_cast<uint8_t>(byte);
  }
  return subnet;
}

absl::StatusOr<Ipv6> AllocateAddress6(const Subnet6& subnet, const std::optional<Subnet6>& range,
                                      const Ipv6& gateway, const std::vector<Ipv6>& in_use,
                                      std::optional<Ipv6> requested) {
  std::set<Ipv6> used(in_use.begin(), in_use.end());
  if (requested) {
    if (!subnet.Contains(*requested) || *requested == subnet.base) {
      return absl::InvalidArgumentError(absl::StrCat(
          "no configured subnet or ip-range contain the IP address ", FormatIpv6(*requested)));
    }
    if (*requested == gateway || used.count(*requested) != 0) {
      return absl::AlreadyExistsError(
          absl::StrCat("Address already in use: ", FormatIpv6(*requested)));
    }
    return *requested;
  }
  const Subnet6& pool = range ? *range : subnet;
  const int host_bits = 128 - pool.prefix_length;
  // Enough tries to step over every taken address; the pool's size bounds
  // small ranges.
  uint64_t limit = used.size() + 2;
  if (host_bits < 64) limit = std::min<uint64_t>(limit, (uint64_t{1} << host_bits) - 1);
  for (uint64_t offset = 0; offset <= limit; ++offset) {
    const Ipv6 candidate = AddToIpv6(pool.base, offset);
    if (!pool.Contains(candidate) || candidate == subnet.base || candidate == gateway ||
        used.count(candidate) != 0) {
      continue;
    }
    return candidate;
  }
  return absl::ResourceExhaustedError(
      "no available IPv6 addresses on this network's address pools");
}

}  // namespace berth::netd
