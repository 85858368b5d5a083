// One rtnetlink request answered by the kernel's acknowledgement, for the
// netlink files added after netlink.cc (ipv6.cc, macvlan.cc).
#pragma once

#include <linux/netlink.h>

#include <string>

#include "absl/status/status.h"

namespace berth::netd {

// Sends `header` (NLM_F_REQUEST and NLM_F_ACK are added) on a fresh
// NETLINK_ROUTE socket of the calling thread's namespace; the kernel's error
// becomes the status, with `what` as context.
absl::Status NetlinkRequest(nlmsghdr* header, const std::string& what);

}  // namespace berth::netd
