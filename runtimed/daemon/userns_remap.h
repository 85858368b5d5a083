// userns-remap on the container side (dockerd's --userns-remap): which
// containers get a user namespace, what dockerd refuses with one, and what
// the remapped root must be able to reach on the host.
//
// The image layers are not chowned (stored idmaps them into the overlay,
// stored/rootfs/idmapped_overlay.h); what the container's init opens itself,
// after it became root of its user namespace, is made reachable here the way
// dockerd does it: directories on the way get the remapped root's group with
// search permission (0710, never world access), and the files the container
// may write (/etc/hosts, /etc/hostname, /etc/resolv.conf, a fresh volume)
// become the remapped root's.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/json.h"
#include "common/mount_points.h"
#include "common/userns_remap.h"

namespace berth::runtimed {

// Remapping is on and the container did not opt out with --userns=host.
bool RemapsContainer(const Json& host_config, const UsernsRemap* remap);

// dockerd's refusals for a remapped container that asks for the host's
// namespaces or privileges, in dockerd's words.
absl::Status CheckRemapConflicts(const Json& host_config, const UsernsRemap* remap);

// The user namespace and its maps in a config.json.
void AddUserNamespace(const UsernsRemap& remap, Json* spec);

struct RemappedPaths {
  // The engine's --root and --exec-root: only directories below them are
  // ever changed (a user's bind source is the user's business, as with
  // dockerd).
  std::vector<std::string> engine_dirs;
  // Opened by the init: the root filesystem and bind sources.
  std::vector<std::string> reached;
  // Written by the container: given to the remapped root while they still
  // belong to the host's root.
  std::vector<std::string> owned;
};

// The paths of a container's spec inputs that the remapped root needs.
// state_dir and run_dir are runtimed's (<root>/runtimed, <exec root>/runtimed).
RemappedPaths ContainerRemappedPaths(const std::string& state_dir, const std::string& run_dir,
                                     const std::string& rootfs,
                                     const std::vector<std::string>& network_files,
                                     const std::vector<MountPoint>& mounts,
                                     const std::string& shared_shm);

absl::Status PrepareRemappedPaths(const RemappedPaths& paths, const UsernsRemap& remap);

// dockerd's defaults for a container's own network namespace: ports below
// 1024 and ping for every user (net.ipv4.ip_unprivileged_port_start=0,
// net.ipv4.ping_group_range="0 2147483647"). Set from here: netd made the
// namespace, so it belongs to the host's user namespace and the remapped
// root has no privilege in it (no CAP_NET_BIND_SERVICE, no sysctl writes).
absl::Status OpenUnprivilegedNetwork(const std::string& netns_path);

}  // namespace berth::runtimed
