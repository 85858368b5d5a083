// The rtnetlink transport and the request shapes the address families share,
// so netlink.cc (links, IPv4), ipv6.cc and macvlan.cc build and send requests
// one way.
#pragma once

#include <libmnl/libmnl.h>
#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace berth::netd {

// Sends `header` (NLM_F_REQUEST added, and NLM_F_ACK unless it is a dump) on
// a fresh NETLINK_ROUTE socket of the calling thread's namespace and reads
// replies until the acknowledgement or the end of the dump, handing data
// messages to `callback`. The kernel's error becomes the status, with `what`
// as context; ENODEV is NotFound, since a link can vanish with its namespace.
absl::Status NetlinkRequest(nlmsghdr* header, const std::string& what, mnl_cb_t callback = nullptr,
                            void* data = nullptr);

// An RTM_NEWADDR (create or replace) in `buffer` (MNL_SOCKET_BUFFER_SIZE
// bytes) putting `address` (`size` bytes, network order) with
// `prefix_length` on link `index`; the caller appends what is particular to
// the family.
nlmsghdr* PutNewAddress(char* buffer, uint8_t family, int index, int prefix_length,
                        const void* address, size_t size);

// An RTM_NEWROUTE (create or replace) in `buffer` for the main table's
// default route via `gateway` (`size` bytes, network order).
nlmsghdr* PutNewDefaultRoute(char* buffer, uint8_t family, const void* gateway, size_t size);

}  // namespace berth::netd
