#include <catch2/catch.hpp>

#include "netd/ipam/address.h"
#include "netd/ipam/allocator.h"

namespace berth::netd {
namespace {

uint32_t Ip(const std::string& text) { return *ParseIpv4(text); }
Subnet Net(const std::string& text) { return *ParseSubnet(text); }

}  // namespace

TEST_CASE("addresses and subnets parse and print", "[netd][ipam]") {
  CHECK(FormatIpv4(Ip("10.1.2.3")) == "10.1.2.3");
  CHECK_FALSE(ParseIpv4("10.1.2").ok());
  CHECK_FALSE(ParseIpv4("10.1.2.300").ok());
  CHECK(Net("10.1.0.0/16").ToString() == "10.1.0.0/16");
  CHECK(Net("0.0.0.0/0").Mask() == 0);
  auto host_bits = ParseSubnet("10.1.2.0/16");
  REQUIRE_FALSE(host_bits.ok());
  CHECK(std::string(host_bits.status().message()) ==
        "invalid subnet 10.1.2.0/16: it should be 10.1.0.0/16");
  CHECK(ParseSubnet("10.1.2.1/24", /*allow_host_bits=*/true)->ToString() == "10.1.2.0/24");
  CHECK_FALSE(ParseSubnet("10.1.0.0/33").ok());
  CHECK_FALSE(ParseSubnet("10.1.0.0").ok());
  CHECK(*ParseCidrAddress("10.1.2.1/24") == Ip("10.1.2.1"));
  CHECK(Net("10.1.2.0/24").Broadcast() == Ip("10.1.2.255"));
}

TEST_CASE("subnet overlap", "[netd][ipam]") {
  CHECK(Net("10.0.0.0/8").Overlaps(Net("10.1.0.0/16")));
  CHECK(Net("10.1.0.0/16").Overlaps(Net("10.0.0.0/8")));
  CHECK(Net("10.1.0.0/24").Overlaps(Net("10.1.0.0/24")));
  CHECK_FALSE(Net("10.1.0.0/24").Overlaps(Net("10.1.1.0/24")));
  CHECK_FALSE(Net("172.17.0.0/16").Overlaps(Net("172.18.0.0/16")));
  CHECK(Net("0.0.0.0/0").Overlaps(Net("192.168.1.0/24")));
}

TEST_CASE("Docker's MAC addresses", "[netd][ipam]") {
  CHECK(FormatMac(MacForAddress(Ip("172.17.0.2"))) == "02:42:ac:11:00:02");
  CHECK(FormatMac(*ParseMac("02:42:AA:bb:cc:dd")) == "02:42:aa:bb:cc:dd");
  CHECK_FALSE(ParseMac("02:42:aa:bb:cc").ok());
  CHECK_FALSE(ParseMac("02:42:aa:bb:cc:dd:ee").ok());
}

TEST_CASE("address allocation", "[netd][ipam]") {
  const Subnet subnet = Net("10.1.0.0/24");
  const uint32_t gateway = Ip("10.1.0.1");

  SECTION("lowest free, never the network, gateway or broadcast address") {
    CHECK(*AllocateAddress(subnet, std::nullopt, gateway, {}, std::nullopt) == Ip("10.1.0.2"));
    CHECK(*AllocateAddress(subnet, std::nullopt, gateway, {Ip("10.1.0.2"), Ip("10.1.0.3")},
                           std::nullopt) == Ip("10.1.0.4"));
    // A released address (not in use any more) is handed out again.
    CHECK(*AllocateAddress(subnet, std::nullopt, gateway, {Ip("10.1.0.3")}, std::nullopt) ==
          Ip("10.1.0.2"));
    // The gateway may sit anywhere in the subnet.
    CHECK(*AllocateAddress(subnet, std::nullopt, Ip("10.1.0.2"), {}, std::nullopt) ==
          Ip("10.1.0.1"));
  }

  SECTION("ranges start at their first address") {
    std::optional<Subnet> range = Net("10.1.0.128/25");
    CHECK(*AllocateAddress(subnet, range, gateway, {}, std::nullopt) == Ip("10.1.0.128"));
    std::vector<uint32_t> used;
    for (uint32_t a = Ip("10.1.0.128"); a < Ip("10.1.0.255"); ++a) used.push_back(a);
    // .255 is the broadcast address: the range is full.
    auto full = AllocateAddress(subnet, range, gateway, used, std::nullopt);
    CHECK(full.status().code() == absl::StatusCode::kResourceExhausted);
  }

  SECTION("requested addresses") {
    CHECK(*AllocateAddress(subnet, std::nullopt, gateway, {}, Ip("10.1.0.77")) == Ip("10.1.0.77"));
    // Outside the ip-range but inside the subnet is fine, as in Docker.
    CHECK(*AllocateAddress(subnet, Net("10.1.0.128/25"), gateway, {}, Ip("10.1.0.9")) ==
          Ip("10.1.0.9"));
    auto taken = AllocateAddress(subnet, std::nullopt, gateway, {Ip("10.1.0.77")}, Ip("10.1.0.77"));
    CHECK(taken.status().code() == absl::StatusCode::kAlreadyExists);
    CHECK(std::string(taken.status().message()) == "Address already in use: 10.1.0.77");
    CHECK(AllocateAddress(subnet, std::nullopt, gateway, {}, gateway).status().code() ==
          absl::StatusCode::kAlreadyExists);
    auto outside = AllocateAddress(subnet, std::nullopt, gateway, {}, Ip("10.2.0.5"));
    CHECK(outside.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(outside.status().message()) ==
          "no configured subnet or ip-range contain the IP address 10.2.0.5");
    CHECK_FALSE(AllocateAddress(subnet, std::nullopt, gateway, {}, Ip("10.1.0.0")).ok());
    CHECK_FALSE(AllocateAddress(subnet, std::nullopt, gateway, {}, Ip("10.1.0.255")).ok());
  }

  SECTION("a full subnet") {
    const Subnet tiny = Net("10.9.0.0/30");
    CHECK(*AllocateAddress(tiny, std::nullopt, Ip("10.9.0.1"), {}, std::nullopt) == Ip("10.9.0.2"));
    CHECK(AllocateAddress(tiny, std::nullopt, Ip("10.9.0.1"), {Ip("10.9.0.2")}, std::nullopt)
              .status()
              .code() == absl::StatusCode::kResourceExhausted);
  }
}

TEST_CASE("subnet allocation from the pools", "[netd][ipam]") {
  const std::vector<AddressPool> pools = {{Net("10.20.0.0/16"), 24}, {Net("10.30.0.0/23"), 24}};
  CHECK(AllocateSubnet(pools, {})->ToString() == "10.20.0.0/24");
  CHECK(AllocateSubnet(pools, {Net("10.20.0.0/24"), Net("10.20.1.0/25")})->ToString() ==
        "10.20.2.0/24");
  // A host route covering the whole first pool moves on to the next one.
  CHECK(AllocateSubnet(pools, {Net("10.20.0.0/16")})->ToString() == "10.30.0.0/24");
  auto none = AllocateSubnet(pools, {Net("10.0.0.0/8")});
  CHECK(none.status().code() == absl::StatusCode::kResourceExhausted);
  // Docker's defaults: 172.17.0.0/16 first, then 172.18.0.0/16.
  CHECK(AllocateSubnet(DefaultAddressPools(), {})->ToString() == "172.17.0.0/16");
  CHECK(AllocateSubnet(DefaultAddressPools(), {Net("172.17.0.0/16")})->ToString() ==
        "172.18.0.0/16");
}

}  // namespace berth::netd
