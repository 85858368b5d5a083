// The netlink helpers against the kernel, in a network namespace of this
// test's own: nothing it creates is visible to the host.
#include "netd/netlink/netlink.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "common/fs.h"
#include "netd/ipam/address.h"
#include "netd/ipam/address6.h"
#include "netd/netlink/ipv6.h"
#include "netd/sandbox/netns.h"
#include "tests/netd/test_util.h"

namespace berth::netd {

TEST_CASE("bridges, veth pairs, addresses and routes", "[netd][local]") {
  REQUIRE(unshare(CLONE_NEWNET) == 0);
  REQUIRE(BringLoopbackUp().ok());
  std::string dir = testing::MakeTempDir();
  const std::string ns = dir + "/ns";
  REQUIRE(MakePrivateMountDir(dir).ok());
  REQUIRE(CreatePinnedNetns(ns).ok());

  REQUIRE(CreateBridge("bt0").ok());
  CHECK(absl::IsAlreadyExists(CreateBridge("bt0")));
  CHECK(LinkExists("bt0"));
  int bridge = *LinkIndex("bt0");
  REQUIRE(AddAddress(bridge, *ParseIpv4("10.77.0.1"), 24).ok());
  // Re-adding the same address (a restart) is fine.
  REQUIRE(AddAddress(bridge, *ParseIpv4("10.77.0.1"), 24).ok());
  REQUIRE(SetLinkUp(bridge).ok());
  auto routes = ListRoutes();
  REQUIRE(routes.ok());
  bool connected = false;
  for (const Route4& route : *routes) {
    if (FormatIpv4(route.destination) == "10.77.0.0" && route.prefix_length == 24) {
      connected = route.device == "bt0";
    }
  }
  CHECK(connected);

  int fd = open(ns.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(CreateVeth("vt0", "eth0", MacForAddress(*ParseIpv4("10.77.0.2")), fd).ok());
  close(fd);
  REQUIRE(SetMasterAndUp(*LinkIndex("vt0"), bridge).ok());
  CHECK_FALSE(LinkExists("eth0"));
  absl::Status inside = InNetns(ns, [&]() -> absl::Status {
    auto index = LinkIndex("eth0");
    if (!index.ok()) return index.status();
    if (absl::Status s = AddAddress(*index, *ParseIpv4("10.77.0.2"), 24); !s.ok()) return s;
    if (absl::Status s = SetLinkUp(*index); !s.ok()) return s;
    if (absl::Status s = AddDefaultRoute(*ParseIpv4("10.77.0.1")); !s.ok()) return s;
    auto inner = ListRoutes();
    if (!inner.ok()) return inner.status();
    bool has_default = false;
    for (const Route4& route : *inner) has_default |= route.prefix_length == 0;
    return has_default ? absl::OkStatus() : absl::NotFoundError("no default route");
  });
  INFO(inside.ToString());
  CHECK(inside.ok());

  // Deleting the host end takes the peer with it; deleting twice is fine.
  REQUIRE(DeleteLink("vt0").ok());
  REQUIRE(DeleteLink("vt0").ok());
  CHECK_FALSE(LinkExists("vt0"));
  CHECK(InNetns(ns, [] { return LinkIndex("eth0").status(); }).code() ==
        absl::StatusCode::kNotFound);
  REQUIRE(DeleteLink("bt0").ok());
  CHECK_FALSE(LinkExists("bt0"));

  REQUIRE(RemovePinnedNetns(ns).ok());
  umount2(dir.c_str(), MNT_DETACH);
  RemoveAll(dir).IgnoreError();
}

// IPv6 shares the IPv4 request shapes: the address must land without
// duplicate address detection and the default route on the named link.
TEST_CASE("IPv6 addresses and default route", "[netd][local]") {
  REQUIRE(unshare(CLONE_NEWNET) == 0);
  REQUIRE(BringLoopbackUp().ok());
  REQUIRE(CreateBridge("bt6").ok());
  const int bridge = *LinkIndex("bt6");
  REQUIRE(EnableIpv6("bt6", /*all=*/true).ok());
  CHECK(absl::IsInvalidArgument(EnableIpv6("../x", false)));
  const Ipv6 address = *ParseIpv6("fd00:77::1");
  REQUIRE(AddAddress6(bridge, address, 64).ok());
  REQUIRE(AddAddress6(bridge, address, 64).ok());
  REQUIRE(SetLinkUp(bridge).ok());
  auto addresses = ReadFile("/proc/net/if_inet6");
  REQUIRE(addresses.ok());
  INFO(*addresses);
  CHECK(absl::StrContains(*addresses, "fd000077000000000000000000000001"));
  // Fields: address, index, prefix length, scope, flags, name. The flags
  // must hold IFA_F_NODAD (0x02) and not IFA_F_TENTATIVE (0x40).
  bool nodad = false;
  for (absl::string_view line : absl::StrSplit(*addresses, '\n')) {
    std::vector<std::string> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (fields.size() == 6 && fields[0] == "fd000077000000000000000000000001") {
      const unsigned long flags = std::stoul(fields[4], nullptr, 16);
      nodad = (flags & 0x02) != 0 && (flags & 0x40) == 0;
    }
  }
  CHECK(nodad);

  REQUIRE(AddDefaultRoute6(*ParseIpv6("fd00:77::2"), bridge).ok());
  // /proc/net/ipv6_route: destination ::/0 via the gateway on bt6.
  auto routes = ReadFile("/proc/net/ipv6_route");
  REQUIRE(routes.ok());
  INFO(*routes);
  bool has_default = false;
  for (absl::string_view line : absl::StrSplit(*routes, '\n')) {
    has_default |= absl::StartsWith(line, std::string(32, '0') + " 00 ") &&
                   absl::StrContains(line, "fd000077000000000000000000000002") &&
                   absl::EndsWith(line, "bt6");
  }
  CHECK(has_default);
  REQUIRE(DeleteLink("bt6").ok());
}

}  // namespace berth::netd
