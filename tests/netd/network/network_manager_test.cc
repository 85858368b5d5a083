#include "netd/network/network_manager.h"

#include <catch2/catch.hpp>

#include "absl/time/clock.h"
#include "common/fs.h"
#include "netd/network/render.h"
#include "netd/network/store.h"
#include "tests/netd/fake_driver.h"
#include "tests/netd/test_util.h"

namespace berth::netd {
namespace {

std::vector<std::string> AllMigrations() { return NetworkStore::Migrations(); }

struct Fixture {
  Fixture() : dir(testing::MakeTempDir()) { Reopen(); }
  ~Fixture() {
    manager.reset();
    db.reset();
    RemoveAll(dir).IgnoreError();
  }
  void Reopen(NetworkConfig config = Config()) {
    manager.reset();
    db.reset();
    auto opened = Database::Open(dir + "/netd.db", AllMigrations());
    REQUIRE(opened.ok());
    db = std::move(*opened);
    auto made = NetworkManager::Open(db.get(), &driver, std::move(config));
    INFO(made.status().ToString());
    REQUIRE(made.ok());
    manager = std::move(*made);
  }
  static NetworkConfig Config() {
    NetworkConfig config;
    config.bridge_name = "bt0";
    config.pools = {{*ParseSubnet("10.50.0.0/16"), 24}};
    config.host_subnets = [] {
      return absl::StatusOr<std::vector<Subnet>>(
          std::vector<Subnet>{*ParseSubnet("10.50.0.0/24"), *ParseSubnet("0.0.0.0/0")});
    };
    config.netns_dir = "/nonexistent";
    return config;
  }
  Network Create(const std::string& json) {
    auto network = manager->CreateNetwork(Json::parse(json));
    INFO(network.status().ToString());
    REQUIRE(network.ok());
    return *network;
  }
  Endpoint Connect(const std::string& container, const std::string& network,
                   EndpointRequest request = {}) {
    auto endpoint = manager->Connect(container, "name-" + container, network, request, "/ns");
    INFO(endpoint.status().ToString());
    REQUIRE(endpoint.ok());
    return *endpoint;
  }

  std::string dir;
  testing::FakeBridgeDriver driver;
  std::unique_ptr<Database> db;
  std::unique_ptr<NetworkManager> manager;
};

class RecordingObserver : public NetworkObserver {
 public:
  absl::Status NetworkCreated(const Network& network) override {
    events.push_back("network+ " + network.name);
    return absl::OkStatus();
  }
  void NetworkRemoved(const Network& network) override {
    events.push_back("network- " + network.name);
  }
  absl::Status EndpointCreated(const Network& network, const Endpoint& endpoint,
                               const std::string& netns_path) override {
    events.push_back("endpoint+ " + network.name + " " + endpoint.container_id + " " + netns_path);
    return fail;
  }
  void EndpointRemoved(const Network& network, const Endpoint& endpoint) override {
    events.push_back("endpoint- " + network.name + " " + endpoint.container_id);
  }
  void EndpointRenamed(const Network& network, const Endpoint& endpoint) override {
    events.push_back("endpoint= " + network.name + " " + endpoint.container_id + " " +
                     endpoint.container_name);
  }
  std::vector<std::string> events;
  absl::Status fail;
};

}  // namespace

TEST_CASE("predefined networks and the default bridge", "[netd][network]") {
  Fixture f;
  auto networks = f.manager->ListNetworks();
  REQUIRE(networks.ok());
  std::set<std::string> names;
  for (const Network& network : *networks) names.insert(network.name);
  CHECK(names == std::set<std::string>{"bridge", "host", "none"});
  Network bridge = *f.manager->GetNetwork("bridge");
  // The first pool subnet the host does not route already.
  CHECK(bridge.subnet.ToString() == "10.50.1.0/24");
  CHECK(FormatIpv4(bridge.gateway) == "10.50.1.1");
  CHECK(bridge.bridge == "bt0");
  CHECK(f.driver.bridges.count("bt0") == 1);
  for (const char* name : {"bridge", "host", "none"}) {
    auto removed = f.manager->RemoveNetwork(name);
    CHECK(removed.code() == absl::StatusCode::kPermissionDenied);
    CHECK(std::string(removed.message()) ==
          std::string(name) + " is a pre-defined network and cannot be removed");
  }

  // IDs and the chosen subnet survive a restart.
  const std::string id = bridge.id;
  f.Reopen();
  CHECK(f.manager->GetNetwork("bridge")->id == id);
  CHECK(f.manager->GetNetwork("bridge")->subnet.ToString() == "10.50.1.0/24");

  // "bip" sets the gateway and subnet.
  NetworkConfig config = Fixture::Config();
  config.bip = "10.60.0.254/24";
  f.Reopen(config);
  bridge = *f.manager->GetNetwork("bridge");
  CHECK(bridge.subnet.ToString() == "10.60.0.0/24");
  CHECK(FormatIpv4(bridge.gateway) == "10.60.0.254");
  CHECK(bridge.id == id);

  // A changed configuration waits while containers use the bridge.
  f.Connect("busy", "bridge");
  NetworkConfig renamed = Fixture::Config();
  renamed.bridge_name = "bt1";
  f.Reopen(renamed);
  bridge = *f.manager->GetNetwork("bridge");
  CHECK(bridge.bridge == "bt0");
  CHECK(bridge.subnet.ToString() == "10.60.0.0/24");
  CHECK(bridge.id == id);
  CHECK(f.manager->EndpointsOf("busy")->size() == 1);
  // Once they are gone it moves.
  REQUIRE(f.manager->DisconnectAll("busy").ok());
  f.Reopen(renamed);
  bridge = *f.manager->GetNetwork("bridge");
  CHECK(bridge.bridge == "bt1");
  CHECK(bridge.id == id);
  CHECK(f.driver.bridges.count("bt1") == 1);
}

TEST_CASE("network create: Docker's rules and errors", "[netd][network]") {
  Fixture f;
  Network net = f.Create(R"({"Name": "n1", "Labels": {"a": "b"},
      "IPAM": {"Config": [{"Subnet": "10.70.0.0/24", "Gateway": "10.70.0.254",
                           "IPRange": "10.70.0.128/25"}]}})");
  CHECK(net.id.size() == 64);
  CHECK(net.bridge == "br-" + net.id.substr(0, 12));
  CHECK(f.driver.bridges.count(net.bridge) == 1);
  CHECK(net.labels.at("a") == "b");
  CHECK(net.ip_range.ToString() == "10.70.0.128/25");

  auto error = [&](const std::string& json) {
    auto made = f.manager->CreateNetwork(Json::parse(json));
    REQUIRE_FALSE(made.ok());
    return made.status();
  };
  auto overlap = error(R"({"Name": "n2", "IPAM": {"Config": [{"Subnet": "10.70.0.0/16"}]}})");
  CHECK(overlap.code() == absl::StatusCode::kPermissionDenied);
  CHECK(std::string(overlap.message()) ==
        "invalid pool request: Pool overlaps with other one on this address space");
  auto duplicate = error(R"({"Name": "n1"})");
  CHECK(duplicate.code() == absl::StatusCode::kAlreadyExists);
  CHECK(std::string(duplicate.message()) == "network with name n1 already exists");
  CHECK(error(R"({"Name": "n3", "IPAM": {"Config": [{"Subnet": "10.71.0.0/24",
      "Gateway": "10.72.0.1"}]}})")
            .code() == absl::StatusCode::kInvalidArgument);
  CHECK(error(R"({"Name": "n3", "IPAM": {"Config": [{"Subnet": "10.71.0.0/24",
      "IPRange": "10.72.0.0/25"}]}})")
            .code() == absl::StatusCode::kInvalidArgument);
  CHECK(error(R"({"Name": "n3", "Driver": "macvlan2"})").code() == absl::StatusCode::kNotFound);
  CHECK(error(R"({"Name": "n3", "Driver": "host"})").code() == absl::StatusCode::kPermissionDenied);
  CHECK(error(R"({"Name": ""})").code() == absl::StatusCode::kInvalidArgument);
  CHECK(error(R"({"Name": "bad/name"})").code() == absl::StatusCode::kInvalidArgument);
  CHECK(error(R"({"Name": "n3", "Options": {"com.docker.network.bridge.name": "bt0"}})").code() ==
        absl::StatusCode::kAlreadyExists);
  // Nothing half-made.
  CHECK(f.manager->ListNetworks()->size() == 4);
  CHECK(f.driver.bridges.size() == 2);

  // Automatic subnets skip host routes and other networks.
  Network automatic = f.Create(R"({"Name": "auto", "Internal": true})");
  CHECK(automatic.subnet.ToString() == "10.50.2.0/24");
  CHECK(automatic.internal);
  CHECK_FALSE(automatic.configured_subnet);
  CHECK(net.configured_subnet);
  EndpointRequest fixed;
  fixed.address = *ParseIpv4("10.50.2.9");
  auto refused = f.manager->Connect("x", "x", "auto", fixed, "/ns");
  CHECK(std::string(refused.status().message()) ==
        "user specified IP address is supported only when connecting to networks with user "
        "configured subnets");
  // Restarts keep knowing it.
  f.Reopen();
  CHECK(f.manager->GetNetwork("n1")->configured_subnet);
  CHECK_FALSE(f.manager->GetNetwork("auto")->configured_subnet);
  CHECK(f.manager->GetNetwork(automatic.id.substr(0, 5))->name == "auto");
  auto missing = f.manager->GetNetwork("nope");
  CHECK(missing.status().code() == absl::StatusCode::kNotFound);
  CHECK(std::string(missing.status().message()) == "network nope not found");
}

TEST_CASE("endpoints lease addresses that survive restarts", "[netd][network]") {
  Fixture f;
  f.Create(R"({"Name": "n", "IPAM": {"Config": [{"Subnet": "10.80.0.0/24"}]}})");
  Endpoint a = f.Connect("a", "n");
  Endpoint b = f.Connect("b", "n");
  CHECK(FormatIpv4(a.address) == "10.80.0.2");
  CHECK(FormatIpv4(b.address) == "10.80.0.3");
  CHECK(FormatMac(a.mac) == "02:42:0a:50:00:02");
  CHECK(a.interface == "eth0");
  CHECK(a.host_interface.rfind("veth", 0) == 0);
  CHECK(f.driver.veths.size() == 2);

  // After a restart the leases are still taken.
  f.Reopen();
  Endpoint c = f.Connect("c", "n");
  CHECK(FormatIpv4(c.address) == "10.80.0.4");

  // Released addresses are handed out again.
  REQUIRE(f.manager->DisconnectAll("a").ok());
  CHECK(f.driver.veths.count(a.host_interface) == 0);
  CHECK(FormatIpv4(f.Connect("d", "n").address) == "10.80.0.2");

  EndpointRequest fixed;
  fixed.address = *ParseIpv4("10.80.0.99");
  fixed.aliases = {"web"};
  fixed.mac = *ParseMac("02:42:aa:bb:cc:dd");
  Endpoint e = f.Connect("e", "n", fixed);
  CHECK(FormatIpv4(e.address) == "10.80.0.99");
  CHECK(e.static_address);
  CHECK(FormatMac(e.mac) == "02:42:aa:bb:cc:dd");
  auto again = f.manager->Connect("f", "f", "n", fixed, "/ns");
  CHECK(again.status().code() == absl::StatusCode::kAlreadyExists);
  CHECK(std::string(again.status().message()) == "Address already in use: 10.80.0.99");

  // A second network: eth1, no second default route.
  f.Create(R"({"Name": "m", "IPAM": {"Config": [{"Subnet": "10.81.0.0/24"}]}})");
  Endpoint e2 = f.Connect("e", "m");
  CHECK(e2.interface == "eth1");
  auto twice = f.manager->Connect("e", "name-e", "m", {}, "/ns");
  CHECK(twice.status().code() == absl::StatusCode::kPermissionDenied);
  CHECK(std::string(twice.status().message()) ==
        "endpoint with name name-e already exists in network m");
  REQUIRE(f.manager->Disconnect("e", "m").ok());
  CHECK(f.manager->Disconnect("e", "m").code() == absl::StatusCode::kPermissionDenied);
  CHECK(f.manager->EndpointsOf("e")->size() == 1);

  // --ip and aliases on the default bridge are Docker errors.
  auto bridge_ip = f.manager->Connect("g", "g", "bridge", fixed, "/ns");
  CHECK(std::string(bridge_ip.status().message()) ==
        "user specified IP address is supported on user defined networks only");

  // A failing attach leaves no lease.
  f.driver.fail_attach = absl::InternalError("boom");
  CHECK_FALSE(f.manager->Connect("h", "h", "n", {}, "/ns").ok());
  CHECK(f.manager->EndpointsOf("h")->empty());
}

TEST_CASE("network rm, prune and reconcile", "[netd][network]") {
  Fixture f;
  Network n = f.Create(R"({"Name": "n", "Labels": {"keep": "yes"}})");
  f.Create(R"({"Name": "gone"})");
  f.Connect("a", "n");
  auto busy = f.manager->RemoveNetwork("n");
  CHECK(busy.code() == absl::StatusCode::kPermissionDenied);
  CHECK(std::string(busy.message()) ==
        "error while removing network: network n id " + n.id + " has active endpoints");

  auto keep = PruneKeepFilter(Json::parse(R"({"label!": {"keep=yes": true}})"));
  REQUIRE(keep.ok());
  auto pruned = f.manager->PruneNetworks(*keep);
  REQUIRE(pruned.ok());
  CHECK(*pruned == std::vector<std::string>{"gone"});
  CHECK_FALSE(PruneKeepFilter(Json::parse(R"({"dangling": ["true"]})")).ok());

  // Endpoints of containers whose sandbox is gone are released at start.
  REQUIRE(f.manager->Reconcile({}).ok());
  CHECK(f.manager->EndpointsOf("a")->empty());
  CHECK(f.driver.veths.empty());
  REQUIRE(f.manager->RemoveNetwork("n").ok());
  CHECK(f.driver.bridges.count(n.bridge) == 0);

  // A clean close removes the bridges nobody uses.
  f.Connect("b", "bridge");
  REQUIRE(f.manager->Close().ok());
  CHECK(f.driver.bridges.count("bt0") == 1);
  REQUIRE(f.manager->DisconnectAll("b").ok());
  REQUIRE(f.manager->Close().ok());
  CHECK(f.driver.bridges.empty());
}

TEST_CASE("observers see networks and endpoints, and can refuse an endpoint", "[netd][network]") {
  Fixture f;
  f.Create(R"({"Name": "n"})");
  f.Connect("a", "n");
  RecordingObserver observer;
  REQUIRE(f.manager->AddObserver(&observer).ok());
  // Replayed: what exists now.
  CHECK(observer.events ==
        std::vector<std::string>{"network+ bridge", "network+ n", "endpoint+ n a /nonexistent/a"});
  observer.events.clear();
  f.Connect("b", "n");
  REQUIRE(f.manager->Disconnect("b", "n").ok());
  observer.fail = absl::InternalError("no DNS");
  CHECK_FALSE(f.manager->Connect("c", "c", "n", {}, "/ns").ok());
  CHECK(f.manager->EndpointsOf("c")->empty());
  CHECK(observer.events ==
        std::vector<std::string>{"endpoint+ n b /ns", "endpoint- n b", "endpoint+ n c /ns"});
}

TEST_CASE("Docker's JSON for networks and endpoints", "[netd][network]") {
  Fixture f;
  Network n = f.Create(R"({"Name": "n", "IPAM": {"Config": [{"Subnet": "10.90.0.0/24"}]}})");
  EndpointRequest request;
  request.aliases = {"db"};
  Endpoint e = f.Connect("c0ffee0123456789", "n", request);
  Json network = RenderNetwork(n, {e});
  CHECK(network["Name"] == "n");
  CHECK(network["IPAM"]["Config"][0]["Subnet"] == "10.90.0.0/24");
  CHECK(network["IPAM"]["Config"][0]["Gateway"] == "10.90.0.1");
  CHECK(network["Containers"]["c0ffee0123456789"]["IPv4Address"] == "10.90.0.2/24");
  CHECK(network["Containers"]["c0ffee0123456789"]["Name"] == "name-c0ffee0123456789");

  Network bridge = *f.manager->GetNetwork("bridge");
  Endpoint on_bridge = f.Connect("c0ffee0123456789", "bridge");
  Json settings = RenderNetworkSettings("sb", "/ns", {{n, e}, {bridge, on_bridge}}, {});
  CHECK(settings["IPAddress"] == FormatIpv4(on_bridge.address));
  CHECK(settings["Gateway"] == "10.50.1.1");
  CHECK(settings["SandboxKey"] == "/ns");
  CHECK(settings["Networks"]["n"]["Aliases"] == Json({"db"}));
  CHECK(settings["Networks"]["n"]["DNSNames"] ==
        Json({"name-c0ffee0123456789", "db", "c0ffee012345"}));
  CHECK(settings["Networks"]["n"]["NetworkID"] == n.id);
  CHECK(settings["Networks"]["bridge"]["DNSNames"].is_null());
  CHECK(FormatTime(1700000000123456789) == "2023-11-14T22:13:20.123456789Z");
}

}  // namespace berth::netd

namespace berth::netd {

TEST_CASE("IPv6 networks: subnets, addresses, errors and restarts", "[netd][network]") {
  Fixture f;
  auto error = [&](const std::string& json) {
    auto made = f.manager->CreateNetwork(Json::parse(json));
    REQUIRE_FALSE(made.ok());
    return made.status();
  };
  // --ipv6 --subnet fd00:1::/64 alone: the IPv4 subnet comes from the pools.
  Network v6 = f.Create(R"({"Name": "v6", "EnableIPv6": true,
      "IPAM": {"Config": [{"Subnet": "fd00:1::/64"}]}})");
  CHECK(v6.enable_ipv6);
  CHECK(v6.subnet6.ToString() == "fd00:1::/64");
  CHECK(FormatIpv6(v6.gateway6) == "fd00:1::1");
  CHECK(v6.subnet.prefix_length == 24);
  CHECK(v6.configured_subnet6);
  CHECK_FALSE(v6.configured_subnet);
  // Both families given.
  Network dual = f.Create(R"({"Name": "dual", "EnableIPv6": true,
      "IPAM": {"Config": [{"Subnet": "10.90.0.0/24"},
                          {"Subnet": "fd00:2::/64", "Gateway": "fd00:2::fe",
                           "IPRange": "fd00:2::100/120"}]}})");
  CHECK(dual.subnet.ToString() == "10.90.0.0/24");
  CHECK(FormatIpv6(dual.gateway6) == "fd00:2::fe");
  // --ipv6 without a subnet: a ULA /64 of its own.
  Network ula = f.Create(R"({"Name": "ula", "EnableIPv6": true})");
  CHECK(ula.subnet6.prefix_length == 64);
  CHECK(ula.subnet6.base[0] == 0xfd);

  auto overlap = error(R"({"Name": "o", "EnableIPv6": true,
      "IPAM": {"Config": [{"Subnet": "fd00:1::/48"}]}})");
  CHECK(overlap.code() == absl::StatusCode::kPermissionDenied);
  CHECK(std::string(overlap.message()) ==
        "invalid pool request: Pool overlaps with other one on this address space");
  auto gateway = error(R"({"Name": "o", "EnableIPv6": true,
      "IPAM": {"Config": [{"Subnet": "fd00:3::/64", "Gateway": "fd00:4::1"}]}})");
  CHECK(std::string(gateway.message()) ==
        "invalid network config: parent subnet fd00:3::/64 does not contain gateway fd00:4::1");
  CHECK(error(R"({"Name": "o", "IPAM": {"Config": [{"Subnet": "fd00:3::/64"}]}})").code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(error(R"({"Name": "o", "EnableIPv6": true, "IPAM": {"Config": [
      {"Subnet": "fd00:3::/64"}, {"Subnet": "fd00:5::/64"}]}})")
            .code() == absl::StatusCode::kInvalidArgument);

  Endpoint a = f.Connect("a", "v6");
  Endpoint b = f.Connect("b", "v6");
  CHECK(FormatIpv6(a.address6) == "fd00:1::2");
  CHECK(FormatIpv6(b.address6) == "fd00:1::3");
  EndpointRequest fixed;
  fixed.address6 = *ParseIpv6("fd00:1::42");
  CHECK(FormatIpv6(f.Connect("c", "v6", fixed).address6) == "fd00:1::42");
  auto taken = f.manager->Connect("d", "d", "v6", fixed, "/ns");
  CHECK(std::string(taken.status().message()) == "Address already in use: fd00:1::42");
  fixed.address6 = *ParseIpv6("fd00:9::42");
  auto outside = f.manager->Connect("d", "d", "v6", fixed, "/ns");
  CHECK(std::string(outside.status().message()) ==
        "no configured subnet or ip-range contain the IP address fd00:9::42");
  // Only the IPv4 default bridge: --ip6 is refused there.
  auto no_v6 = f.manager->Connect("d", "d", "bridge", fixed, "/ns");
  CHECK(no_v6.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(IsUnset(f.Connect("d", "bridge").address6));
  CHECK(FormatIpv6(f.Connect("e", "dual").address6) == "fd00:2::100");

  // Leases and configuration survive a restart; a released address is reused.
  f.Reopen();
  Network again = *f.manager->GetNetwork("dual");
  CHECK(again.enable_ipv6);
  CHECK(again.ip_range6.ToString() == "fd00:2::100/120");
  CHECK(FormatIpv6(f.manager->EndpointsOf("a")->at(0).address6) == "fd00:1::2");
  CHECK(f.manager->EndpointsOf("c")->at(0).static_address6);
  REQUIRE(f.manager->Disconnect("a", "v6").ok());
  CHECK(FormatIpv6(f.Connect("f", "v6").address6) == "fd00:1::2");

  Json rendered = RenderNetwork(again, *f.manager->EndpointsOf("e"));
  CHECK(rendered["EnableIPv6"] == true);
  CHECK(rendered["IPAM"]["Config"].size() == 2);
  CHECK(rendered["IPAM"]["Config"][1]["Subnet"] == "fd00:2::/64");
  CHECK(rendered["IPAM"]["Config"][1]["Gateway"] == "fd00:2::fe");
  CHECK(rendered["Containers"]["e"]["IPv6Address"] == "fd00:2::100/64");
  Json settings = RenderEndpointSettings(again, f.manager->EndpointsOf("e")->at(0));
  CHECK(settings["GlobalIPv6Address"] == "fd00:2::100");
  CHECK(settings["GlobalIPv6PrefixLen"] == 64);
  CHECK(settings["IPv6Gateway"] == "fd00:2::fe");
}

TEST_CASE("aux addresses are never handed out; attachable is kept", "[netd][network]") {
  Fixture f;
  Network net = f.Create(R"({"Name": "aux", "Attachable": true, "EnableIPv6": true,
      "IPAM": {"Config": [{"Subnet": "10.91.0.0/24", "AuxiliaryAddresses": {"router": "10.91.0.2",
                           "printer": "10.91.0.3"}},
                          {"Subnet": "fd00:7::/64",
                           "AuxiliaryAddresses": {"r6": "fd00:7::2"}}]}})");
  CHECK(net.attachable);
  CHECK(net.aux_addresses.size() == 3);
  Endpoint a = f.Connect("a", "aux");
  CHECK(FormatIpv4(a.address) == "10.91.0.4");
  CHECK(FormatIpv6(a.address6) == "fd00:7::3");
  EndpointRequest fixed;
  fixed.address = *ParseIpv4("10.91.0.2");
  auto taken = f.manager->Connect("b", "b", "aux", fixed, "/ns");
  CHECK(std::string(taken.status().message()) == "Address already in use: 10.91.0.2");

  f.Reopen();
  Network again = *f.manager->GetNetwork("aux");
  CHECK(again.attachable);
  Json rendered = RenderNetwork(again, {});
  CHECK(rendered["Attachable"] == true);
  CHECK(rendered["IPAM"]["Config"][0]["AuxiliaryAddresses"]["router"] == "10.91.0.2");
  CHECK(rendered["IPAM"]["Config"][1]["AuxiliaryAddresses"]["r6"] == "fd00:7::2");

  auto outside = f.manager->CreateNetwork(Json::parse(R"({"Name": "bad",
      "IPAM": {"Config": [{"Subnet": "10.92.0.0/24",
                           "AuxiliaryAddresses": {"x": "10.93.0.2"}}]}})"));
  REQUIRE_FALSE(outside.ok());
  CHECK(std::string(outside.status().message()) ==
        "invalid pool request: auxiliary address: (x:10.93.0.2) must belong to the master pool: "
        "10.92.0.0/24");
}

TEST_CASE("links of a user-defined network's endpoint are kept and shown", "[netd][network]") {
  Fixture f;
  f.Create(R"({"Name": "n", "IPAM": {"Config": [{"Subnet": "10.94.0.0/24"}]}})");
  auto request =
      ParseEndpointRequest(Json::parse(R"({"Links": ["web:site", "/db", "/cache:/a/c"]})"));
  REQUIRE(request.ok());
  CHECK(request->links == std::vector<std::string>{"web:site", "db:db", "cache:c"});
  f.Connect("a", "n", *request);
  f.Reopen();
  Endpoint a = f.manager->EndpointsOf("a")->at(0);
  CHECK(a.links == std::vector<std::string>{"web:site", "db:db", "cache:c"});
  CHECK(RenderEndpointSettings(*f.manager->GetNetwork("n"), a)["Links"].size() == 3);
}

}  // namespace berth::netd

namespace berth::netd {

TEST_CASE("macvlan networks: a parent that exists, one network per parent", "[netd][network]") {
  Fixture f;
  f.driver.bridges.insert("eth9");
  auto error = [&](const std::string& json) {
    auto made = f.manager->CreateNetwork(Json::parse(json));
    REQUIRE_FALSE(made.ok());
    return std::string(made.status().message());
  };
  CHECK(error(R"({"Name": "m", "Driver": "macvlan", "Options": {"parent": "nosuch"}})") ==
        "-o parent interface was not found on the host: nosuch");
  CHECK(error(R"({"Name": "m", "Driver": "macvlan"})").find("-o parent=") != std::string::npos);
  CHECK(error(R"({"Name": "m", "Driver": "macvlan",
      "Options": {"parent": "eth9", "macvlan_mode": "x"}})") ==
        "requested macvlan mode 'x' is not valid, 'bridge' mode is the macvlan driver default");
  const size_t bridges = f.driver.bridges.size();
  Network mv = f.Create(R"({"Name": "m", "Driver": "macvlan", "Options": {"parent": "eth9"},
      "IPAM": {"Config": [{"Subnet": "10.95.0.0/24"}]}})");
  CHECK(mv.IsMacvlan());
  CHECK(mv.bridge.empty());
  CHECK(f.driver.bridges.size() == bridges);
  CHECK(error(R"({"Name": "m2", "Driver": "macvlan", "Options": {"parent": "eth9"}})") ==
        "network m is already using parent interface eth9");
  CHECK(error(R"({"Name": "o", "IPAM": {"Config": [{"Subnet": "10.95.0.0/16"}]}})") ==
        "invalid pool request: Pool overlaps with other one on this address space");

  Endpoint a = f.Connect("a", "m");
  CHECK(FormatIpv4(a.address) == "10.95.0.2");
  CHECK(a.host_interface.empty());
  Json rendered = RenderNetwork(*f.manager->GetNetwork("m"), {a});
  CHECK(rendered["Driver"] == "macvlan");
  CHECK(rendered["IPAM"]["Config"][0]["Subnet"] == "10.95.0.0/24");
  REQUIRE(f.manager->Disconnect("a", "m").ok());
  REQUIRE(f.manager->RemoveNetwork("m").ok());
  CHECK(f.driver.bridges.count("eth9") == 1);
}

}  // namespace berth::netd

namespace berth::netd {

TEST_CASE("prune's until takes Docker's durations, timestamps and dates", "[netd][network]") {
  const int64_t now = int64_t{1700000000} * 1000000000;
  CHECK(*ParseUntil("1h", now) == now - int64_t{3600} * 1000000000);
  CHECK(*ParseUntil("1h30m", now) == now - int64_t{5400} * 1000000000);
  CHECK(*ParseUntil("1600000000", now) == int64_t{1600000000} * 1000000000);
  CHECK(*ParseUntil("1600000000.5", now) == int64_t{1600000000500000000});
  CHECK(*ParseUntil("2020-09-13T12:26:40Z", now) == int64_t{1600000000} * 1000000000);
  CHECK(*ParseUntil("2020-09-13", now) == int64_t{1599955200} * 1000000000);
  auto bad = ParseUntil("yesterday", now);
  CHECK(bad.status().code() == absl::StatusCode::kInvalidArgument);

  auto keep = PruneKeepFilter(Json::parse(R"({"until": {"10m": true}})"));
  REQUIRE(keep.ok());
  Network recent;
  recent.created = absl::ToUnixNanos(absl::Now());
  Network old;
  old.created = recent.created - int64_t{3600} * 1000000000;
  CHECK((*keep)(recent));
  CHECK_FALSE((*keep)(old));
}

TEST_CASE("a renamed container's endpoints carry the new name, also after a restart",
          "[netd][network]") {
  Fixture f;
  f.Create(R"({"Name": "n"})");
  f.Create(R"({"Name": "m"})");
  f.Connect("a", "n");
  f.Connect("a", "m");
  f.Connect("b", "n");
  RecordingObserver observer;
  REQUIRE(f.manager->AddObserver(&observer).ok());
  observer.events.clear();

  REQUIRE(f.manager->RenameContainer("a", "renamed").ok());
  CHECK(observer.events ==
        std::vector<std::string>{"endpoint= n a renamed", "endpoint= m a renamed"});
  f.Reopen();
  auto endpoints = f.manager->AllEndpoints();
  REQUIRE(endpoints.ok());
  REQUIRE(endpoints->size() == 3);
  for (const Endpoint& endpoint : *endpoints) {
    CHECK(endpoint.container_name == (endpoint.container_id == "a" ? "renamed" : "name-b"));
  }
  // A container without endpoints has nothing to rename.
  observer.events.clear();
  CHECK(f.manager->RenameContainer("nobody", "x").ok());
}

}  // namespace berth::netd
