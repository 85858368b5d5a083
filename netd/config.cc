#include "netd/config.h"

#include "absl/strings/str_cat.h"
#include "common/json.h"
#include "common/status.h"

namespace berth::netd {

absl::StatusOr<NetworkConfig> LoadNetworkConfig(const std::string& daemon_json,
                                                const std::string& bridge_flag,
                                                const std::string& bip_flag) {
  NetworkConfig config;
  Json json = Json::object();
  if (!daemon_json.empty()) {
    ASSIGN_OR_RETURN(json, ParseJson(daemon_json));
    if (!json.is_object()) return absl::InvalidArgumentError("daemon.json: not a JSON object");
  }
  if (auto it = json.find("bridge"); it != json.end() && it->is_string()) {
    config.bridge_name = it->get<std::string>();
  }
  if (auto it = json.find("bip"); it != json.end() && it->is_string()) {
    config.bip = it->get<std::string>();
  }
  if (auto it = json.find("default-address-pools"); it != json.end()) {
    if (!it->is_array()) {
      return absl::InvalidArgumentError("daemon.json: default-address-pools must be a list");
    }
    config.pools.clear();
    for (const Json& pool : *it) {
      if (!pool.is_object() || !pool.contains("base") || !pool["base"].is_string()) {
        return absl::InvalidArgumentError("daemon.json: default-address-pools entries need a base");
      }
      AddressPool parsed;
      ASSIGN_OR_RETURN(parsed.base, ParseSubnet(pool["base"].get<std::string>()));
      parsed.size = pool.value("size", 24);
      if (parsed.size < parsed.base.prefix_length || parsed.size > 30) {
        return absl::InvalidArgumentError(absl::StrCat(
            "daemon.json: invalid pool size ", parsed.size, " for ", parsed.base.ToString()));
      }
      config.pools.push_back(parsed);
    }
  }
  if (!bridge_flag.empty()) config.bridge_name = bridge_flag;
  if (!bip_flag.empty()) config.bip = bip_flag;
  if (config.bridge_name.empty() || config.bridge_name.size() > 15) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid bridge name \"", config.bridge_name, "\": 1 to 15 characters"));
  }
  if (!config.bip.empty()) {
    ASSIGN_OR_RETURN(Subnet subnet, ParseSubnet(config.bip, /*allow_host_bits=*/true));
    ASSIGN_OR_RETURN(uint32_t gateway, ParseCidrAddress(config.bip));
    if (gateway == subnet.base || subnet.prefix_length > 30) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid bip ", config.bip, ": it names the bridge's address, e.g. 10.1.0.1/24"));
    }
  }
  return config;
}

}  // namespace berth::netd
