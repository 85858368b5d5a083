// The netlink helpers against the kernel, in a network namespace of this
// test's own: nothing it creates is visible to the host.
#include "netd/netlink/netlink.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/fs.h"
#include "netd/ipam/address.h"
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

}  // namespace berth::netd
