// The real ShimLauncher: berth-shim processes reached through
// runtimed/shim/shim_client.h.
#pragma once

#include "runtimed/daemon/interfaces.h"

namespace berth::runtimed {

class RealShimLauncher : public ShimLauncher {
 public:
  absl::Status Launch(const std::string& shim_binary,
                      const shim::v1::Bootstrap& bootstrap) override;
  std::unique_ptr<ShimHandle> Connect(const std::string& socket_path) override;
  absl::StatusOr<shim::v1::ExitStatus> ReadExitFile(const std::string& path) override;
};

}  // namespace berth::runtimed
