#include "netd/network/render.h"

#include <ctime>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/endpoint_settings.h"

namespace berth::netd {
namespace {

Json NullIfEmpty(const std::vector<std::string>& values) {
  return values.empty() ? Json(nullptr) : Json(values);
}

}  // namespace

std::string FormatTime(int64_t unix_nanos) {
  const time_t seconds = static_cast<time_t>(unix_nanos / 1000000000);
  struct tm utc;
  gmtime_r(&seconds, &utc);
  char buffer[32];
  strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%S", &utc);
  return absl::StrFormat("%s.%09dZ", buffer, static_cast<int>(unix_nanos % 1000000000));
}

Json RenderNetwork(const Network& network, const std::vector<Endpoint>& endpoints) {
  // Docker shows no IPAM configuration at all for host and none.
  Json config = network.HasAddresses() ? Json::array() : Json();
  if (network.HasAddresses()) {
    Json entry = {{"Subnet", network.subnet.ToString()}, {"Gateway", FormatIpv4(network.gateway)}};
    if (network.has_ip_range) entry["IPRange"] = network.ip_range.ToString();
    Json entry6 = nullptr;
    if (network.enable_ipv6) {
      entry6 = {{"Subnet", network.subnet6.ToString()}, {"Gateway", FormatIpv6(network.gateway6)}};
      if (network.has_ip_range6) entry6["IPRange"] = network.ip_range6.ToString();
    }
    for (const auto& [name, address] : network.aux_addresses) {
      Json& owner = address.find(':') != std::string::npos && !entry6.is_null() ? entry6 : entry;
      owner["AuxiliaryAddresses"][name] = address;
    }
    config.push_back(entry);
    if (!entry6.is_null()) config.push_back(entry6);
  }
  Json containers = Json::object();
  for (const Endpoint& endpoint : endpoints) {
    containers[endpoint.container_id] = {
        {"Name", endpoint.container_name},
        {"EndpointID", endpoint.endpoint_id},
        {"MacAddress", FormatMac(endpoint.mac)},
        {"IPv4Address",
         absl::StrCat(FormatIpv4(endpoint.address), "/", network.subnet.prefix_length)},
        {"IPv6Address",
         IsUnset(endpoint.address6)
             ? std::string()
             : absl::StrCat(FormatIpv6(endpoint.address6), "/", network.subnet6.prefix_length)},
    };
  }
  return {
      {"Name", network.name},
      {"Id", network.id},
      {"Created", FormatTime(network.created)},
      {"Scope", "local"},
      {"Driver", network.driver},
      {"EnableIPv4", true},
      {"EnableIPv6", network.enable_ipv6},
      {"IPAM", {{"Driver", "default"}, {"Options", nullptr}, {"Config", config}}},
      {"Internal", network.internal},
      {"Attachable", network.attachable},
      {"Ingress", false},
      {"ConfigFrom", {{"Network", ""}}},
      {"ConfigOnly", false},
      {"Containers", containers},
      {"Options", network.options},
      {"Labels", network.labels},
  };
}

Json RenderEndpointSettings(const Network& network, const Endpoint& endpoint) {
  Json ipam = nullptr;
  if (endpoint.static_address) ipam["IPv4Address"] = FormatIpv4(endpoint.address);
  if (endpoint.static_address6) ipam["IPv6Address"] = FormatIpv6(endpoint.address6);
  const bool v6 = !IsUnset(endpoint.address6);
  Json dns_names = nullptr;
  if (network.name != kDefaultBridgeNetwork) {
    std::vector<std::string> names = {endpoint.container_name};
    for (const std::string& alias : endpoint.aliases) names.push_back(alias);
    names.push_back(endpoint.container_id.substr(0, 12));
    dns_names = names;
  }
  return {
      {"IPAMConfig", ipam},
      {"Links", NullIfEmpty(endpoint.links)},
      {"Aliases", NullIfEmpty(endpoint.aliases)},
      {"MacAddress", FormatMac(endpoint.mac)},
      {"DriverOpts", nullptr},
      {"GwPriority", 0},
      {"NetworkID", network.id},
      {"EndpointID", endpoint.endpoint_id},
      {"Gateway", network.internal ? "" : FormatIpv4(network.gateway)},
      {"IPAddress", FormatIpv4(endpoint.address)},
      {"IPPrefixLen", network.subnet.prefix_length},
      {"IPv6Gateway", v6 && !network.internal ? FormatIpv6(network.gateway6) : ""},
      {"GlobalIPv6Address", v6 ? FormatIpv6(endpoint.address6) : ""},
      {"GlobalIPv6PrefixLen", v6 ? network.subnet6.prefix_length : 0},
      {"DNSNames", dns_names},
  };
}

Json RenderNetworkSettings(const std::string& sandbox_id, const std::string& sandbox_key,
                           const std::vector<std::pair<Network, Endpoint>>& attached,
                           const std::vector<Network>& endpointless) {
  Json settings = {
      {"Bridge", ""},
      {"SandboxID", sandbox_id},
      {"SandboxKey", sandbox_key},
      {"Ports", Json::object()},
      {"HairpinMode", false},
      {"LinkLocalIPv6Address", ""},
      {"LinkLocalIPv6PrefixLen", 0},
      {"SecondaryIPAddresses", nullptr},
      {"SecondaryIPv6Addresses", nullptr},
      {"EndpointID", ""},
      {"Gateway", ""},
      {"GlobalIPv6Address", ""},
      {"GlobalIPv6PrefixLen", 0},
      {"IPAddress", ""},
      {"IPPrefixLen", 0},
      {"IPv6Gateway", ""},
      {"MacAddress", ""},
      {"Networks", Json::object()},
  };
  for (const auto& [network, endpoint] : attached) {
    settings["Networks"][network.name] = RenderEndpointSettings(network, endpoint);
    if (network.name != kDefaultBridgeNetwork) continue;
    settings["EndpointID"] = endpoint.endpoint_id;
    settings["Gateway"] = FormatIpv4(network.gateway);
    settings["IPAddress"] = FormatIpv4(endpoint.address);
    settings["IPPrefixLen"] = network.subnet.prefix_length;
    settings["MacAddress"] = FormatMac(endpoint.mac);
    if (!IsUnset(endpoint.address6)) {
      settings["GlobalIPv6Address"] = FormatIpv6(endpoint.address6);
      settings["GlobalIPv6PrefixLen"] = network.subnet6.prefix_length;
      settings["IPv6Gateway"] = FormatIpv6(network.gateway6);
    }
  }
  for (const Network& network : endpointless) {
    settings["Networks"][network.name] = EmptyEndpointSettings(network.id);
  }
  return settings;
}

}  // namespace berth::netd
