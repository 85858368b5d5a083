// Docker's HostConfig.NetworkMode, parsed.
#pragma once

#include <string>

namespace berth::netd {

struct NetworkMode {
  enum Kind {
    // "none": a namespace with only loopback.
    kNone,
    // "", "default" or "bridge": the default bridge network.
    kBridge,
    // "host": the host's namespace, nothing to create.
    kHost,
    // "container:<name|id>": share another container's namespace.
    kContainer,
    // Any other name: a user-defined network.
    kUser,
  };
  Kind kind = kNone;
  // The container for kContainer, the network name for kUser.
  std::string target;
};

NetworkMode ParseNetworkMode(const std::string& mode);

}  // namespace berth::netd
