#include "netd/sandbox/network_mode.h"

namespace berth::netd {

NetworkMode ParseNetworkMode(const std::string& mode) {
  if (mode == "none") return {NetworkMode::kNone, ""};
  if (mode.empty() || mode == "default" || mode == "bridge") return {NetworkMode::kBridge, ""};
  if (mode == "host") return {NetworkMode::kHost, ""};
  static const std::string kContainerPrefix = "container:";
  if (mode.compare(0, kContainerPrefix.size(), kContainerPrefix) == 0) {
    return {NetworkMode::kContainer, mode.substr(kContainerPrefix.size())};
  }
  return {NetworkMode::kUser, mode};
}

}  // namespace berth::netd
