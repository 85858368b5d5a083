#include "netd/network/network_manager.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/status.h"
#include "netd/netlink/macvlan.h"
#include "netd/network/link.h"

namespace berth::netd {
namespace {

constexpr char kBridgeNameOption[] = "com.docker.network.bridge.name";

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string StringField(const Json& object, const char* key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

std::map<std::string, std::string> StringMapField(const Json& object, const char* key) {
  std::map<std::string, std::string> map;
  if (!object.is_object()) return map;
  auto it = object.find(key);
  if (it == object.end() || !it->is_object()) return map;
  for (auto entry = it->begin(); entry != it->end(); ++entry) {
    if (entry->is_string()) map[entry.key()] = entry->get<std::string>();
  }
  return map;
}

// Docker's booleans may be absent or null.
bool BoolField(const Json& object, const char* key) {
  if (!object.is_object()) return false;
  auto it = object.find(key);
  return it != object.end() && it->is_boolean() && it->get<bool>();
}

// The IPv6 half of a network: the user's subnet (checked against the other
// IPv6 networks) or a ULA /64 of its own, its gateway and ip-range.
absl::Status ConfigureIpv6(const Json& config, const std::vector<Network>& networks,
                           Network* network) {
  const std::string subnet_text = StringField(config, "Subnet");
  const std::string gateway_text = StringField(config, "Gateway");
  const std::string range_text = StringField(config, "IPRange");
  if (!subnet_text.empty()) {
    ASSIGN_OR_RETURN(network->subnet6, ParseSubnet6(subnet_text));
    network->configured_subnet6 = true;
    if (network->subnet6.prefix_length > 126) {
      return absl::InvalidArgumentError(
          absl::StrCat("subnet ", subnet_text, " is too small for containers"));
    }
  } else {
    network->subnet6 = UlaSubnetFor(network->id);
  }
  for (const Network& other : networks) {
    if (other.enable_ipv6 && other.subnet6.Overlaps(network->subnet6)) {
      return absl::PermissionDeniedError(
          "invalid pool request: Pool overlaps with other one on this address space");
    }
  }
  network->gateway6 = AddToIpv6(network->subnet6.base, 1);
  if (!gateway_text.empty()) {
    ASSIGN_OR_RETURN(network->gateway6, ParseIpv6(gateway_text));
    if (!network->subnet6.Contains(network->gateway6)) {
      return absl::InvalidArgumentError(absl::StrCat("invalid network config: parent subnet ",
                                                     network->subnet6.ToString(),
                                                     " does not contain gateway ", gateway_text));
    }
  }
  if (!range_text.empty()) {
    ASSIGN_OR_RETURN(network->ip_range6, ParseSubnet6(range_text));
    if (!network->subnet6.Contains(network->ip_range6.base) ||
        network->ip_range6.prefix_length < network->subnet6.prefix_length) {
      return absl::InvalidArgumentError(absl::StrCat("invalid network config: parent subnet ",
                                                     network->subnet6.ToString(),
                                                     " does not contain ip-range ", range_text));
    }
    network->has_ip_range6 = true;
  }
  return absl::OkStatus();
}

// --aux-address name=address of either family: inside its subnet, not the
// gateway, reserved for good.
absl::Status ReadAuxAddresses(const Json& config, const Json& config6, Network* network) {
  for (const Json* entry : {&config, &config6}) {
    for (const auto& [name, text] : StringMapField(*entry, "AuxiliaryAddresses")) {
      bool inside = false;
      if (text.find(':') != std::string::npos) {
        ASSIGN_OR_RETURN(Ipv6 address, ParseIpv6(text));
        inside = network->enable_ipv6 && network->subnet6.Contains(address) &&
                 address != network->subnet6.base;
      } else {
        ASSIGN_OR_RETURN(uint32_t address, ParseIpv4(text));
        inside = network->subnet.Contains(address) && address != network->subnet.base &&
                 address != network->subnet.Broadcast();
      }
      if (!inside) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid pool request: auxiliary address: (", name, ":", text,
                         ") must belong to the master pool: ",
                         text.find(':') != std::string::npos && network->enable_ipv6
                             ? network->subnet6.ToString()
                             : network->subnet.ToString()));
      }
      network->aux_addresses[name] = text;
    }
  }
  return absl::OkStatus();
}

bool ValidNetworkName(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') return false;
  }
  return isalnum(static_cast<unsigned char>(name[0]));
}

// One address family's lease for an endpoint: the allocator picks from the
// family's range (the subnet when unset), and an exhausted pool names the
// network as Docker does. `allocate` is AllocateAddress or AllocateAddress6.
template <typename Address, typename SubnetType, typename Allocator>
absl::StatusOr<Address> LeaseAddress(const Network& network, const char* family, Allocator allocate,
                                     const SubnetType& subnet, bool has_range,
                                     const SubnetType& range, const Address& gateway,
                                     const std::vector<Address>& in_use,
                                     const std::optional<Address>& requested) {
  std::optional<SubnetType> pool;
  if (has_range) pool = range;
  absl::StatusOr<Address> address = allocate(subnet, pool, gateway, in_use, requested);
  if (absl::IsResourceExhausted(address.status())) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "no available ", family, " addresses on this network's address pools: ", network.name, " (",
        network.id, ")"));
  }
  return address;
}

}  // namespace

absl::StatusOr<EndpointRequest> ParseEndpointRequest(const Json& settings) {
  EndpointRequest request;
  if (!settings.is_object()) return request;
  if (auto ipam = settings.find("IPAMConfig"); ipam != settings.end() && ipam->is_object()) {
    if (std::string address = StringField(*ipam, "IPv4Address"); !address.empty()) {
      ASSIGN_OR_RETURN(request.address, ParseIpv4(address));
    }
    if (std::string address = StringField(*ipam, "IPv6Address"); !address.empty()) {
      ASSIGN_OR_RETURN(request.address6, ParseIpv6(address));
    }
  }
  if (auto links = settings.find("Links"); links != settings.end() && links->is_array()) {
    for (const Json& link : *links) {
      if (!link.is_string() || link.get<std::string>().empty()) continue;
      ASSIGN_OR_RETURN(Link parsed, ParseLink(link.get<std::string>()));
      request.links.push_back(absl::StrCat(parsed.name, ":", parsed.alias));
    }
  }
  if (auto aliases = settings.find("Aliases"); aliases != settings.end() && aliases->is_array()) {
    for (const Json& alias : *aliases) {
      if (alias.is_string() && !alias.get<std::string>().empty()) {
        request.aliases.push_back(alias.get<std::string>());
      }
    }
  }
  if (std::string mac = StringField(settings, "MacAddress"); !mac.empty()) {
    ASSIGN_OR_RETURN(request.mac, ParseMac(mac));
  }
  return request;
}

absl::StatusOr<std::unique_ptr<NetworkManager>> NetworkManager::Open(Database* db,
                                                                     BridgeDriver* driver,
                                                                     NetworkConfig config) {
  std::unique_ptr<NetworkManager> manager(new NetworkManager(db, driver, std::move(config)));
  RETURN_IF_ERROR(manager->EnsurePredefined());
  ASSIGN_OR_RETURN(std::vector<Network> networks, manager->store_.ListNetworks());
  for (const Network& network : networks) {
    if (!network.IsBridge()) continue;
    RETURN_IF_ERROR(Annotate(driver->EnsureBridge(network), "network " + network.name));
  }
  return manager;
}

absl::StatusOr<std::vector<Subnet>> NetworkManager::TakenSubnets() {
  std::vector<Subnet> taken;
  ASSIGN_OR_RETURN(std::vector<Network> networks, store_.ListNetworks());
  for (const Network& network : networks) {
    if (network.HasAddresses()) taken.push_back(network.subnet);
  }
  if (config_.host_subnets) {
    ASSIGN_OR_RETURN(std::vector<Subnet> host, config_.host_subnets());
    // The default route covers everything: it is no reason to avoid a subnet.
    for (const Subnet& subnet : host) {
      if (subnet.prefix_length > 0) taken.push_back(subnet);
    }
  }
  return taken;
}

absl::Status NetworkManager::EnsurePredefined() {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, driver] :
       {std::pair<const char*, const char*>{kHostNetwork, "host"}, {kNoneNetwork, "null"}}) {
    absl::StatusOr<Network> existing = store_.FindNetwork(name);
    if (existing.ok() && existing->name == name) continue;
    Network network;
    network.id = GenerateId();
    network.name = name;
    network.driver = driver;
    network.created = NowNanos();
    RETURN_IF_ERROR(store_.PutNetwork(network));
  }

  Network wanted;
  absl::StatusOr<Network> existing = store_.FindNetwork(kDefaultBridgeNetwork);
  const bool have = existing.ok() && existing->name == kDefaultBridgeNetwork;
  if (have) {
    wanted = *existing;
  } else {
    wanted.id = GenerateId();
    wanted.name = kDefaultBridgeNetwork;
    wanted.created = NowNanos();
  }
  wanted.bridge = config_.bridge_name;
  wanted.options = {{"com.docker.network.bridge.default_bridge", "true"},
                    {"com.docker.network.bridge.enable_icc", "true"},
                    {"com.docker.network.bridge.enable_ip_masquerade", "true"},
                    {"com.docker.network.bridge.host_binding_ipv4", "0.0.0.0"},
                    {kBridgeNameOption, config_.bridge_name},
                    {"com.docker.network.driver.mtu", "1500"}};
  if (!config_.bip.empty()) {
    ASSIGN_OR_RETURN(Subnet subnet, ParseSubnet(config_.bip, /*allow_host_bits=*/true));
    ASSIGN_OR_RETURN(wanted.gateway, ParseCidrAddress(config_.bip));
    wanted.subnet = subnet;
  } else if (!have || existing->bridge != config_.bridge_name) {
    // A subnet of the pools, chosen once and kept across restarts.
    ASSIGN_OR_RETURN(std::vector<Subnet> taken, TakenSubnets());
    if (have) {
      // Its own old subnet is not a reason to move.
      taken.erase(std::remove(taken.begin(), taken.end(), existing->subnet), taken.end());
    }
    ASSIGN_OR_RETURN(wanted.subnet, AllocateSubnet(config_.pools, taken));
    wanted.gateway = wanted.subnet.base + 1;
  }
  if (have && (existing->subnet != wanted.subnet || existing->bridge != wanted.bridge)) {
    ASSIGN_OR_RETURN(std::vector<Endpoint> endpoints, store_.EndpointsOfNetwork(existing->id));
    if (!endpoints.empty()) {
      spdlog::warn(
          "default bridge configuration changed while {} containers use it: keeping {} "
          "on {} until they stop",
          endpoints.size(), existing->subnet.ToString(), existing->bridge);
      return absl::OkStatus();
    }
    driver_->RemoveBridge(*existing).IgnoreError();
  }
  return store_.PutNetwork(wanted);
}

absl::StatusOr<Network> NetworkManager::CreateNetwork(const Json& request) {
  if (!request.is_object()) return absl::InvalidArgumentError("invalid network create request");
  Network network;
  network.name = StringField(request, "Name");
  if (network.name.empty()) return absl::InvalidArgumentError("network name is required");
  if (!ValidNetworkName(network.name)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid name \"", network.name, "\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"));
  }
  const std::string driver = StringField(request, "Driver");
  if (driver == "host" || driver == "null") {
    return absl::PermissionDeniedError(
        absl::StrCat("only one instance of \"", driver, "\" network is allowed"));
  }
  if (!driver.empty() && driver != "bridge" && driver != "macvlan") {
    return absl::NotFoundError(absl::StrCat("plugin \"", driver, "\" not found"));
  }
  if (driver == "macvlan") network.driver = "macvlan";
  network.internal = BoolField(request, "Internal");
  network.attachable = BoolField(request, "Attachable");
  network.enable_ipv6 = BoolField(request, "EnableIPv6");
  network.labels = StringMapField(request, "Labels");
  network.options = StringMapField(request, "Options");

  // At most one IPv4 and one IPv6 entry, told apart by their subnet (or
  // gateway) notation.
  Json config = Json::object();
  Json config6 = Json::object();
  if (auto ipam = request.find("IPAM"); ipam != request.end() && ipam->is_object()) {
    if (std::string ipam_driver = StringField(*ipam, "Driver");
        !ipam_driver.empty() && ipam_driver != "default") {
      return absl::NotFoundError(absl::StrCat("plugin \"", ipam_driver, "\" not found"));
    }
    if (auto configs = ipam->find("Config"); configs != ipam->end() && configs->is_array()) {
      bool have4 = false, have6 = false;
      for (const Json& entry : *configs) {
        const std::string notation = StringField(entry, "Subnet") + StringField(entry, "Gateway") +
                                     StringField(entry, "IPRange");
        const bool v6 = notation.find(':') != std::string::npos;
        bool& have = v6 ? have6 : have4;
        if (have) {
          return absl::InvalidArgumentError(
              absl::StrCat("berth supports one IPv", v6 ? 6 : 4, " subnet per network"));
        }
        have = true;
        (v6 ? config6 : config) = entry;
      }
      if (have6 && !network.enable_ipv6) {
        return absl::InvalidArgumentError(absl::StrCat("invalid network config: IPv6 subnet ",
                                                       StringField(config6, "Subnet"),
                                                       " given but IPv6 is not enabled (--ipv6)"));
      }
    }
  }
  const std::string subnet_text = StringField(config, "Subnet");
  const std::string gateway_text = StringField(config, "Gateway");
  const std::string range_text = StringField(config, "IPRange");
  if (subnet_text.empty() && (!gateway_text.empty() || !range_text.empty())) {
    return absl::InvalidArgumentError("a gateway or ip-range needs a subnet (--subnet)");
  }
  if (StringField(config6, "Subnet").empty() &&
      (!StringField(config6, "Gateway").empty() || !StringField(config6, "IPRange").empty())) {
    return absl::InvalidArgumentError("a gateway or ip-range needs a subnet (--subnet)");
  }

  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::vector<Network> networks, store_.ListNetworks());
  for (const Network& other : networks) {
    if (other.name == network.name) {
      return absl::AlreadyExistsError(
          absl::StrCat("network with name ", network.name, " already exists"));
    }
  }
  if (!subnet_text.empty()) {
    ASSIGN_OR_RETURN(network.subnet, ParseSubnet(subnet_text));
    network.configured_subnet = true;
    if (network.subnet.prefix_length > 30) {
      return absl::InvalidArgumentError(
          absl::StrCat("subnet ", subnet_text, " is too small for containers"));
    }
    for (const Network& other : networks) {
      if (other.HasAddresses() && other.subnet.Overlaps(network.subnet)) {
        return absl::PermissionDeniedError(
            "invalid pool request: Pool overlaps with other one on this address space");
      }
    }
  } else {
    ASSIGN_OR_RETURN(std::vector<Subnet> taken, TakenSubnets());
    ASSIGN_OR_RETURN(network.subnet, AllocateSubnet(config_.pools, taken));
  }
  network.gateway = network.subnet.base + 1;
  if (!gateway_text.empty()) {
    ASSIGN_OR_RETURN(network.gateway, ParseIpv4(gateway_text));
    if (!network.subnet.Contains(network.gateway)) {
      return absl::InvalidArgumentError(absl::StrCat("invalid network config: parent subnet ",
                                                     network.subnet.ToString(),
                                                     " does not contain gateway ", gateway_text));
    }
  }
  if (!range_text.empty()) {
    ASSIGN_OR_RETURN(network.ip_range, ParseSubnet(range_text));
    if (!network.subnet.Contains(network.ip_range.base) ||
        network.ip_range.prefix_length < network.subnet.prefix_length) {
      return absl::InvalidArgumentError(absl::StrCat("invalid network config: parent subnet ",
                                                     network.subnet.ToString(),
                                                     " does not contain ip-range ", range_text));
    }
    network.has_ip_range = true;
  }

  network.id = GenerateId();
  if (network.enable_ipv6) RETURN_IF_ERROR(ConfigureIpv6(config6, networks, &network));
  RETURN_IF_ERROR(ReadAuxAddresses(config, config6, &network));
  network.created = NowNanos();
  if (network.IsMacvlan()) {
    RETURN_IF_ERROR(CheckMacvlan(network, networks));
  } else {
    RETURN_IF_ERROR(NameBridge(networks, &network));
  }
  // The row first: a crash afterwards leaves a network whose bridge the next
  // start creates, never a bridge nobody knows.
  RETURN_IF_ERROR(store_.PutNetwork(network));
  absl::Status status = network.IsBridge() ? driver_->EnsureBridge(network) : absl::OkStatus();
  std::vector<NetworkObserver*> done;
  for (NetworkObserver* observer : observers_) {
    if (!status.ok()) break;
    status = observer->NetworkCreated(network);
    if (status.ok()) done.push_back(observer);
  }
  if (!status.ok()) {
    for (auto it = done.rbegin(); it != done.rend(); ++it) (*it)->NetworkRemoved(network);
    if (network.IsBridge()) driver_->RemoveBridge(network).IgnoreError();
    store_.DeleteNetwork(network.id).IgnoreError();
    return status;
  }
  spdlog::info("created {} network {} ({}) {} {} with subnet {}", network.driver, network.name,
               network.id, network.IsBridge() ? "on bridge" : "over",
               network.IsBridge() ? network.bridge : network.options[kMacvlanParentOption],
               network.subnet.ToString());
  return network;
}

absl::Status NetworkManager::NameBridge(const std::vector<Network>& networks, Network* network) {
  network->bridge = network->options.count(kBridgeNameOption) != 0
                        ? network->options.at(kBridgeNameOption)
                        : "br-" + network->id.substr(0, 12);
  if (network->bridge.empty() || network->bridge.size() > 15) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid bridge name \"", network->bridge, "\": at most 15 characters"));
  }
  for (const Network& other : networks) {
    if (other.IsBridge() && other.bridge == network->bridge) {
      return absl::AlreadyExistsError(absl::StrCat("bridge name ", network->bridge,
                                                   " is already used by network ", other.name));
    }
  }
  if (driver_->BridgeExists(network->bridge)) {
    return absl::AlreadyExistsError(
        absl::StrCat("a network interface named ", network->bridge, " already exists"));
  }
  return absl::OkStatus();
}

// A macvlan network hangs off a host link that must exist (Docker creates a
// dummy when none is named; berth asks for one).
absl::Status NetworkManager::CheckMacvlan(const Network& network,
                                          const std::vector<Network>& networks) {
  auto parent = network.options.find(kMacvlanParentOption);
  if (parent == network.options.end() || parent->second.empty()) {
    return absl::InvalidArgumentError(
        "berth's macvlan networks need a parent interface: -o parent=<interface>");
  }
  if (!driver_->BridgeExists(parent->second)) {
    return absl::NotFoundError(
        absl::StrCat("-o parent interface was not found on the host: ", parent->second));
  }
  auto mode = network.options.find(kMacvlanModeOption);
  ASSIGN_OR_RETURN(int unused, MacvlanMode(mode == network.options.end() ? "" : mode->second));
  (void)unused;
  for (const Network& other : networks) {
    auto used = other.options.find(kMacvlanParentOption);
    if (other.IsMacvlan() && used != other.options.end() && used->second == parent->second) {
      return absl::PermissionDeniedError(absl::StrCat(
          "network ", other.name, " is already using parent interface ", parent->second));
    }
  }
  if (network.internal) {
    return absl::InvalidArgumentError("berth's macvlan networks cannot be --internal");
  }
  return absl::OkStatus();
}

absl::Status NetworkManager::AddObserver(NetworkObserver* observer) {
  std::lock_guard<std::mutex> lock(mu_);
  observers_.push_back(observer);
  ASSIGN_OR_RETURN(std::vector<Network> networks, store_.ListNetworks());
  for (const Network& network : networks) {
    if (!network.HasAddresses()) continue;
    RETURN_IF_ERROR(observer->NetworkCreated(network));
    ASSIGN_OR_RETURN(std::vector<Endpoint> endpoints, store_.EndpointsOfNetwork(network.id));
    for (const Endpoint& endpoint : endpoints) {
      RETURN_IF_ERROR(observer->EndpointCreated(
          network, endpoint, absl::StrCat(config_.netns_dir, "/", endpoint.container_id)));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Network> NetworkManager::GetNetwork(const std::string& name_or_id) {
  std::lock_guard<std::mutex> lock(mu_);
  return store_.FindNetwork(name_or_id);
}

absl::StatusOr<std::vector<Network>> NetworkManager::ListNetworks() {
  std::lock_guard<std::mutex> lock(mu_);
  return store_.ListNetworks();
}

absl::Status NetworkManager::RemoveNetwork(const std::string& name_or_id) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Network network, store_.FindNetwork(name_or_id));
  if (network.Predefined()) {
    return absl::PermissionDeniedError(
        absl::StrCat(network.name, " is a pre-defined network and cannot be removed"));
  }
  ASSIGN_OR_RETURN(std::vector<Endpoint> endpoints, store_.EndpointsOfNetwork(network.id));
  if (!endpoints.empty()) {
    return absl::PermissionDeniedError(absl::StrCat("error while removing network: network ",
                                                    network.name, " id ", network.id,
                                                    " has active endpoints"));
  }
  for (NetworkObserver* observer : observers_) observer->NetworkRemoved(network);
  if (network.IsBridge()) RETURN_IF_ERROR(driver_->RemoveBridge(network));
  RETURN_IF_ERROR(store_.DeleteNetwork(network.id));
  spdlog::info("removed network {} ({})", network.name, network.id);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> NetworkManager::PruneNetworks(
    const std::function<bool(const Network&)>& keep) {
  ASSIGN_OR_RETURN(std::vector<Network> networks, ListNetworks());
  std::vector<std::string> removed;
  for (const Network& network : networks) {
    if (network.Predefined() || (keep && keep(network))) continue;
    absl::Status status = RemoveNetwork(network.id);
    if (status.ok()) {
      removed.push_back(network.name);
    } else if (!absl::IsPermissionDenied(status) && !absl::IsNotFound(status)) {
      return status;
    }
  }
  return removed;
}

absl::StatusOr<Endpoint> NetworkManager::Connect(const std::string& container_id,
                                                 const std::string& container_name,
                                                 const std::string& network_name_or_id,
                                                 const EndpointRequest& request,
                                                 const std::string& netns_path) {
  const int64_t started = NowNanos();
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Network network, store_.FindNetwork(network_name_or_id));
  if (!network.HasAddresses()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "container cannot be disconnected from host network or connected to host network"));
  }
  const bool user_defined = network.name != kDefaultBridgeNetwork;
  if (!user_defined && request.address) {
    return absl::InvalidArgumentError(
        "user specified IP address is supported on user defined networks only");
  }
  if (user_defined && request.address && !network.configured_subnet) {
    return absl::InvalidArgumentError(
        "user specified IP address is supported only when connecting to networks with user "
        "configured subnets");
  }
  if (request.address6 && !network.enable_ipv6) {
    return absl::InvalidArgumentError(absl::StrCat("invalid IPv6 address ",
                                                   FormatIpv6(*request.address6), ": network ",
                                                   network.name, " does not have IPv6 enabled"));
  }
  if (user_defined && request.address6 && !network.configured_subnet6) {
    return absl::InvalidArgumentError(
        "user specified IP address is supported only when connecting to networks with user "
        "configured subnets");
  }
  if (!user_defined && !request.aliases.empty()) {
    return absl::InvalidArgumentError(
        "network-scoped alias is supported only for containers in user defined networks");
  }
  ASSIGN_OR_RETURN(std::vector<Endpoint> mine, store_.EndpointsOfContainer(container_id));
  std::set<std::string> interfaces;
  for (const Endpoint& endpoint : mine) {
    if (endpoint.network_id == network.id) {
      return absl::PermissionDeniedError(absl::StrCat("endpoint with name ", container_name,
                                                      " already exists in network ", network.name));
    }
    interfaces.insert(endpoint.interface);
  }

  Endpoint endpoint;
  endpoint.container_id = container_id;
  endpoint.network_id = network.id;
  endpoint.endpoint_id = GenerateId();
  endpoint.container_name = container_name;
  endpoint.aliases = request.aliases;
  endpoint.static_address = request.address.has_value();
  endpoint.static_address6 = request.address6.has_value();
  if (user_defined) endpoint.links = request.links;
  for (int n = 0;; ++n) {
    endpoint.interface = absl::StrCat("eth", n);
    if (interfaces.count(endpoint.interface) == 0) break;
  }
  // A macvlan endpoint has no host end.
  if (network.IsBridge()) endpoint.host_interface = "veth" + endpoint.endpoint_id.substr(0, 7);
  // The lease: allocation and row in one transaction.
  RETURN_IF_ERROR(store_.db()->Transaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::vector<uint32_t> in_use, store_.AddressesInUse(network.id));
    ASSIGN_OR_RETURN(std::vector<Ipv6> in_use6, store_.Addresses6InUse(network.id));
    for (const auto& [name, text] : network.aux_addresses) {
      if (absl::StatusOr<uint32_t> aux = ParseIpv4(text); aux.ok()) in_use.push_back(*aux);
      if (absl::StatusOr<Ipv6> aux = ParseIpv6(text); aux.ok()) in_use6.push_back(*aux);
    }
    ASSIGN_OR_RETURN(
        endpoint.address,
        LeaseAddress(network, "IPv4", AllocateAddress, network.subnet, network.has_ip_range,
                     network.ip_range, network.gateway, in_use, request.address));
    endpoint.mac = request.mac.empty() ? MacForAddress(endpoint.address) : request.mac;
    if (network.enable_ipv6) {
      ASSIGN_OR_RETURN(
          endpoint.address6,
          LeaseAddress(network, "IPv6", AllocateAddress6, network.subnet6, network.has_ip_range6,
                       network.ip_range6, network.gateway6, in_use6, request.address6));
    }
    return store_.PutEndpoint(endpoint);
  }));

  const int64_t leased = NowNanos();
  absl::Status status = driver_->AttachEndpoint(network, endpoint, netns_path,
                                                /*default_route=*/mine.empty());
  const int64_t attached = NowNanos();
  std::vector<NetworkObserver*> done;
  for (NetworkObserver* observer : observers_) {
    if (!status.ok()) break;
    status = observer->EndpointCreated(network, endpoint, netns_path);
    if (status.ok()) done.push_back(observer);
  }
  if (!status.ok()) {
    for (auto it = done.rbegin(); it != done.rend(); ++it)
      (*it)->EndpointRemoved(network, endpoint);
    driver_->DetachEndpoint(endpoint).IgnoreError();
    store_.DeleteEndpoint(container_id, network.id).IgnoreError();
    return status;
  }
  const int64_t finished = NowNanos();
  spdlog::info(
      "container {} joined network {} as {} ({}) in {:.1f} ms (lease {:.1f}, links {:.1f})",
      container_id, network.name, FormatIpv4(endpoint.address), endpoint.host_interface,
      (finished - started) / 1e6, (leased - started) / 1e6, (attached - leased) / 1e6);
  return endpoint;
}

absl::Status NetworkManager::DetachLocked(const Network& network, const Endpoint& endpoint) {
  for (auto it = observers_.rbegin(); it != observers_.rend(); ++it) {
    (*it)->EndpointRemoved(network, endpoint);
  }
  RETURN_IF_ERROR(driver_->DetachEndpoint(endpoint));
  return store_.DeleteEndpoint(endpoint.container_id, endpoint.network_id);
}

absl::Status NetworkManager::Disconnect(const std::string& container_id,
                                        const std::string& network_name_or_id) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Network network, store_.FindNetwork(network_name_or_id));
  ASSIGN_OR_RETURN(std::vector<Endpoint> mine, store_.EndpointsOfContainer(container_id));
  for (const Endpoint& endpoint : mine) {
    if (endpoint.network_id == network.id) return DetachLocked(network, endpoint);
  }
  return absl::PermissionDeniedError(
      absl::StrCat("container ", container_id, " is not connected to network ", network.name));
}

absl::Status NetworkManager::DisconnectAll(const std::string& container_id) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::vector<Endpoint> mine, store_.EndpointsOfContainer(container_id));
  absl::Status first;
  for (const Endpoint& endpoint : mine) {
    absl::StatusOr<Network> network = store_.FindNetwork(endpoint.network_id);
    absl::Status status = network.ok() ? DetachLocked(*network, endpoint)
                                       : store_.DeleteEndpoint(container_id, endpoint.network_id);
    if (first.ok()) first = status;
  }
  return first;
}

absl::Status NetworkManager::RenameContainer(const std::string& container_id,
                                             const std::string& container_name) {
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(store_.RenameEndpoints(container_id, container_name));
  ASSIGN_OR_RETURN(std::vector<Endpoint> mine, store_.EndpointsOfContainer(container_id));
  for (const Endpoint& endpoint : mine) {
    ASSIGN_OR_RETURN(Network network, store_.FindNetwork(endpoint.network_id));
    for (NetworkObserver* observer : observers_) observer->EndpointRenamed(network, endpoint);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Endpoint>> NetworkManager::EndpointsOf(const std::string& container_id) {
  std::lock_guard<std::mutex> lock(mu_);
  return store_.EndpointsOfContainer(container_id);
}

absl::StatusOr<std::vector<Endpoint>> NetworkManager::AllEndpoints() {
  std::lock_guard<std::mutex> lock(mu_);
  return store_.ListEndpoints();
}

absl::Status NetworkManager::Reconcile(const std::set<std::string>& live) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::vector<Endpoint> endpoints, store_.ListEndpoints());
  for (const Endpoint& endpoint : endpoints) {
    if (live.count(endpoint.container_id) != 0) continue;
    spdlog::warn("releasing {} of container {}: its sandbox is gone", FormatIpv4(endpoint.address),
                 endpoint.container_id);
    RETURN_IF_ERROR(driver_->DetachEndpoint(endpoint));
    RETURN_IF_ERROR(store_.DeleteEndpoint(endpoint.container_id, endpoint.network_id));
  }
  return absl::OkStatus();
}

absl::Status NetworkManager::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::vector<Network> networks, store_.ListNetworks());
  for (const Network& network : networks) {
    if (!network.IsBridge()) continue;
    ASSIGN_OR_RETURN(std::vector<Endpoint> endpoints, store_.EndpointsOfNetwork(network.id));
    if (endpoints.empty()) RETURN_IF_ERROR(driver_->RemoveBridge(network));
  }
  return absl::OkStatus();
}

}  // namespace berth::netd

namespace berth::netd {
namespace {

std::vector<std::string> FilterValues(const Json& value) {
  std::vector<std::string> values;
  if (value.is_object()) {
    for (auto it = value.begin(); it != value.end(); ++it) values.push_back(it.key());
  } else if (value.is_array()) {
    for (const Json& v : value) {
      if (v.is_string()) values.push_back(v.get<std::string>());
    }
  }
  return values;
}

}  // namespace

// Docker's timestamps for "until": a duration before now ("10m", "1h30m"),
// Unix seconds (with an optional fraction), or an RFC 3339 date.
absl::StatusOr<int64_t> ParseUntil(const std::string& value, int64_t now_nanos) {
  absl::Duration ago;
  if (absl::ParseDuration(value, &ago) && value.find_first_of("hms") != std::string::npos) {
    return now_nanos - absl::ToInt64Nanoseconds(ago);
  }
  double seconds = 0;
  if (absl::SimpleAtod(value, &seconds) &&
      value.find_first_not_of("0123456789.") == std::string::npos) {
    return static_cast<int64_t>(seconds * 1e9);
  }
  absl::Time time;
  std::string error;
  for (const char* format : {absl::RFC3339_full, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"}) {
    if (absl::ParseTime(format, value, absl::UTCTimeZone(), &time, &error)) {
      return absl::ToUnixNanos(time);
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid filter 'until=", value, "': expected a duration, a Unix timestamp or a date"));
}

namespace {

bool HasLabel(const Network& network, const std::string& filter) {
  const size_t eq = filter.find('=');
  auto it = network.labels.find(filter.substr(0, eq));
  if (it == network.labels.end()) return false;
  return eq == std::string::npos || it->second == filter.substr(eq + 1);
}

}  // namespace

absl::StatusOr<std::function<bool(const Network&)>> PruneKeepFilter(const Json& filters) {
  std::vector<std::string> with, without;
  int64_t until = 0;
  if (filters.is_object()) {
    for (auto it = filters.begin(); it != filters.end(); ++it) {
      if (it.key() == "label") {
        with = FilterValues(*it);
      } else if (it.key() == "label!") {
        without = FilterValues(*it);
      } else if (it.key() == "until") {
        for (const std::string& value : FilterValues(*it)) {
          ASSIGN_OR_RETURN(until, ParseUntil(value, NowNanos()));
        }
      } else {
        return absl::InvalidArgumentError(absl::StrCat("invalid filter '", it.key(), "'"));
      }
    }
  }
  return std::function<bool(const Network&)>([=](const Network& network) {
    for (const std::string& label : with) {
      if (!HasLabel(network, label)) return true;
    }
    for (const std::string& label : without) {
      if (HasLabel(network, label)) return true;
    }
    return until != 0 && network.created >= until;
  });
}

}  // namespace berth::netd
