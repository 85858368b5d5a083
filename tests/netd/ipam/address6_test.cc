#include "netd/ipam/address6.h"

#include <catch2/catch.hpp>

namespace berth::netd {

TEST_CASE("IPv6 addresses and subnets parse and print as Docker writes them", "[netd][ipam]") {
  CHECK(FormatIpv6(*ParseIpv6("fd00:1:0::5")) == "fd00:1::5");
  CHECK_FALSE(ParseIpv6("10.0.0.1").ok());
  CHECK_FALSE(ParseIpv6("fd00::1::2").ok());
  Subnet6 subnet = *ParseSubnet6("fd00:1::/64");
  CHECK(subnet.ToString() == "fd00:1::/64");
  CHECK(subnet.Contains(*ParseIpv6("fd00:1::ffff")));
  CHECK_FALSE(subnet.Contains(*ParseIpv6("fd00:2::1")));
  CHECK(subnet.Overlaps(*ParseSubnet6("fd00::/16")));
  CHECK_FALSE(subnet.Overlaps(*ParseSubnet6("fd00:2::/64")));
  auto host_bits = ParseSubnet6("fd00:1::1/64");
  REQUIRE_FALSE(host_bits.ok());
  CHECK(std::string(host_bits.status().message()) ==
        "invalid subnet fd00:1::1/64: it should be fd00:1::/64");
  CHECK_FALSE(ParseSubnet6("fd00:1::/129").ok());
  CHECK_FALSE(ParseSubnet6("fd00:1::").ok());
  CHECK(FormatIpv6(AddToIpv6(*ParseIpv6("fd00::ff"), 1)) == "fd00::100");
  CHECK(FormatIpv6(AddToIpv6(*ParseIpv6("fd00::ffff:ffff:ffff:ffff"), 1)) == "fd00::");
}

TEST_CASE("a ULA /64 derived from the network ID", "[netd][ipam]") {
  const Subnet6 subnet = UlaSubnetFor("0123456789abcdef0123");
  CHECK(subnet.ToString() == "fd01:2345:6789:abcd::/64");
  CHECK(UlaSubnetFor("").ToString() == "fd00::/64");
}

TEST_CASE("IPv6 addresses are handed out lowest first, never twice", "[netd][ipam]") {
  const Subnet6 subnet = *ParseSubnet6("fd00:1::/64");
  const Ipv6 gateway = *ParseIpv6("fd00:1::1");
  CHECK(FormatIpv6(*AllocateAddress6(subnet, {}, gateway, {}, {})) == "fd00:1::2");
  std::vector<Ipv6> used = {*ParseIpv6("fd00:1::2"), *ParseIpv6("fd00:1::3")};
  CHECK(FormatIpv6(*AllocateAddress6(subnet, {}, gateway, used, {})) == "fd00:1::4");
  // A range starting at the subnet's own address skips it and the gateway.
  CHECK(FormatIpv6(*AllocateAddress6(subnet, *ParseSubnet6("fd00:1::/120"), gateway, used, {})) ==
        "fd00:1::4");
  CHECK(FormatIpv6(*AllocateAddress6(subnet, *ParseSubnet6("fd00:1::100/120"), gateway, used,
                                     {})) == "fd00:1::100");

  auto outside = AllocateAddress6(subnet, {}, gateway, used, *ParseIpv6("fd00:2::5"));
  CHECK(outside.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(outside.status().message()) ==
        "no configured subnet or ip-range contain the IP address fd00:2::5");
  auto taken = AllocateAddress6(subnet, {}, gateway, used, *ParseIpv6("fd00:1::3"));
  CHECK(taken.status().code() == absl::StatusCode::kAlreadyExists);
  CHECK(std::string(taken.status().message()) == "Address already in use: fd00:1::3");
  CHECK(AllocateAddress6(subnet, {}, gateway, used, gateway).status().code() ==
        absl::StatusCode::kAlreadyExists);
  CHECK(FormatIpv6(*AllocateAddress6(subnet, {}, gateway, used, *ParseIpv6("fd00:1::99"))) ==
        "fd00:1::99");

  // A /126 has the subnet address, the gateway and two more.
  const Subnet6 tiny = *ParseSubnet6("fd00:9::/126");
  const Ipv6 tiny_gateway = *ParseIpv6("fd00:9::1");
  std::vector<Ipv6> full = {*ParseIpv6("fd00:9::2"), *ParseIpv6("fd00:9::3")};
  CHECK(AllocateAddress6(tiny, {}, tiny_gateway, full, {}).status().code() ==
        absl::StatusCode::kResourceExhausted);
}

}  // namespace berth::netd
