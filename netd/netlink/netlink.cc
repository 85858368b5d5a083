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

#include <cerrno>
#include <ctime>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace berth::netd {
namespace {

struct SocketCloser {
  void operator()(mnl_socket* socket) const { mnl_socket_close(socket); }
};
using Socket = std::unique_ptr<mnl_socket, SocketCloser>;

absl::StatusOr<Socket> OpenSocket() {
  Socket socket(mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC));
  if (!socket) return LastErrnoStatus("open netlink socket");
  if (mnl_socket_bind(socket.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
    return LastErrnoStatus("bind netlink socket");
  }
  return socket;
}

// Sends one request and reads replies until the kernel's acknowledgement (or
// the end of a dump), handing data messages to `callback`.
absl::Status Talk(nlmsghdr* header, const std::string& what, mnl_cb_t callback = nullptr,
                  void* data = nullptr) {
  ASSIGN_OR_RETURN(Socket socket, OpenSocket());
  const unsigned int seq = static_cast<unsigned int>(time(nullptr));
  header->nlmsg_seq = seq;
  // A dump ends with NLMSG_DONE; other requests with an acknowledgement.
  header->nlmsg_flags |= NLM_F_REQUEST;
  if ((header->nlmsg_flags & NLM_F_DUMP) != NLM_F_DUMP) header->nlmsg_flags |= NLM_F_ACK;
  if (mnl_socket_sendto(socket.get(), header, header->nlmsg_len) < 0) {
    return LastErrnoStatus(what);
  }
  const unsigned int port = mnl_socket_get_portid(socket.get());
  std::vector<char> buffer(MNL_SOCKET_BUFFER_SIZE);
  while (true) {
    ssize_t n = mnl_socket_recvfrom(socket.get(), buffer.data(), buffer.size());
    if (n < 0) return LastErrnoStatus(what);
    int rc = mnl_cb_run(buffer.data(), n, seq, port, callback, data);
    // A link that went away meanwhile (with its namespace) is not there.
    if (rc < 0 && errno == ENODEV) {
      return absl::NotFoundError(absl::StrCat(what, ": no such device"));
    }
    if (rc < 0) return LastErrnoStatus(what);
    if (rc == MNL_CB_STOP) return absl::OkStatus();
  }
}

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
  return Talk(header, "create bridge " + name);
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
  return Talk(header, "create veth pair " + host_name);
}

absl::Status SetMasterAndUp(int index, int master) {
  char buffer[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* header = LinkHeader(buffer, RTM_NEWLINK, 0, index);
  auto* info = static_cast<ifinfomsg*>(mnl_nlmsg_get_payload(header));
  info->ifi_flags = IFF_UP;
  info->ifi_change = IFF_UP;
  mnl_attr_put_u32(header, IFLA_MASTER, static_cast<uint32_t>(master));
  return Talk(header, absl::StrCat("attach link ", index, " to bridge ", master));
}

absl::Status SetLinkUp(int index) {
  char buffer[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* header = LinkHeader(buffer, RTM_NEWLINK, 0, index);
  auto* info = static_cast<ifinfomsg*>(mnl_nlmsg_get_payload(header));
  info->ifi_flags = IFF_UP;
  info->ifi_change = IFF_UP;
  return Talk(header, absl::StrCat("bring link ", index, " up"));
}

absl::Status DeleteLink(const std::string& name) {
  absl::StatusOr<int> index = LinkIndex(name);
  if (!index.ok()) return absl::OkStatus();
  char buffer[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* header = LinkHeader(buffer, RTM_DELLINK, 0, *index);
  absl::Status status = Talk(header, "delete link " + name);
  if (absl::IsNotFound(status)) return absl::OkStatus();
  return status;
}

absl::Status AddAddress(int index, uint32_t address, int prefix_length) {
  char buffer[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* header = mnl_nlmsg_put_header(buffer);
  header->nlmsg_type = RTM_NEWADDR;
  header->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
  auto* message = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(header, sizeof(ifaddrmsg)));
  message->ifa_family = AF_INET;
  message->ifa_prefixlen = static_cast<unsigned char>(prefix_length);
  message->ifa_index = static_cast<unsigned int>(index);
  message->ifa_scope = RT_SCOPE_UNIVERSE;
  const uint32_t network_order = htonl(address);
  mnl_attr_put_u32(header, IFA_LOCAL, network_order);
  mnl_attr_put_u32(header, IFA_ADDRESS, network_order);
  if (prefix_length < 31) {
    const uint32_t host_mask = prefix_length == 0 ? 0xffffffffu : (1u << (32 - prefix_length)) - 1;
    mnl_attr_put_u32(header, IFA_BROADCAST, htonl(address | host_mask));
  }
  return Talk(header, absl::StrCat("add address to link ", index));
}

absl::Status AddDefaultRoute(uint32_t gateway) {
  char buffer[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* header = mnl_nlmsg_put_header(buffer);
  header->nlmsg_type = RTM_NEWROUTE;
  header->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
  auto* message = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(header, sizeof(rtmsg)));
  message->rtm_family = AF_INET;
  message->rtm_table = RT_TABLE_MAIN;
  message->rtm_protocol = RTPROT_BOOT;
  message->rtm_scope = RT_SCOPE_UNIVERSE;
  message->rtm_type = RTN_UNICAST;
  mnl_attr_put_u32(header, RTA_GATEWAY, htonl(gateway));
  return Talk(header, "add default route");
}

absl::StatusOr<std::vector<Route4>> ListRoutes() {
  char buffer[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* header = mnl_nlmsg_put_header(buffer);
  header->nlmsg_type = RTM_GETROUTE;
  header->nlmsg_flags = NLM_F_DUMP;
  auto* message = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(header, sizeof(rtmsg)));
  message->rtm_family = AF_INET;
  std::vector<Route4> routes;
  RETURN_IF_ERROR(Talk(header, "list routes", CollectRoute, &routes));
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
