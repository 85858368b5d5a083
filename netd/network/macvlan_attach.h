// The kernel side of a macvlan network's endpoint: the container's interface
// is a macvlan of the network's parent link (-o parent), made in the
// container's namespace and configured there; nothing is left on the host.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "netd/network/model.h"

namespace berth::netd {

absl::Status AttachMacvlanEndpoint(const Network& network, const Endpoint& endpoint,
                                   const std::string& netns_path, bool default_route);

}  // namespace berth::netd
