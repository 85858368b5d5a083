#include "netd/netlink/netlink.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <unistd.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "netd/netlink/request.h"

namespace berth::netd {
namespace {

nlmsghdr* LinkHeader(char* buffer, uint16_t type, uint16_t flags, int index) {
  nlmsghdr* header = mnl_nlmsg_put_header(buffer);
  header->nlmsg_type = type;
  header->nlmsg_flags = flags;
  auto* info = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(header, sizeof(ifinfomsg)));
  info->ifi_family = AF_UNSPEC;
  info->ifi_index = index;
  return header;
}

int CollectRoute(const nlmsghdr* header, void* data) {
  auto* routes = static_cast<std::vector<Route4>*>(data);
  const auto* message = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(header));
  if (message->rtm_family != AF_INET || message->rtm_table != RT_TABLE_MAIN) return MNL_CB_OK;
  Route4 route;
  route.prefix_length = message->rtm_dst_len;
  const char* tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(header));
  for (auto* attribute =
           static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(header, sizeof(*message)));
       mnl_attr_ok(attribute, static_cast<int>(tail - reinterpret_cast<const char*>(attribute)));
       attribute = mnl_attr_next(attribute)) {
    switch (mnl_attr_get_type(attribute)) {
      case RTA_DST:
        route.destination = ntohl(mnl_attr_get_u32(attribute));
        break;
      case RTA_OIF: {
        char name[IF_NAMESIZE] = {};
        if (if_indextoname(mnl_attr_get_u32(attribute), name) != nullptr) route.device = name;
        break;
      }
      default:
        break;
    }
  }
  routes->push_back(route);
  return MNL_CB_OK;
}

}  // namespace

absl::StatusOr<int> LinkIndex(const std::string& name) {
  unsigned int index = if_nametoindex(name.c_str());
  if (index == 0) return absl::NotFoundError(absl::StrCat("no network interface ", name));
  return static_cast<int>(index);
}

bool LinkExists(const std::string& name) { return if_nametoindex(name.c_str()) != 0; }

absl::Status CreateBridge(const std::string& name) {
  char buffer[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* header = LinkHeader(buffer, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
  auto* info = static_cast<ifinfomsg*>(mnl_nlmsg_get_payload(header));
  info->ifi_flags = IFF_UP;
  info->ifi_change = IFF_UP;
  mnl_attr_put_strz(header, IFLA_IFNAME, name.c_str());
  nlattr* link_info = mnl_attr_nest_start(header, IFLA_LINKINFO);
  mnl_attr_put_strz(header, IFLA_INFO_KIND, "bridge");
  mnl_attr_nest_end(header, link_info);
  return NetlinkRequest(header, "create bridge " + name);
}

absl::Status CreateVeth(const std::string& host_name, const std::string& peer_name,
                        const std::string& peer_mac, int peer_netns_fd) {
  char buffer[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* header = LinkHeader(buffer, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
  mnl_attr_put_strz(header, IFLA_IFNAME, host_name.c_str());
  nlattr* link_info = mnl_attr_nest_start(header, IFLA_LINKINFO);
  mnl_attr_put_strz(header, IFLA_INFO_KIND, "veth");
  nlattr* info_data = mnl_attr_nest_start(header, IFLA_INFO_DATA);
  nlattr* peer = mnl_attr_nest_start(header, VETH_INFO_PEER);
  auto* peer_info = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(header, sizeof(ifinfomsg)));
  peer_info->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(header, IFLA_IFNAME, peer_name.c_str());
  if (peer_mac.size() == 6) mnl_attr_put(header, IFLA_ADDRESS, 6, peer_mac.data());
  mnl_attr_put_u32(header, IFLA_NET_NS_FD, static_cast<uint32_t>(peer_netns_fd));
  mnl_attr_nest_end(header, peer);
  mnl_attr_nest_end(header, info_data);
  mnl_attr_nest_end(header, link_info);
  return NetlinkRequest(header, "create veth pair " + host_name);
}

absl::Status SetMasterAndUp(int index, int master) {
  char buffer[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* header = LinkHeader(buffer, RTM_NEWLINK, 0, index);
  auto* info = static_cast<ifinfomsg*>(mnl_nlmsg_get_payload(header));
  info->ifi_flags = IFF_UP;
  info->ifi_change = IFF_UP;
  mnl_attr_put_u32(header, IFLA_MASTER, static_cast<uint32_t>(master));
  return NetlinkRequest(header, absl::StrCat("attach link ", index, " to bridge ", master));
}

absl::Status SetLinkUp(int index) {
  char buffer[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* header = LinkHeader(buffer, RTM_NEWLINK, 0, index);
  auto* info = static_cast<ifinfomsg*>(mnl_nlmsg_get_payload(header));
  info->ifi_flags = IFF_UP;
  info->ifi_change = IFF_UP;
  return NetlinkRequest(header, absl::StrCat("bring link ", index, " up"));
}

absl::Status DeleteLink(const std::string& name) {
  absl::StatusOr<int> index = LinkIndex(name);
  if (!index.ok()) return absl::OkStatus();
  char buffer[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* header = LinkHeader(buffer, RTM_DELLINK, 0, *index);
  absl::Status status = NetlinkRequest(header, "delete link " + name);
  if (absl::IsNotFound(status)) return absl::OkStatus();
  return status;
}

absl::Status AddAddress(int index, uint32_t address, int prefix_length) {
  char buffer[MNL_SOCKET_BUFFER_SIZE];
  const uint32_t network_order = htonl(address);
  nlmsghdr* header =
      PutNewAddress(buffer, AF_INET, index, prefix_length, &network_order, sizeof(network_order));
  if (prefix_length < 31) {
    const uint32_t host_mask = prefix_length == 0 ? 0xffffffffu : (1u << (32 - prefix_length)) - 1;
    mnl_attr_put_u32(header, IFA_BROADCAST, htonl(address | host_mask));
  }
  return NetlinkRequest(header, absl::StrCat("add address to link ", index));
}

absl::Status AddDefaultRoute(uint32_t gateway) {
  char buffer[MNL_SOCKET_BUFFER_SIZE];
  const uint32_t network_order = htonl(gateway);
  nlmsghdr* header = PutNewDefaultRoute(buffer, AF_INET, &network_order, sizeof(network_order));
  return NetlinkRequest(header, "add default route");
}

absl::StatusOr<std::vector<Route4>> ListRoutes() {
  char buffer[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* header = mnl_nlmsg_put_header(buffer);
  header->nlmsg_type = RTM_GETROUTE;
  header->nlmsg_flags = NLM_F_DUMP;
  auto* message = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(header, sizeof(rtmsg)));
  message->rtm_family = AF_INET;
  std::vector<Route4> routes;
  RETURN_IF_ERROR(NetlinkRequest(header, "list routes", CollectRoute, &routes));
  return routes;
}

absl::Status InNetns(const std::string& netns_path, const std::function<absl::Status()>& fn) {
  UniqueFd ns(open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns.valid()) return LastErrnoStatus("open " + netns_path);
  absl::Status status;
  // setns moves only this thread, which ends right after fn.
  std::thread worker([&] {
    if (setns(ns.get(), CLONE_NEWNET) != 0) {
      status = LastErrnoStatus("join network namespace " + netns_path);
      return;
    }
    status = fn();
  });
  worker.join();
  return status;
}

}  // namespace berth::netd
