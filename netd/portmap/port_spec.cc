#include "netd/portmap/port_spec.h"

#include <arpa/inet.h>

#include <map>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status.h"

namespace berth::netd {
namespace {

bool ParsePortNumber(absl::string_view text, int min, int* port) {
  int value;
  if (text.empty() || text.size() > 5 || !absl::SimpleAtoi(text, &value)) return false;
  if (value < min || value > 65535) return false;
  *port = value;
  return true;
}

absl::Status ParseHostPort(const std::string& text, PortRequest* request) {
  if (text.empty()) return absl::OkStatus();
  std::vector<absl::string_view> range = absl::StrSplit(text, absl::MaxSplits('-', 1));
  bool ok = ParsePortNumber(range[0], 0, &request->host_port_first);
  request->host_port_last = request->host_port_first;
  if (ok && range.size() == 2) {
    ok = ParsePortNumber(range[1], 1, &request->host_port_last) && request->host_port_first >= 1 &&
         request->host_port_last >= request->host_port_first;
  }
  if (!ok) return absl::InvalidArgumentError(absl::StrCat("invalid hostPort: ", text));
  return absl::OkStatus();
}

absl::Status ParseHostIp(const std::string& text, PortRequest* request) {
  if (text.empty()) return absl::OkStatus();
  struct in_addr address;
  if (inet_pton(AF_INET, text.c_str(), &address) == 1) {
    char canonical[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &address, canonical, sizeof(canonical));
    request->host_ip = canonical;
    return absl::OkStatus();
  }
  struct in6_addr address6;
  if (inet_pton(AF_INET6, text.c_str(), &address6) == 1) {
    return absl::UnimplementedError(
        absl::StrCat("publishing on the IPv6 address ", text, " is not supported"));
  }
  return absl::InvalidArgumentError(absl::StrCat("invalid IP address: ", text));
}

std::string StringMember(const Json& object, const char* name) {
  if (!object.is_object()) return "";
  auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

const Json& Member(const Json& object, const char* name) {
  static const Json kNull;
  if (!object.is_object()) return kNull;
  auto it = object.find(name);
  return it == object.end() ? kNull : *it;
}

std::string CanonicalKey(const std::string& key) {
  int port;
  std::string proto;
  if (!ParsePortKey(key, &port, &proto).ok()) return key;
  return absl::StrCat(port, "/", proto);
}

}  // namespace

absl::Status ParsePortKey(const std::string& key, int* port, std::string* proto) {
  std::vector<std::string> parts = absl::StrSplit(key, absl::MaxSplits('/', 1));
  *proto = parts.size() == 2 ? parts[1] : "tcp";
  if (!ParsePortNumber(parts[0], 1, port)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid containerPort: ", parts[0]));
  }
  if (*proto == "sctp") {
    return absl::UnimplementedError(
        absl::StrCat("publishing sctp port ", key, " is not supported"));
  }
  if (*proto != "tcp" && *proto != "udp") {
    return absl::InvalidArgumentError(absl::StrCat("invalid proto: ", *proto));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<PortRequest>> ParsePortRequests(const Json& host_config,
                                                           const Json& config) {
  std::vector<PortRequest> requests;
  std::set<std::string> bound;
  const Json& bindings = Member(host_config, "PortBindings");
  if (!bindings.is_null() && !bindings.is_object()) {
    return absl::InvalidArgumentError("HostConfig.PortBindings must be an object");
  }
  if (bindings.is_object()) {
    for (const auto& [key, list] : bindings.items()) {
      PortRequest base;
      RETURN_IF_ERROR(ParsePortKey(key, &base.container_port, &base.proto));
      bound.insert(absl::StrCat(base.container_port, "/", base.proto));
      if (list.is_null()) continue;
      if (!list.is_array()) {
        return absl::InvalidArgumentError(
            absl::StrCat("HostConfig.PortBindings[\"", key, "\"] must be a list"));
      }
      for (const Json& binding : list) {
        PortRequest request = base;
        RETURN_IF_ERROR(ParseHostIp(StringMember(binding, "HostIp"), &request));
        RETURN_IF_ERROR(ParseHostPort(StringMember(binding, "HostPort"), &request));
        requests.push_back(std::move(request));
      }
    }
  }
  const Json& publish_all = Member(host_config, "PublishAllPorts");
  const Json& exposed = Member(config, "ExposedPorts");
  if (publish_all.is_boolean() && publish_all.get<bool>() && exposed.is_object()) {
    for (const auto& [key, unused] : exposed.items()) {
      PortRequest request;
      RETURN_IF_ERROR(ParsePortKey(key, &request.container_port, &request.proto));
      if (bound.count(absl::StrCat(request.container_port, "/", request.proto)) != 0) continue;
      requests.push_back(std::move(request));
    }
  }
  return requests;
}

Json FormatPorts(const std::vector<PortMapping>& mappings, const Json& config,
                 const Json& host_config) {
  Json ports = Json::object();
  const Json& exposed = Member(config, "ExposedPorts");
  if (exposed.is_object()) {
    for (const auto& [key, unused] : exposed.items()) ports[CanonicalKey(key)] = nullptr;
  }
  const Json& bindings = Member(host_config, "PortBindings");
  if (bindings.is_object()) {
    for (const auto& [key, unused] : bindings.items()) ports[CanonicalKey(key)] = nullptr;
  }
  for (const PortMapping& mapping : mappings) {
    Json& list = ports[absl::StrCat(mapping.container_port, "/", mapping.proto)];
    if (list.is_null()) list = Json::array();
    list.push_back({{"HostIp", mapping.host_ip}, {"HostPort", std::to_string(mapping.host_port)}});
  }
  return ports;
}

}  // namespace berth::netd
