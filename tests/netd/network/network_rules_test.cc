#include "netd/network/network_rules.h"

#include <catch2/catch.hpp>

namespace berth::netd {
namespace {

class FakeFirewall : public Firewall {
 public:
  absl::Status SetRules(const std::string& owner, std::vector<FirewallRule> rules) override {
    if (!fail.ok()) return fail;
    owners[owner] = std::move(rules);
    return absl::OkStatus();
  }
  absl::Status RemoveRules(const std::string& owner) override {
    owners.erase(owner);
    return absl::OkStatus();
  }
  std::vector<std::string> Texts(Chain chain) const {
    std::vector<std::string> out;
    auto it = owners.find("networks");
    if (it == owners.end()) return out;
    for (const FirewallRule& rule : it->second) {
      if (rule.chain == chain) out.push_back(rule.text);
    }
    return out;
  }
  std::map<std::string, std::vector<FirewallRule>> owners;
  absl::Status fail;
};

Network Bridge(const std::string& id, const std::string& bridge, const std::string& subnet,
               bool internal = false) {
  Network network;
  network.id = id;
  network.name = "net-" + id;
  network.bridge = bridge;
  network.subnet = *ParseSubnet(subnet);
  network.internal = internal;
  return network;
}

}  // namespace

TEST_CASE("masquerade, isolation and internal networks", "[netd][network]") {
  FakeFirewall firewall;
  NetworkRules rules(&firewall);
  REQUIRE(rules.NetworkCreated(Bridge("a", "be1", "10.1.0.0/24")).ok());
  CHECK(firewall.Texts(Chain::kPostrouting) ==
        std::vector<std::string>{"ip saddr 10.1.0.0/24 oifname != \"be1\" masquerade"});
  CHECK(firewall.Texts(Chain::kForward).empty());

  Network host;
  host.id = "h";
  host.name = "host";
  host.driver = "host";
  REQUIRE(rules.NetworkCreated(host).ok());
  REQUIRE(rules.NetworkCreated(Bridge("b", "br-b", "10.2.0.0/24")).ok());
  REQUIRE(rules.NetworkCreated(Bridge("c", "br-c", "10.3.0.0/24", /*internal=*/true)).ok());
  CHECK(firewall.Texts(Chain::kForward) ==
        std::vector<std::string>{"iifname \"be1\" oifname { \"br-b\", \"br-c\" } drop",
                                 "iifname \"br-b\" oifname { \"be1\", \"br-c\" } drop",
                                 "iifname \"br-c\" oifname != \"br-c\" drop",
                                 "oifname \"br-c\" iifname != \"br-c\" drop"});
  // No way out for the internal network.
  CHECK(firewall.Texts(Chain::kPostrouting).size() == 2);

  rules.NetworkRemoved(Bridge("b", "br-b", "10.2.0.0/24"));
  CHECK(firewall.Texts(Chain::kForward).size() == 3);

  // A refused write keeps the network out of the rules.
  firewall.fail = absl::InternalError("nft");
  CHECK_FALSE(rules.NetworkCreated(Bridge("d", "br-d", "10.4.0.0/24")).ok());
  firewall.fail = absl::OkStatus();
  REQUIRE(rules.NetworkCreated(Bridge("e", "br-e", "10.5.0.0/24")).ok());
  for (const std::string& text : firewall.Texts(Chain::kForward)) {
    CHECK(text.find("br-d") == std::string::npos);
  }
  // Names nft cannot carry are refused.
  CHECK_FALSE(rules.NetworkCreated(Bridge("f", "bad\"name", "10.6.0.0/24")).ok());
}

}  // namespace berth::netd

namespace berth::netd {

TEST_CASE("IPv6 networks masquerade in the ip6 table; isolation holds in both", "[netd][network]") {
  FakeFirewall firewall;
  NetworkRules rules(&firewall);
  Network v6 = Bridge("a", "be1", "10.1.0.0/24");
  v6.enable_ipv6 = true;
  v6.subnet6 = *ParseSubnet6("fd00:1::/64");
  REQUIRE(rules.NetworkCreated(v6).ok());
  REQUIRE(rules.NetworkCreated(Bridge("b", "be2", "10.2.0.0/24")).ok());
  std::map<std::string, Family> families;
  for (const FirewallRule& rule : firewall.owners["networks"]) families[rule.text] = rule.family;
  CHECK(families["ip saddr 10.1.0.0/24 oifname != \"be1\" masquerade"] == Family::kIpv4);
  CHECK(families["ip6 saddr fd00:1::/64 oifname != \"be1\" masquerade"] == Family::kIpv6);
  CHECK(families["iifname \"be1\" oifname { \"be2\" } drop"] == Family::kBoth);
  CHECK(families.count("ip6 saddr fd00:1::/64 oifname != \"be2\" masquerade") == 0);
}

}  // namespace berth::netd
