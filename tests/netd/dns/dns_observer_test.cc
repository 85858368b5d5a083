#include "netd/dns/dns_observer.h"

#include <catch2/catch.hpp>

#include "common/fs.h"
#include "tests/netd/dns/netns_thread.h"

namespace berth::netd::dns {
namespace {

Network MakeNetwork(const std::string& id, const std::string& name) {
  Network network;
  network.id = id;
  network.name = name;
  return network;
}

Endpoint MakeEndpoint(const std::string& container_id, const std::string& network_id,
                      const std::string& name, uint32_t address,
                      std::vector<std::string> aliases = {}) {
  Endpoint endpoint;
  endpoint.container_id = container_id;
  endpoint.network_id = network_id;
  endpoint.container_name = name;
  endpoint.address = address;
  endpoint.aliases = std::move(aliases);
  return endpoint;
}

struct Fixture {
  Fixture() {
    EnterPrivateNetns();
    dir = "/tmp/doXXXXXX";
    REQUIRE(mkdtemp(dir.data()) != nullptr);
    auto started = EventLoop::Start();
    REQUIRE(started.ok());
    loop = std::move(*started);
    ServerOptions options;
    options.port = 5300;
    observer = std::make_unique<DnsObserver>(loop.get(), dir, dir + "/resolv.conf", options);
    REQUIRE(WriteFileAtomic(dir + "/resolv.conf", "nameserver 10.9.9.9\n").ok());
  }
  ~Fixture() {
    observer.reset();
    RemoveAll(dir).IgnoreError();
  }
  std::string dir;
  std::unique_ptr<EventLoop> loop;
  std::unique_ptr<DnsObserver> observer;
  ContainerNetns a;
  ContainerNetns b;
};

const std::string kIdA = "aaaaaaaaaaaa1111";
const std::string kIdB = "bbbbbbbbbbbb2222";
const std::string kIdC = "cccccccccccc3333";

TEST_CASE("names, aliases, short IDs and name.network resolve on shared user networks only") {
  Fixture f;
  const Network mynet = MakeNetwork("n1", "MyNet");
  const Network other = MakeNetwork("n2", "other");
  const Network bridge = MakeNetwork("n0", "bridge");
  REQUIRE(f.observer->NetworkCreated(mynet).ok());
  REQUIRE(f.observer->NetworkCreated(other).ok());
  REQUIRE(f.observer->NetworkCreated(bridge).ok());
  REQUIRE(
      f.observer
          ->EndpointCreated(mynet, MakeEndpoint(kIdA, "n1", "web", 0x0a000002, {"Www"}), f.a.path())
          .ok());
  REQUIRE(f.observer->EndpointCreated(mynet, MakeEndpoint(kIdB, "n1", "db", 0x0a000003), f.b.path())
              .ok());
  // C only on another network and on the default bridge.
  CHECK_FALSE(
      f.observer->EndpointCreated(other, MakeEndpoint(kIdC, "n2", "cache", 0x0a010002), "/none")
          .ok());
  REQUIRE(
      f.observer->EndpointCreated(bridge, MakeEndpoint(kIdC, "n0", "cache", 0xac110002), "/none")
          .ok());
  CHECK(f.observer->Serving(kIdA));
  CHECK(f.observer->Serving(kIdB));
  // The bridge endpoint needs no server; the failed one left nothing.
  CHECK_FALSE(f.observer->Serving(kIdC));

  using V = std::vector<uint32_t>;
  CHECK(f.observer->Lookup(kIdB, "web") == V{0x0a000002});
  CHECK(f.observer->Lookup(kIdB, "www") == V{0x0a000002});
  CHECK(f.observer->Lookup(kIdB, "web.mynet") == V{0x0a000002});
  CHECK(f.observer->Lookup(kIdB, "aaaaaaaaaaaa") == V{0x0a000002});
  CHECK(f.observer->Lookup(kIdB, "aaaaaaaaaaa").empty());
  CHECK(f.observer->Lookup(kIdA, "db") == V{0x0a000003});
  CHECK(f.observer->Lookup(kIdA, "web") == V{0x0a000002});
  CHECK(f.observer->Lookup(kIdA, "cache").empty());
  CHECK(f.observer->Lookup(kIdC, "web").empty());
  CHECK(f.observer->Lookup("nobody", "web").empty());

  CHECK(f.observer->ReverseLookup(kIdB, 0x0a000002) == "web.MyNet");
  CHECK(f.observer->ReverseLookup(kIdB, 0x0a010002).empty());
  CHECK(f.observer->ReverseLookup(kIdC, 0x0a000002).empty());

  f.observer->EndpointRemoved(mynet, MakeEndpoint(kIdA, "n1", "web", 0x0a000002));
  CHECK_FALSE(f.observer->Serving(kIdA));
  CHECK(f.observer->Lookup(kIdB, "web").empty());
}

TEST_CASE("a renamed container answers to its new name only") {
  Fixture f;
  const Network mynet = MakeNetwork("n1", "mynet");
  REQUIRE(f.observer->NetworkCreated(mynet).ok());
  REQUIRE(
      f.observer
          ->EndpointCreated(mynet, MakeEndpoint(kIdA, "n1", "web", 0x0a000002, {"www"}), f.a.path())
          .ok());
  REQUIRE(f.observer->EndpointCreated(mynet, MakeEndpoint(kIdB, "n1", "db", 0x0a000003), f.b.path())
              .ok());
  f.observer->EndpointRenamed(mynet, MakeEndpoint(kIdA, "n1", "front", 0x0a000002, {"www"}));
  using V = std::vector<uint32_t>;
  CHECK(f.observer->Lookup(kIdB, "web").empty());
  CHECK(f.observer->Lookup(kIdB, "front") == V{0x0a000002});
  CHECK(f.observer->Lookup(kIdB, "front.mynet") == V{0x0a000002});
  CHECK(f.observer->Lookup(kIdB, "www") == V{0x0a000002});
  CHECK(f.observer->ReverseLookup(kIdB, 0x0a000002) == "front.mynet");
  // An endpoint the observer does not know is not made up by a rename.
  f.observer->EndpointRenamed(mynet, MakeEndpoint(kIdC, "n1", "ghost", 0x0a000009));
  CHECK(f.observer->Lookup(kIdB, "ghost").empty());
}

TEST_CASE("AAAA addresses and --link aliases (for the linking container only)") {
  Fixture f;
  Network mynet = MakeNetwork("n1", "mynet");
  mynet.enable_ipv6 = true;
  REQUIRE(f.observer->NetworkCreated(mynet).ok());
  Endpoint web = MakeEndpoint(kIdA, "n1", "web", 0x0a000002);
  web.address6 = *ParseIpv6("fd00:1::2");
  Endpoint client = MakeEndpoint(kIdB, "n1", "client", 0x0a000003);
  client.links = {"web:site"};
  REQUIRE(f.observer->EndpointCreated(mynet, web, f.a.path()).ok());
  REQUIRE(f.observer->EndpointCreated(mynet, client, f.b.path()).ok());

  const std::string raw(web.address6.begin(), web.address6.end());
  CHECK(f.observer->Lookup6(kIdB, "web") == std::vector<std::string>{raw});
  CHECK(f.observer->Lookup6(kIdA, "client").empty());
  CHECK(f.observer->Lookup(kIdB, "site") == std::vector<uint32_t>{0x0a000002});
  CHECK(f.observer->Lookup6(kIdB, "site") == std::vector<std::string>{raw});
  CHECK(f.observer->Lookup(kIdA, "site").empty());
}

TEST_CASE("a container's --dns list outlives netd; the host's resolvers otherwise") {
  Fixture f;
  REQUIRE(f.observer->SetUpstreams(kIdA, {"1.1.1.1", "8.8.8.8"}).ok());
  CHECK(ReadFile(f.dir + "/dns/" + kIdA).value() == "1.1.1.1\n8.8.8.8\n");
  REQUIRE(f.observer->SetUpstreams(kIdB, {}).ok());
  REQUIRE(f.observer->SetUpstreams(kIdC, {"9.9.9.9"}).ok());
  REQUIRE(f.observer->Reconcile({kIdA}).ok());
  CHECK(ReadFile(f.dir + "/dns/" + kIdA).ok());
  CHECK_FALSE(ReadFile(f.dir + "/dns/" + kIdC).ok());
  REQUIRE(f.observer->SetUpstreams(kIdA, {}).ok());
  CHECK_FALSE(ReadFile(f.dir + "/dns/" + kIdA).ok());
  CHECK_FALSE(f.observer->SetUpstreams("../x", {"1.1.1.1"}).ok());
}

TEST_CASE("while replaying, a server that cannot start does not fail the endpoint") {
  Fixture f;
  const Network mynet = MakeNetwork("n1", "mynet");
  REQUIRE(f.observer->NetworkCreated(mynet).ok());
  f.observer->set_replaying(true);
  CHECK(
      f.observer->EndpointCreated(mynet, MakeEndpoint(kIdA, "n1", "web", 1), "/nonexistent").ok());
  f.observer->set_replaying(false);
  CHECK(f.observer->Lookup(kIdA, "web") == std::vector<uint32_t>{1});
}

}  // namespace
}  // namespace berth::netd::dns
