#include "netd/netlink/macvlan.h"

#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include "absl/strings/str_cat.h"
#include "netd/netlink/request.h"

namespace berth::netd {

absl::StatusOr<int> MacvlanMode(const std::string& mode) {
  if (mode.empty() || mode == "bridge") return MACVLAN_MODE_BRIDGE;
  if (mode == "private") return MACVLAN_MODE_PRIVATE;
  if (mode == "vepa") return MACVLAN_MODE_VEPA;
  if (mode == "passthru") return MACVLAN_MODE_PASSTHRU;
  return absl::InvalidArgumentError(
      absl::StrCat("requested macvlan mode '", mode,
                   "' is not valid, 'bridge' mode is the macvlan driver default"));
}

absl::Status CreateMacvlan(const std::string& parent, const std::string& name,
                           const std::string& mac, int mode, int netns_fd) {
  const unsigned int parent_index = if_nametoindex(parent.c_str());
  if (parent_index == 0) {
    return absl::NotFoundError(
        absl::StrCat("-o parent interface was not found on the host: ", parent));
  }
  char buffer[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* header = mnl_nlmsg_put_header(buffer);
  header->nlmsg_type = RTM_NEWLINK;
  header->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
  auto* info = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(header, sizeof(ifinfomsg)));
  info->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(header, IFLA_IFNAME, name.c_str());
  mnl_attr_put_u32(header, IFLA_LINK, parent_index);
  if (mac.size() == 6) mnl_attr_put(header, IFLA_ADDRESS, mac.size(), mac.data());
  mnl_attr_put_u32(header, IFLA_NET_NS_FD, static_cast<uint32_t>(netns_fd));
  nlattr* link_info = mnl_attr_nest_start(header, IFLA_LINKINFO);
  mnl_attr_put_strz(header, IFLA_INFO_KIND, "macvlan");
  nlattr* data = mnl_attr_nest_start(header, IFLA_INFO_DATA);
  mnl_attr_put_u32(header, IFLA_MACVLAN_MODE, static_cast<uint32_t>(mode));
  mnl_attr_nest_end(header, data);
  mnl_attr_nest_end(header, link_info);
  return NetlinkRequest(header, absl::StrCat("create macvlan ", name, " of ", parent));
}

}  // namespace berth::netd
