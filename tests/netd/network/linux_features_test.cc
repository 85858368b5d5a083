// The kernel side of IPv6 and macvlan networks, in namespaces of its own:
// a bridge with an IPv6 gateway, a macvlan endpoint with both families.
#include <catch2/catch.hpp>

#include "common/fs.h"
#include "netd/netlink/macvlan.h"
#include "netd/netlink/netlink.h"
#include "netd/network/driver.h"
#include "netd/network/macvlan_attach.h"
#include "tests/netd/dns/netns_thread.h"

namespace berth::netd {
namespace {

Network DualStack(const std::string& driver) {
  Network network;
  network.id = "n1";
  network.name = "n1";
  network.driver = driver;
  network.subnet = *ParseSubnet("10.1.0.0/24");
  network.gateway = *ParseIpv4("10.1.0.1");
  network.enable_ipv6 = true;
  network.subnet6 = *ParseSubnet6("fd00:1::/64");
  network.gateway6 = *ParseIpv6("fd00:1::1");
  return network;
}

std::string Read(const std::string& path) { return ReadFile(path).value_or(""); }

}  // namespace

TEST_CASE("an IPv6 bridge and a dual-stack macvlan endpoint", "[netd][network][local]") {
  dns::EnterPrivateNetns();
  dns::ContainerNetns container;

  Network bridge = DualStack("bridge");
  bridge.bridge = "bt6";
  LinuxBridgeDriver driver;
  REQUIRE(driver.EnsureBridge(bridge).ok());
  CHECK(Read("/proc/net/if_inet6").find("fd000001000000000000000000000001") != std::string::npos);
  CHECK(Read("/proc/sys/net/ipv6/conf/bt6/disable_ipv6") == "0\n");

  Network macvlan = DualStack("macvlan");
  macvlan.options[kMacvlanParentOption] = "bt6";
  Endpoint endpoint;
  endpoint.interface = "eth0";
  endpoint.address = *ParseIpv4("10.1.0.2");
  endpoint.mac = MacForAddress(endpoint.address);
  endpoint.address6 = *ParseIpv6("fd00:1::2");
  absl::Status attached = driver.AttachEndpoint(macvlan, endpoint, container.path(), true);
  INFO(attached.ToString());
  REQUIRE(attached.ok());
  CHECK_FALSE(LinkExists("eth0"));
  const std::string inside = container.Run<std::string>([] {
    // thread-self: /proc/net follows the process's namespace, not this thread's.
    return Read("/proc/thread-self/net/if_inet6") + Read("/proc/thread-self/net/ipv6_route") +
           "disable_ipv6=" + Read("/proc/sys/net/ipv6/conf/eth0/disable_ipv6");
  });
  CHECK(inside.find("fd000001000000000000000000000002") != std::string::npos);
  // The default route: ::/0 via fd00:1::1.
  CHECK(inside.find("00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
                    "fd000001000000000000000000000001") != std::string::npos);
  CHECK(inside.find("disable_ipv6=0") != std::string::npos);

  macvlan.options[kMacvlanParentOption] = "nosuch0";
  endpoint.interface = "eth1";
  absl::Status missing = driver.AttachEndpoint(macvlan, endpoint, container.path(), false);
  CHECK(missing.code() == absl::StatusCode::kNotFound);
  CHECK(std::string(missing.message()) == "-o parent interface was not found on the host: nosuch0");
  CHECK(MacvlanMode("vepa").ok());
  CHECK_FALSE(MacvlanMode("x").ok());
  REQUIRE(driver.RemoveBridge(bridge).ok());
}

}  // namespace berth::netd
