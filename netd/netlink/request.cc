#include "netd/netlink/request.h"

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <ctime>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace berth::netd {
namespace {

struct SocketCloser {
  void operator()(mnl_socket* socket) const { mnl_socket_close(socket); }
};

}  // namespace

absl::Status NetlinkRequest(nlmsghdr* header, const std::string& what, mnl_cb_t callback,
                            void* data) {
  std::unique_ptr<mnl_socket, SocketCloser> socket(mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC));
  if (!socket) return LastErrnoStatus("open netlink socket");
  if (mnl_socket_bind(socket.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
    return LastErrnoStatus("bind netlink socket");
  }
  const unsigned int seq = static_cast<unsigned int>(time(nullptr));
  header->nlmsg_seq = seq;
  // A dump ends with NLMSG_DONE; other requests with an acknowledgement.
  header->nlmsg_flags |= NLM_F_REQUEST;
  if ((header->nlmsg_flags & NLM_F_DUMP) != NLM_F_DUMP) header->nlmsg_flags |= NLM_F_ACK;
  if (mnl_socket_sendto(socket.get(), header, header->nlmsg_len) < 0) {
    return LastErrnoStatus(what);
  }
  std::vector<char> buffer(MNL_SOCKET_BUFFER_SIZE);
  const unsigned int port = mnl_socket_get_portid(socket.get());
  while (true) {
    const ssize_t n = mnl_socket_recvfrom(socket.get(), buffer.data(), buffer.size());
    if (n < 0) return LastErrnoStatus(what);
    const int rc = mnl_cb_run(buffer.data(), n, seq, port, callback, data);
    if (rc < 0 && errno == ENODEV) {
      return absl::NotFoundError(absl::StrCat(what, ": no such device"));
    }
    if (rc < 0) return LastErrnoStatus(what);
    if (rc == MNL_CB_STOP) return absl::OkStatus();
  }
}

nlmsghdr* PutNewAddress(char* buffer, uint8_t family, int index, int prefix_length,
                        const void* address, size_t size) {
  nlmsghdr* header = mnl_nlmsg_put_header(buffer);
  header->nlmsg_type = RTM_NEWADDR;
  header->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
  auto* message = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(header, sizeof(ifaddrmsg)));
  message->ifa_family = family;
  message->ifa_prefixlen = static_cast<unsigned char>(prefix_length);
  message->ifa_index = static_cast<unsigned int>(index);
  message->ifa_scope = RT_SCOPE_UNIVERSE;
  mnl_attr_put(header, IFA_LOCAL, size, address);
  mnl_attr_put(header, IFA_ADDRESS, size, address);
  return header;
}

nlmsghdr* PutNewDefaultRoute(char* buffer, uint8_t family, const void* gateway, size_t size) {
  nlmsghdr* header = mnl_nlmsg_put_header(buffer);
  header->nlmsg_type = RTM_NEWROUTE;
  header->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
  auto* message = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(header, sizeof(rtmsg)));
  message->rtm_family = family;
  message->rtm_table = RT_TABLE_MAIN;
  message->rtm_protocol = RTPROT_BOOT;
  message->rtm_scope = RT_SCOPE_UNIVERSE;
  message->rtm_type = RTN_UNICAST;
  mnl_attr_put(header, RTA_GATEWAY, size, gateway);
  return header;
}

}  // namespace berth::netd
