#include "runtimed/daemon/exec_targets.h"

#include "common/status.h"

namespace berth::runtimed {

absl::StatusOr<ExecTarget> ManagerExecContainers::Find(const std::string& ref) {
  ASSIGN_OR_RETURN(runtime::v1::Container container, manager_->Get(ref));
  ExecTarget target;
  target.id = container.id();
  target.status = container.state().status();
  // The layout of container_manager.h.
  target.socket_path = run_dir_ + "/s/" + target.id.substr(0, 16) + ".sock";
  target.bundle_dir = run_dir_ + "/" + target.id;
  target.rootfs = container.rootfs_path();
  target.name = container.name();
  target.pid = container.state().pid();
  return target;
}

}  // namespace berth::runtimed
