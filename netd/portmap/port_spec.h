// Docker's published-port requests (HostConfig.PortBindings, PublishAllPorts
// with Config.ExposedPorts) and its answer (NetworkSettings.Ports).
//
// The docker CLI already expands `-p 8000-8001:80-81` into one binding per
// container port; a host range left for one container port (`-p
// 8000-8010:80`) arrives as HostPort "8000-8010" and means "any free port of
// the range", as does an empty HostPort for the whole ephemeral range.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/json.h"

namespace berth::netd {

struct PortRequest {
  // "tcp" or "udp".
  std::string proto = "tcp";
  int container_port = 0;
  // Dotted IPv4; "0.0.0.0" for every address (Docker's empty HostIp).
  std::string host_ip = "0.0.0.0";
  // [first, last]; both 0 for a port of the ephemeral range.
  int host_port_first = 0;
  int host_port_last = 0;
};

// One published port as allocated.
struct PortMapping {
  std::string proto;
  int container_port = 0;
  std::string host_ip;
  int host_port = 0;
};

// "80/tcp" -> {80, "tcp"}; a missing protocol is tcp. InvalidArgument in
// Docker's words for anything else (sctp included: netd does not proxy it).
absl::Status ParsePortKey(const std::string& key, int* port, std::string* proto);

// The requests of a container's create request: every PortBindings entry,
// plus, with HostConfig.PublishAllPorts, a random host port for each exposed
// port that has no binding. `host_config` and `config` are the JSON objects
// the client sent (null or missing members are fine).
absl::StatusOr<std::vector<PortRequest>> ParsePortRequests(const Json& host_config,
                                                           const Json& config);

// NetworkSettings.Ports: every exposed or published port ("80/tcp"), mapped
// to its bindings [{"HostIp":"0.0.0.0","HostPort":"8080"}], or null when it
// is only exposed.
Json FormatPorts(const std::vector<PortMapping>& mappings, const Json& config,
                 const Json& host_config);

}  // namespace berth::netd
