// DeferredDetachDriver over the real bridge driver, in a network namespace of
// this test's own: nothing it creates is visible to the host.
#include <sched.h>
#include <sys/mount.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "common/fs.h"
#include "netd/ipam/address.h"
#include "netd/netlink/netlink.h"
#include "netd/network/deferred_detach_driver.h"
#include "netd/network/driver.h"
#include "netd/sandbox/netns.h"
#include "tests/netd/test_util.h"

namespace berth::netd {
namespace {

Endpoint MakeEndpoint(const std::string& host_interface, const std::string& address) {
  Endpoint endpoint;
  endpoint.container_id = "c-" + host_interface;
  endpoint.interface = "eth0";
  endpoint.host_interface = host_interface;
  endpoint.address = *ParseIpv4(address);
  endpoint.mac = MacForAddress(endpoint.address);
  return endpoint;
}

TEST_CASE("veth pairs of removed sandboxes are deleted after the call", "[netd][local]") {
  // Before the driver's worker thread starts: it inherits this namespace.
  REQUIRE(unshare(CLONE_NEWNET) == 0);
  REQUIRE(BringLoopbackUp().ok());
  const std::string dir = testing::MakeTempDir();
  REQUIRE(MakePrivateMountDir(dir).ok());
  const std::string ns1 = dir + "/ns1", ns2 = dir + "/ns2", ns3 = dir + "/ns3";
  for (const std::string& ns : {ns1, ns2, ns3}) REQUIRE(CreatePinnedNetns(ns).ok());

  LinuxBridgeDriver bridges;
  DeferredDetachDriver driver(&bridges);
  Network network;
  network.bridge = "bd0";
  network.subnet = {*ParseIpv4("10.78.0.0"), 24};
  network.gateway = *ParseIpv4("10.78.0.1");
  REQUIRE(driver.EnsureBridge(network).ok());

  const Endpoint first = MakeEndpoint("vd1", "10.78.0.2");
  REQUIRE(driver.AttachEndpoint(network, first, ns1, true).ok());
  REQUIRE(LinkExists("vd1"));
  {
    DeferredDetachDriver::Deferral deferral;
    REQUIRE(driver.DetachEndpoint(first).ok());
  }
  // The same address again: attaching waits for the old pair to be gone.
  const Endpoint again = MakeEndpoint("vd2", "10.78.0.2");
  REQUIRE(driver.AttachEndpoint(network, again, ns2, true).ok());
  CHECK_FALSE(LinkExists("vd1"));
  CHECK(LinkExists("vd2"));

  // Outside a Deferral (docker network disconnect) the pair is gone on return.
  REQUIRE(driver.DetachEndpoint(again).ok());
  CHECK_FALSE(LinkExists("vd2"));

  // A namespace unpinned right after the detach takes the pair with it,
  // possibly before the worker gets to it: both are fine.
  const Endpoint third = MakeEndpoint("vd3", "10.78.0.3");
  REQUIRE(driver.AttachEndpoint(network, third, ns3, true).ok());
  {
    DeferredDetachDriver::Deferral deferral;
    REQUIRE(driver.DetachEndpoint(third).ok());
  }
  REQUIRE(RemovePinnedNetns(ns3).ok());
  driver.Drain();
  for (int i = 0; i < 200 && LinkExists("vd3"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK_FALSE(LinkExists("vd3"));

  REQUIRE(driver.RemoveBridge(network).ok());
  CHECK_FALSE(LinkExists("bd0"));
  for (const std::string& ns : {ns1, ns2}) REQUIRE(RemovePinnedNetns(ns).ok());
  umount2(dir.c_str(), MNT_DETACH);
  RemoveAll(dir).IgnoreError();
}

}  // namespace
}  // namespace berth::netd
