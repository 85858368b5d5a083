// Builds the OCI runtime config.json for a container the way Docker's daemon
// does (moby's oci.DefaultSpec plus daemon/oci_linux.go): default mounts,
// capabilities, masked and read-only paths, namespaces, resources and cgroup.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/json.h"
#include "common/mount_points.h"
#include "runtimed/daemon/user.h"

namespace berth::runtimed {

struct SpecInputs {
  std::string id;
  // Merged Config and HostConfig (container_config.h).
  Json config;
  Json host_config;
  // argv and environment of the process.
  std::vector<std::string> args;
  std::vector<std::string> env;
  ResolvedUser user;
  // The mounted root filesystem.
  std::string rootfs;
  // From netd; "" means the host's network namespace.
  std::string netns_path;
  // Files bind-mounted over /etc/hostname, /etc/hosts, /etc/resolv.conf.
  std::string hostname_path;
  std::string hosts_path;
  std::string resolv_conf_path;
  // The user's mounts (common/mount_points.h), with `source` resolved to the
  // host path for volumes too. HostConfig.Tmpfs is read from host_config.
  std::vector<MountPoint> mounts;
  // --cgroup-parent (HostConfig.CgroupParent overrides it).
  std::string cgroup_parent = "berth";
  // The host runs cgroup v2 only: the container gets a cgroup namespace.
  bool cgroup_v2 = false;
  // daemon.json's native.cgroupdriver=systemd: cgroupsPath is
  // "<slice>:berth:<id>" and cgroup_parent a slice.
  bool systemd_cgroup = false;
  // The init run as pid 1 for HostConfig.Init (`docker run --init`): a
  // static binary, bind-mounted at /sbin/docker-init. Empty: none found.
  std::string init_path;
  // Namespaces of another container to join (PidMode / IpcMode
  // "container:<id>"): /proc/<pid>/ns/pid of its init, and so on.
  std::string pid_namespace_path;
  std::string ipc_namespace_path;
  // A tmpfs on the host bind-mounted at /dev/shm: the container's own with
  // --ipc shareable, the donor's with --ipc container:<id>. A shm mounted
  // inside a container's mount namespace cannot be bind-mounted into
  // another's.
  std::string shared_shm_path;
};

absl::StatusOr<Json> BuildOciSpec(const SpecInputs& inputs);

// linux.resources for a HostConfig (what docker update changes).
Json OciResources(const Json& host_config);

// Docker's default capability set, as OCI names ("CAP_CHOWN", ...).
const std::vector<std::string>& DefaultCapabilities();

}  // namespace berth::runtimed
