// netd's configuration: the default bridge and address pools, from flags
// over daemon.json ("bridge", "bip", "default-address-pools"), as dockerd.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "netd/network/network_manager.h"

namespace berth::netd {

// `daemon_json` is the file's text ("" for none); non-empty flag values win.
absl::StatusOr<NetworkConfig> LoadNetworkConfig(const std::string& daemon_json,
                                                const std::string& bridge_flag,
                                                const std::string& bip_flag);

}  // namespace berth::netd
