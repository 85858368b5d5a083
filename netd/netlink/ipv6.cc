#include "netd/netlink/ipv6.h"

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

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
  nlmsghdr* header =
      PutNewAddress(buffer, AF_INET6, index, prefix_length, address.data(), address.size());
  static_cast<ifaddrmsg*>(mnl_nlmsg_get_payload(header))->ifa_flags = IFA_F_NODAD;
  return NetlinkRequest(header, absl::StrCat("add IPv6 address to link ", index));
}

absl::Status AddDefaultRoute6(const std::array<uint8_t, 16>& gateway, int index) {
  char buffer[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* header = PutNewDefaultRoute(buffer, AF_INET6, gateway.data(), gateway.size());
  mnl_attr_put_u32(header, RTA_OIF, static_cast<uint32_t>(index));
  return NetlinkRequest(header, "add default IPv6 route");
}

}  // namespace berth::netd
