#include "netd/network/macvlan_attach.h"

#include <fcntl.h>

#include "common/status.h"
#include "common/unique_fd.h"
#include "netd/netlink/macvlan.h"
#include "netd/netlink/netlink.h"
#include "netd/network/bridge_ipv6.h"

namespace berth::netd {

absl::Status AttachMacvlanEndpoint(const Network& network, const Endpoint& endpoint,
                                   const std::string& netns_path, bool default_route) {
  auto option = [&](const char* key) {
    auto it = network.options.find(key);
    return it == network.options.end() ? std::string() : it->second;
  };
  ASSIGN_OR_RETURN(int mode, MacvlanMode(option(kMacvlanModeOption)));
  UniqueFd ns(open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns.valid()) return LastErrnoStatus("open " + netns_path);
  RETURN_IF_ERROR(CreateMacvlan(option(kMacvlanParentOption), endpoint.interface, endpoint.mac,
                                mode, ns.get()));
  return InNetns(netns_path, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(int index, LinkIndex(endpoint.interface));
    // Undone here on failure: the link is the container's, not the host's.
    absl::Status status = [&]() -> absl::Status {
      RETURN_IF_ERROR(AddAddress(index, endpoint.address, network.subnet.prefix_length));
      RETURN_IF_ERROR(SetLinkUp(index));
      if (default_route && !network.internal) RETURN_IF_ERROR(AddDefaultRoute(network.gateway));
      return SetUpEndpointIpv6(network, endpoint, index, default_route);
    }();
    if (!status.ok()) DeleteLink(endpoint.interface).IgnoreError();
    return status;
  });
}

}  // namespace berth::netd
