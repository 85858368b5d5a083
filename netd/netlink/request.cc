#include "netd/netlink/request.h"

#include <libmnl/libmnl.h>
#include <sys/socket.h>

#include <ctime>
#include <memory>
#include <vector>

#include "common/status.h"

namespace berth::netd {
namespace {

struct SocketCloser {
  void operator()(mnl_socket* socket) const { mnl_socket_close(socket); }
};

}  // namespace

absl::Status NetlinkRequest(nlmsghdr* header, const std::string& what) {
  std::unique_ptr<mnl_socket, SocketCloser> socket(mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC));
  if (!socket) return LastErrnoStatus("open netlink socket");
  if (mnl_socket_bind(socket.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
    return LastErrnoStatus("bind netlink socket");
  }
  const unsigned int seq = static_cast<unsigned int>(time(nullptr));
  header->nlmsg_seq = seq;
  header->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  if (mnl_socket_sendto(socket.get(), header, header->nlmsg_len) < 0) {
    return LastErrnoStatus(what);
  }
  std::vector<char> buffer(MNL_SOCKET_BUFFER_SIZE);
  const unsigned int port = mnl_socket_get_portid(socket.get());
  while (true) {
    const ssize_t n = mnl_socket_recvfrom(socket.get(), buffer.data(), buffer.size());
    if (n < 0) return LastErrnoStatus(what);
    const int rc = mnl_cb_run(buffer.data(), n, seq, port, nullptr, nullptr);
    if (rc < 0) return LastErrnoStatus(what);
    if (rc == MNL_CB_STOP) return absl::OkStatus();
  }
}

}  // namespace berth::netd
