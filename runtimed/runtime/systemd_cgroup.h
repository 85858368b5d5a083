// The systemd cgroup driver (Docker's native.cgroupdriver=systemd, runc's
// --systemd-cgroup): the container's cgroup is a transient scope unit that
// systemd creates and owns, so the host's manager knows about it and never
// fights berth over it.
//
// As runc does: systemd creates the scope with Delegate=yes and the limits
// it has properties for; what it has none for (swappiness, devices, the v1
// cpuset and freezer hierarchies systemd does not manage) is written to the
// scope's cgroup files by the cgroupfs implementation, which also serves
// reads (pids, freezer, OOM) on the scope's paths.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "runtimed/runtime/cgroups.h"
#include "runtimed/runtime/systemd_bus.h"

namespace berth::runtime {

struct SystemdCgroupOptions {
  // Where the hierarchies are mounted, and procfs (tests use directories).
  std::string cgroup_root = "/sys/fs/cgroup";
  std::string proc = "/proc";
  // Opens the connection to the manager, once per CgroupManager, on its first
  // call that needs it (reads never do).
  std::function<absl::StatusOr<std::unique_ptr<SystemdBus>>()> connect;
  // How long to wait for systemd to move the PID into a new scope, or to
  // remove a stopped one's cgroup.
  int wait_ms = 10000;
};

// `cgroups_path` is "slice:prefix:name". The scope's cgroup is found below
// the manager's own root, read from <proc>/1/cgroup: the caller shares the
// manager's PID namespace, as runc and Docker assume.
absl::StatusOr<std::unique_ptr<CgroupManager>> NewSystemdCgroupManager(
    const std::string& cgroups_path, SystemdCgroupOptions options);

}  // namespace berth::runtime
