#include "netd/network/network_rules.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "common/status.h"

namespace berth::netd {
namespace {

constexpr char kOwner[] = "networks";

}  // namespace

absl::StatusOr<std::vector<FirewallRule>> NetworkFirewallRules(
    const std::vector<Network>& networks) {
  std::vector<const Network*> bridges;
  for (const Network& network : networks) {
    if (network.IsBridge() && !network.bridge.empty()) bridges.push_back(&network);
  }
  std::vector<FirewallRule> rules;
  for (const Network* network : bridges) {
    ASSIGN_OR_RETURN(std::string bridge, NftQuote(network->bridge));
    const std::string subnet = network->subnet.ToString();
    if (network->internal) {
      rules.push_back({Chain::kForward,
                       absl::StrCat("iifname ", bridge, " oifname != ", bridge, " drop"), 0,
                       Family::kBoth});
      rules.push_back({Chain::kForward,
                       absl::StrCat("oifname ", bridge, " iifname != ", bridge, " drop"), 0,
                       Family::kBoth});
      continue;
    }
    std::vector<std::string> others;
    for (const Network* other : bridges) {
      if (other == network) continue;
      ASSIGN_OR_RETURN(std::string name, NftQuote(other->bridge));
      others.push_back(name);
    }
    if (!others.empty()) {
      rules.push_back(
          {Chain::kForward,
           absl::StrCat("iifname ", bridge, " oifname { ", absl::StrJoin(others, ", "), " } drop"),
           0, Family::kBoth});
    }
    rules.push_back({Chain::kPostrouting,
                     absl::StrCat("ip saddr ", subnet, " oifname != ", bridge, " masquerade"), 0});
    if (network->enable_ipv6) {
      rules.push_back({Chain::kPostrouting,
                       absl::StrCat("ip6 saddr ", network->subnet6.ToString(),
                                    " oifname != ", bridge, " masquerade"),
                       0, Family::kIpv6});
    }
  }
  return rules;
}

absl::Status NetworkRules::WriteLocked() {
  std::vector<Network> networks;
  for (const auto& [id, network] : networks_) networks.push_back(network);
  ASSIGN_OR_RETURN(std::vector<FirewallRule> rules, NetworkFirewallRules(networks));
  return firewall_->SetRules(kOwner, std::move(rules));
}

absl::Status NetworkRules::NetworkCreated(const Network& network) {
  if (!network.IsBridge()) return absl::OkStatus();
  std::lock_guard<std::mutex> lock(mu_);
  networks_[network.id] = network;
  absl::Status status = WriteLocked();
  if (!status.ok()) networks_.erase(network.id);
  return status;
}

void NetworkRules::NetworkRemoved(const Network& network) {
  std::lock_guard<std::mutex> lock(mu_);
  if (networks_.erase(network.id) == 0) return;
  if (absl::Status status = WriteLocked(); !status.ok()) {
    spdlog::warn("firewall rules after removing network {}: {}", network.name, status.ToString());
  }
}

}  // namespace berth::netd
