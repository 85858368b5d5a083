// ExecContainers over the ContainerManager: a container's state and where
// its shim socket, bundle and root are.
#pragma once

#include <string>

#include "runtimed/daemon/container_manager.h"
#include "runtimed/daemon/exec_manager.h"

namespace berth::runtimed {

class ManagerExecContainers : public ExecContainers {
 public:
  // run_dir: <exec_root>/runtimed, as in ManagerOptions.
  ManagerExecContainers(ContainerManager* manager, std::string run_dir)
      : manager_(manager), run_dir_(std::move(run_dir)) {}

  absl::StatusOr<ExecTarget> Find(const std::string& ref) override;

 private:
  ContainerManager* const manager_;
  const std::string run_dir_;
};

}  // namespace berth::runtimed
