// The packet-filter side of bridge networks, as an observer over netd's
// firewall (netd/firewall): containers of a network reach the outside
// through masquerade unless the network is --internal; containers on
// different networks cannot reach each other (Docker's isolation); an
// --internal network's traffic never leaves its bridge.
//
// One firewall owner ("networks") whose complete rule list is recomputed
// from every network this observer knows on each change: isolation is a
// property of the set of networks, not of one.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "netd/firewall/firewall.h"
#include "netd/network/observer.h"

namespace berth::netd {

// The rules for `networks` (bridge networks only; others are skipped).
absl::StatusOr<std::vector<FirewallRule>> NetworkFirewallRules(
    const std::vector<Network>& networks);

class NetworkRules : public NetworkObserver {
 public:
  explicit NetworkRules(Firewall* firewall) : firewall_(firewall) {}

  absl::Status NetworkCreated(const Network& network) override;
  void NetworkRemoved(const Network& network) override;

 private:
  absl::Status WriteLocked();

  Firewall* const firewall_;
  std::mutex mu_;
  std::map<std::string, Network> networks_;
};

}  // namespace berth::netd
