#include "netd/netlink/ipv6.h"

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <ctime>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/fs.h"
#include "common/status.h"
#include "netd/netlink/request.h"

namespace berth::netd {
namespace {

absl::Status WriteSysctl(const std::string& path, const std::string& value) {
  if (!PathExists(path)) {
    return absl::FailedPreconditionError(
        absl::StrCat("IPv6 is not available on this host (", path, " is missing)"));
  }
  // Not WriteFileAtomic: a sysctl is written in place.
  FILE* file = fopen(path.c_str(), "we");
  if (file == nullptr) return LastErrnoStatus("open " + path);
  const bool written = fputs(value.c_str(), file) >= 0;
  const bool closed = fclose(file) == 0;
  if (!written || !closed) return LastErrnoStatus("write " + path);
  return absl::OkStatus();
}

}  // namespace

absl::Status EnableIpv6(const std::string& interface, bool all) {
  if (interface.empty() || interface.find('/') != std::string::npos || interface == "." ||
      interface == "..") {
    return absl::InvalidArgumentError(absl::StrCat("invalid interface name \"", interface, "\""));
  }
  if (all) RETURN_IF_ERROR(WriteSysctl("/proc/sys/net/ipv6/conf/all/disable_ipv6", "0"));
  return WriteSysctl(absl::StrCat("/proc/sys/net/ipv6/conf/", interface, "/disable_ipv6"), "0");
}

absl::Status AddAddress6(int index, const std::array<uint8_t, 16>& address, int prefix_length) {
  char buffer[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* header = mnl_nlmsg_put_header(buffer);
  header->nlmsg_type = RTM_NEWADDR;
  header->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
  auto* message = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(header, sizeof(ifaddrmsg)));
  message->ifa_family = AF_INET6;
  message->ifa_prefixlen = static_cast<unsigned char>(prefix_length);
  message->ifa_index = static_cast<unsigned int>(index);
  message->ifa_scope = RT_SCOPE_UNIVERSE;
  message->ifa_flags = IFA_F_NODAD;
  mnl_attr_put(header, IFA_LOCAL, address.size(), address.data());
  mnl_attr_put(header, IFA_ADDRESS, address.size(), address.data());
  return NetlinkRequest(header, absl::StrCat("add IPv6 address to link ", index));
}

absl::Status AddDefaultRoute6(const std::array<uint8_t, 16>& gateway, int index) {
  char buffer[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* header = mnl_nlmsg_put_header(buffer);
  header->nlmsg_type = RTM_NEWROUTE;
  header->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
  auto* message = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(header, sizeof(rtmsg)));
  message->rtm_family = AF_INET6;
  message->rtm_table = RT_TABLE_MAIN;
  message->rtm_protocol = RTPROT_BOOT;
  message->rtm_scope = RT_SCOPE_UNIVERSE;
  message->rtm_type = RTN_UNICAST;
  mnl_attr_put(header, RTA_GATEWAY, gateway.size(), gateway.data());
  mnl_attr_put_u32(header, RTA_OIF, static_cast<uint32_t>(index));
  return NetlinkRequest(header, "add default IPv6 route");
}

}  // namespace berth::netd
