// Where runtimed puts a container's cgroup, with either driver: the
// cgroupsPath of its config.json.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace berth::runtimed {

// The engine-wide parent with the systemd driver: --cgroup-parent when it
// names a slice, system.slice (Docker's default) for the cgroupfs default
// "berth"; anything else is refused at start-up, in dockerd's words.
absl::StatusOr<std::string> SystemdDefaultParent(const std::string& cgroup_parent_flag);

// `parent` is HostConfig.CgroupParent, or the engine's default when empty.
// cgroupfs: "/<parent>/<id>". systemd: "<slice>:berth:<id>" (scope
// berth-<id>.scope), refusing a parent that is not a slice as dockerd does.
absl::StatusOr<std::string> ContainerCgroupsPath(bool systemd, const std::string& parent,
                                                 const std::string& default_parent,
                                                 const std::string& id);

// Start-up check for the systemd driver: Unavailable, naming the address,
// when systemd's manager does not answer there.
absl::Status CheckSystemdReachable();

// runtimed's start-up: daemon.json's driver into *systemd; with systemd, the
// default parent becomes a slice and systemd must answer, or the daemon
// stops, as dockerd does, rather than run containers outside systemd's view.
absl::Status ConfigureCgroupDriver(const std::string& config_file, bool* systemd,
                                   std::string* cgroup_parent);

}  // namespace berth::runtimed
