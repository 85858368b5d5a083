#include <fcntl.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "netd/netlink/netlink.h"
#include "netd/network/bridge_ipv6.h"
#include "netd/network/driver.h"
#include "netd/network/macvlan_attach.h"

namespace berth::netd {

absl::Status LinuxBridgeDriver::EnsureBridge(const Network& network) {
  if (!LinkExists(network.bridge)) {
    absl::Status created = CreateBridge(network.bridge);
    if (!created.ok() && !absl::IsAlreadyExists(created)) return created;
  }
  ASSIGN_OR_RETURN(int index, LinkIndex(network.bridge));
  // NLM_F_REPLACE: re-adding the address a surviving bridge has is fine.
  RETURN_IF_ERROR(AddAddress(index, network.gateway, network.subnet.prefix_length));
  RETURN_IF_ERROR(SetUpBridgeIpv6(network, index));
  return SetLinkUp(index);
}

absl::Status LinuxBridgeDriver::RemoveBridge(const Network& network) {
  return DeleteLink(network.bridge);
}

bool LinuxBridgeDriver::BridgeExists(const std::string& name) { return LinkExists(name); }

absl::Status LinuxBridgeDriver::AttachEndpoint(const Network& network, const Endpoint& endpoint,
                                               const std::string& netns_path, bool default_route) {
  if (network.IsMacvlan()) {
    return AttachMacvlanEndpoint(network, endpoint, netns_path, default_route);
  }
  ASSIGN_OR_RETURN(int bridge, LinkIndex(network.bridge));
  UniqueFd ns(open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns.valid()) return LastErrnoStatus("open " + netns_path);
  // A host end left by a crash between creating the pair and recording it.
  RETURN_IF_ERROR(DeleteLink(endpoint.host_interface));
  RETURN_IF_ERROR(CreateVeth(endpoint.host_interface, endpoint.interface, endpoint.mac, ns.get()));
  absl::Status status = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(int host_end, LinkIndex(endpoint.host_interface));
    RETURN_IF_ERROR(SetMasterAndUp(host_end, bridge));
    return InNetns(netns_path, [&]() -> absl::Status {
      ASSIGN_OR_RETURN(int index, LinkIndex(endpoint.interface));
      RETURN_IF_ERROR(AddAddress(index, endpoint.address, network.subnet.prefix_length));
      RETURN_IF_ERROR(SetLinkUp(index));
      if (default_route && !network.internal) RETURN_IF_ERROR(AddDefaultRoute(network.gateway));
      return SetUpEndpointIpv6(network, endpoint, index, default_route);
    });
  }();
  if (!status.ok()) DeleteLink(endpoint.host_interface).IgnoreError();
  return status;
}

absl::Status LinuxBridgeDriver::DetachEndpoint(const Endpoint& endpoint) {
  return DeleteLink(endpoint.host_interface);
}

}  // namespace berth::netd
