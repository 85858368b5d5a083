#include "runtimed/daemon/network_files.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace berth::runtimed {
namespace {

std::string String(const Json& object, const char* key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

std::vector<std::string> Strings(const Json& object, const char* key) {
  std::vector<std::string> out;
  if (!object.is_object()) return out;
  auto it = object.find(key);
  if (it == object.end() || !it->is_array()) return out;
  for (const Json& value : *it) {
    if (value.is_string()) out.push_back(value.get<std::string>());
  }
  return out;
}

// A field of the container's primary network's endpoint, else of any.
std::string EndpointField(const Json& host_config, const Json& network_settings,
                          const char* field) {
  if (!network_settings.is_object()) return "";
  auto networks = network_settings.find("Networks");
  if (networks == network_settings.end() || !networks->is_object()) return "";
  std::string mode = String(host_config, "NetworkMode");
  if (mode.empty() || mode == "default") mode = "bridge";
  if (auto primary = networks->find(mode); primary != networks->end()) {
    if (std::string value = String(*primary, field); !value.empty()) return value;
  }
  for (const Json& endpoint : *networks) {
    if (std::string value = String(endpoint, field); !value.empty()) return value;
  }
  return "";
}

bool IsLoopback(const std::string& address) {
  return absl::StartsWith(address, "127.") || address == "::1";
}

}  // namespace

bool UsesEmbeddedDns(const Json& host_config) {
  const std::string mode = String(host_config, "NetworkMode");
  return !(mode.empty() || mode == "default" || mode == "bridge" || mode == "host" ||
           mode == "none" || absl::StartsWith(mode, "container:"));
}

std::string HostsFile(const Json& config, const Json& host_config, const Json& network_settings) {
  const std::string hostname = String(config, "Hostname");
  std::string names = hostname;
  if (std::string domain = String(config, "Domainname"); !domain.empty()) {
    names = absl::StrCat(hostname, ".", domain, " ", hostname);
  }
  std::string hosts =
      "127.0.0.1\tlocalhost\n"
      "::1\tlocalhost ip6-localhost ip6-loopback\n"
      "fe00::0\tip6-localnet\n"
      "ff00::0\tip6-mcastprefix\n"
      "ff02::1\tip6-allnodes\n"
      "ff02::2\tip6-allrouters\n";
  for (const std::string& extra : Strings(host_config, "ExtraHosts")) {
    size_t colon = extra.find(':');
    if (colon == std::string::npos) continue;
    std::string address = extra.substr(colon + 1);
    // --add-host name:host-gateway: the host as the container reaches it.
    if (address == "host-gateway") {
      address = EndpointField(host_config, network_settings, "Gateway");
      if (address.empty()) continue;
    }
    absl::StrAppend(&hosts, address, "\t", extra.substr(0, colon), "\n");
  }
  std::string address = EndpointField(host_config, network_settings, "IPAddress");
  // Without an address (--network none) the hostname still resolves, to
  // loopback, which keeps `hostname -i` and self-connects working.
  absl::StrAppend(&hosts, address.empty() ? "127.0.1.1" : address, "\t", names, "\n");
  return hosts;
}

std::string ResolvConf(const Json& host_config, const std::string& host_resolv_conf) {
  std::vector<std::string> host_servers, host_search, host_options;
  for (absl::string_view line : absl::StrSplit(host_resolv_conf, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    std::vector<std::string> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (fields.size() < 2) continue;
    if (fields[0] == "nameserver") {
      host_servers.push_back(fields[1]);
    } else if (fields[0] == "search" || fields[0] == "domain") {
      host_search.assign(fields.begin() + 1, fields.end());
    } else if (fields[0] == "options") {
      host_options.insert(host_options.end(), fields.begin() + 1, fields.end());
    }
  }
  std::vector<std::string> servers = Strings(host_config, "Dns");
  std::vector<std::string> search = Strings(host_config, "DnsSearch");
  std::vector<std::string> options = Strings(host_config, "DnsOptions");
  if (servers.empty()) {
    for (const std::string& server : host_servers) {
      if (!IsLoopback(server)) servers.push_back(server);
    }
    if (servers.empty()) servers = {"8.8.8.8", "8.8.4.4"};
  }
  if (search.empty()) search = host_search;
  if (options.empty()) options = host_options;

  std::string out;
  if (UsesEmbeddedDns(host_config)) {
    bool has_ndots = false;
    for (const std::string& option : options) has_ndots |= absl::StartsWith(option, "ndots:");
    if (!has_ndots) options.push_back("ndots:0");
    absl::StrAppend(&out, "nameserver 127.0.0.11\n");
    if (!search.empty()) absl::StrAppend(&out, "search ", absl::StrJoin(search, " "), "\n");
    absl::StrAppend(&out, "options ", absl::StrJoin(options, " "), "\n");
    // Where the embedded server forwards other names, as Docker records it.
    absl::StrAppend(&out, "\n# ExtServers: [", absl::StrJoin(servers, " "), "]\n");
    return out;
  }
  for (const std::string& server : servers) absl::StrAppend(&out, "nameserver ", server, "\n");
  if (!search.empty()) absl::StrAppend(&out, "search ", absl::StrJoin(search, " "), "\n");
  if (!options.empty()) absl::StrAppend(&out, "options ", absl::StrJoin(options, " "), "\n");
  return out;
}

absl::Status RecordEndpoint(const Json& host_config, const std::string& network,
                            const Json& settings, Json* networking) {
  const std::string mode = String(host_config, "NetworkMode");
  if (mode == "host") {
    return absl::PermissionDeniedError(
        "container cannot be disconnected from host network or connected to host network");
  }
  if (mode == "none") {
    return absl::PermissionDeniedError(
        "container cannot be connected to multiple networks with one of the networks in private "
        "(none) mode");
  }
  if (absl::StartsWith(mode, "container:")) {
    return absl::PermissionDeniedError(
        "container sharing network namespace with another container or host cannot be connected "
        "to any other network");
  }
  if (!networking->is_object()) *networking = Json::object();
  Json& endpoints = (*networking)["EndpointsConfig"];
  if (!endpoints.is_object()) endpoints = Json::object();
  endpoints[network] = settings.is_object() ? settings : Json::object();
  return absl::OkStatus();
}

bool ForgetEndpoint(const std::string& network, Json* networking) {
  if (!networking->is_object()) return false;
  auto endpoints = networking->find("EndpointsConfig");
  if (endpoints == networking->end() || !endpoints->is_object()) return false;
  bool removed = endpoints->erase(network) != 0;
  if (network == "bridge") removed |= endpoints->erase("default") != 0;
  return removed;
}

}  // namespace berth::runtimed
