// netd's data model: networks and the endpoints that attach containers to
// them. Addresses are host-order IPv4 integers (see netd/ipam/address.h).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "netd/ipam/address.h"
#include "netd/ipam/address6.h"

namespace berth::netd {

inline constexpr char kDefaultBridgeNetwork[] = "bridge";
inline constexpr char kHostNetwork[] = "host";
inline constexpr char kNoneNetwork[] = "none";
// A macvlan network's options (-o parent=eth0 -o macvlan_mode=bridge).
inline constexpr char kMacvlanParentOption[] = "parent";
inline constexpr char kMacvlanModeOption[] = "macvlan_mode";

struct Network {
  std::string id;
  std::string name;
  // "bridge", "macvlan", or "host"/"null" for the predefined networks of
  // those names.
  std::string driver = "bridge";
  // Nanoseconds since the epoch.
  int64_t created = 0;
  // Unset (prefix 0, base 0) for host/null.
  Subnet subnet;
  uint32_t gateway = 0;
  // Where container addresses come from; the whole subnet when unset.
  Subnet ip_range;
  bool has_ip_range = false;
  bool internal = false;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> options;
  // The host bridge (bridge driver only).
  std::string bridge;
  // The subnet came from the user (--subnet, bip), not from the pools.
  bool configured_subnet = false;
  // --attachable: accepted and shown, as Docker does outside swarm.
  bool attachable = false;
  // --aux-address name=address: reserved in the subnet, never handed out.
  std::map<std::string, std::string> aux_addresses;

  // --ipv6: a second subnet (the user's or a ULA /64) next to the IPv4 one.
  bool enable_ipv6 = false;
  Subnet6 subnet6;
  Ipv6 gateway6{};
  Subnet6 ip_range6;
  bool has_ip_range6 = false;
  bool configured_subnet6 = false;

  // bridge, host and none: listed as "builtin", never removable.
  bool Predefined() const {
    return name == kDefaultBridgeNetwork || name == kHostNetwork || name == kNoneNetwork;
  }
  bool IsBridge() const { return driver == "bridge"; }
  bool IsMacvlan() const { return driver == "macvlan"; }
  // Networks whose endpoints get addresses (bridge and macvlan).
  bool HasAddresses() const { return IsBridge() || IsMacvlan(); }
};

struct Endpoint {
  std::string container_id;
  std::string network_id;
  std::string endpoint_id;
  // Without Docker's leading "/".
  std::string container_name;
  uint32_t address = 0;
  // 6 raw bytes.
  std::string mac;
  // User-given aliases (--network-alias / connect --alias).
  std::vector<std::string> aliases;
  // The interface inside the container ("eth0", "eth1", ...).
  std::string interface;
  // The host end of the veth pair; empty on macvlan networks.
  std::string host_interface;
  // Whether the address was asked for (--ip), as inspect's IPAMConfig shows.
  bool static_address = false;
  // Unset unless the network has IPv6.
  Ipv6 address6{};
  bool static_address6 = false;
  // --link on a user-defined network: "<container name>:<alias>", the alias
  // resolving to that container for this one only.
  std::vector<std::string> links;
};

}  // namespace berth::netd
