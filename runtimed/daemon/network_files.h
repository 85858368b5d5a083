// The files Docker writes for a container's view of the network:
// /etc/hosts and /etc/resolv.conf, from the container's documents and the
// NetworkSettings netd returned.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/json.h"

namespace berth::runtimed {

// Docker's /etc/hosts: localhost and the IPv6 names, --add-host entries,
// then the container's own address (from NetworkSettings) for its hostname.
std::string HostsFile(const Json& config, const Json& host_config, const Json& network_settings);

// Docker's /etc/resolv.conf. The default bridge: the host's resolvers
// without loopback ones (unreachable from the container), 8.8.8.8 and
// 8.8.4.4 when none is left. User-defined networks: the embedded DNS server
// at 127.0.0.11, with the servers it forwards to recorded in a comment as
// Docker does. --dns, --dns-search and --dns-option replace the host's
// values. `host_resolv_conf` is the host file's content.
std::string ResolvConf(const Json& host_config, const std::string& host_resolv_conf);

// Whether the container's primary network uses the embedded DNS server.
bool UsesEmbeddedDns(const Json& host_config);

// docker network connect / disconnect as recorded in NetworkingConfig, so a
// (re)start joins the same networks: EndpointsConfig[network] = settings.
// Refuses (Docker's words) containers whose NetworkMode cannot join networks.
absl::Status RecordEndpoint(const Json& host_config, const std::string& network,
                            const Json& settings, Json* networking);
// False when the network was not recorded. The default bridge is recorded as
// "bridge" or, by the CLI, "default".
bool ForgetEndpoint(const std::string& network, Json* networking);

}  // namespace berth::runtimed
